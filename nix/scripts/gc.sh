# Frees Nix store space up to a target, only while no CI job runs.
# Job containers' GC roots are invisible to the daemon, so collecting during a
# job could delete what the job just built; an idle runner has no such roots.
# Usage: nix-glab-runner-gc MODE TARGET_BYTES
#   MODE: host-daemon (collect the host store) or isolated (collect the store
#   of the nix-daemon container named by DAEMON_CONTAINER).
mode=$1
target_bytes=$2

jobs=$(nix-glab-runner-running-jobs)
if [ "$jobs" != 0 ]; then
  echo "skipping: $jobs job(s) running; the next scheduled run tries again"
  exit 0
fi

case "$mode" in
  host-daemon) measured=/nix/store ;;
  isolated) measured=/var/lib/docker ;;
  *)
    echo "mode '$mode' is not host-daemon or isolated" >&2
    exit 1
    ;;
esac

available=$(df --output=avail -B1 "$measured" | tail -n 1 | tr -d '[:space:]')
if [ "$available" -ge "$target_bytes" ]; then
  echo "free space $available bytes already meets the target $target_bytes"
  exit 0
fi
needed=$((target_bytes - available))
echo "freeing up to $needed bytes (free $available, target $target_bytes)"

if [ "$mode" = host-daemon ]; then
  nix-store --gc --max-freed "$needed"
else
  docker exec "$DAEMON_CONTAINER" nix-store --gc --max-freed "$needed"
fi

# Unregisters this runner manager from GitLab.
# Usage: nix-glab-runner-unregister CONFIG_FILE [now|at-shutdown]
# With at-shutdown it acts only while the system shuts down, so restarting the
# unit during a configuration switch keeps the registration.
config_file=$1
when=${2:-now}

if [ "$when" = at-shutdown ]; then
  state=$(systemctl is-system-running || true)
  if [ "$state" != stopping ]; then
    echo "system is $state, not stopping; keeping the runner registration"
    exit 0
  fi
fi

if [ ! -s "$config_file" ]; then
  echo "no $config_file; nothing to unregister"
  exit 0
fi

# 20 s: at shutdown this runs inside GCE's power-off window (30 s on Spot VMs).
if CONFIG_FILE=$config_file timeout 20 gitlab-runner unregister --all-runners; then
  echo "runner manager unregistered"
else
  echo "warning: could not unregister the runner manager; GitLab lists it as stale until it expires." >&2
fi

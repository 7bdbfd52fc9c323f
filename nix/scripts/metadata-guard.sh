# Keeps everything a CI job can start away from the GCE metadata server's HTTP
# ports, so no job reads the startup script (which may hold the runner token) or
# the VM's service-account token:
# - containers: TCP from docker0 and every per-build br-* bridge, in the raw
#   table's PREROUTING, before Docker's own chains, whether the metadata address
#   is routed (GCE) or local (tests);
# - Nix builds: TCP sent by processes of the build users' group (OUTPUT). Nix
#   gives fixed-output builds the host's network, so a job could otherwise
#   fetch the token through a build it asks the host daemon for.
# Port 53 on the same address, GCE's DNS, stays open. Host root keeps access.
# Usage: nix-glab-runner-metadata-guard add|remove PORTS BUILD_GROUP
#   (PORTS like 80,443; BUILD_GROUP a group name or gid, e.g. nixbld)
action=$1
ports=$2
build_group=$3
comment=nix-glab-runner-metadata-guard

# rule TOOL CHAIN MATCH...: adds or removes one DROP rule of the raw table.
rule() {
  local tool=$1 chain=$2
  shift 2
  local spec=("$@" -p tcp -m multiport --dports "$ports" -m comment --comment "$comment" -j DROP)
  if [ "$action" = add ]; then
    if ! "$tool" -w -t raw -C "$chain" "${spec[@]}" 2>/dev/null; then
      "$tool" -w -t raw -I "$chain" "${spec[@]}"
    fi
  else
    while "$tool" -w -t raw -D "$chain" "${spec[@]}" 2>/dev/null; do :; done
  fi
}

apply() {
  local tool=$1 address=$2 interface
  for interface in docker0 'br-+'; do
    rule "$tool" PREROUTING -i "$interface" -d "$address"
  done
  rule "$tool" OUTPUT -d "$address" -m owner --gid-owner "$build_group"
}

case "$action" in
  add | remove) ;;
  *)
    echo "action '$action' is not add or remove" >&2
    exit 1
    ;;
esac
if [ -z "$build_group" ]; then
  echo "no build users' group given: usage: $0 add|remove PORTS BUILD_GROUP" >&2
  exit 1
fi

apply iptables 169.254.169.254/32
# GCE's metadata server also answers on IPv6; hosts without IPv6 skip this.
if [ -e /proc/net/if_inet6 ]; then
  apply ip6tables fd20:ce::254/128
fi
echo "metadata guard: $action done for ports $ports (containers and group $build_group)"

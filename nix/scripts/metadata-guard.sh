# Drops TCP traffic from Docker bridges to the GCE metadata server, so CI jobs
# cannot read the startup script (which holds the runner token) or the VM's
# service-account token. Port 53 on the same address, GCE's DNS, stays open.
# The raw table's PREROUTING sees bridge traffic before Docker's own chains,
# whether the metadata address is routed (GCE) or local (tests).
# Usage: nix-glab-runner-metadata-guard add|remove PORTS   (PORTS like 80,443)
action=$1
ports=$2
comment=nix-glab-runner-metadata-guard

apply() {
  local tool=$1 address=$2 interface spec
  for interface in docker0 'br-+'; do
    spec=(-i "$interface" -d "$address" -p tcp -m multiport --dports "$ports"
      -m comment --comment "$comment" -j DROP)
    if [ "$action" = add ]; then
      if ! "$tool" -w -t raw -C PREROUTING "${spec[@]}" 2>/dev/null; then
        "$tool" -w -t raw -I PREROUTING "${spec[@]}"
      fi
    else
      while "$tool" -w -t raw -D PREROUTING "${spec[@]}" 2>/dev/null; do :; done
    fi
  done
}

case "$action" in
  add | remove) ;;
  *)
    echo "action '$action' is not add or remove" >&2
    exit 1
    ;;
esac

apply iptables 169.254.169.254/32
# GCE's metadata server also answers on IPv6; hosts without IPv6 skip this.
if [ -e /proc/net/if_inet6 ]; then
  apply ip6tables fd20:ce::254/128
fi
echo "metadata guard: $action done for ports $ports"

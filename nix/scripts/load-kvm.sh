# Loads kvm-intel on a CPU with Intel VT-x (flag vmx) or kvm-amd on one with AMD-V (flag svm).
# Neither flag means the VM was created without nested virtualisation: jobs then get no /dev/kvm,
# which is said, not treated as a failure.
# Environment: CPUINFO (optional, default /proc/cpuinfo).
flags=$(grep -m 1 '^flags' "${CPUINFO:-/proc/cpuinfo}" || true)
case " $flags " in
  *" vmx "*) module=kvm-intel ;;
  *" svm "*) module=kvm-amd ;;
  *)
    echo "this CPU offers neither VT-x nor AMD-V (is nested virtualisation enabled on the instance?); jobs get no /dev/kvm" >&2
    exit 0
    ;;
esac
modprobe "$module"
echo "loaded $module"

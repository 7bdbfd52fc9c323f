#!/usr/bin/env bash
# Setup on a fresh machine: Nix (Debian's nix-bin when apt is there) and the npm dependencies. Running it
# again is quick: npm ci runs only when package-lock.json changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm only installs here; the tests, the demo and the CLI run on Node 24 from the node@24 devDependency.
MIN_NODE=20
command -v npm >/dev/null 2>&1 || {
  echo "npm is missing: install Node.js $MIN_NODE or newer with npm (on Debian: apt-get install nodejs npm), then re-run." >&2
  exit 1
}
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt "$MIN_NODE" ]; then
  echo "Node.js $(node --version) is too old: setup needs Node.js $MIN_NODE or newer with npm." >&2
  exit 1
fi

# Nix builds the images; rsync is what gitlab-ci-local copies job artifacts with (the component tests);
# iptables runs the runner's metadata guard in the guard's test.
missing=()
command -v nix >/dev/null 2>&1 || missing+=(nix-bin)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing+=(iptables)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing ${missing[*]} from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Missing: ${missing[*]}. Install them (Nix from https://nixos.org/download, or 'sudo apt-get install ${missing[*]}' on Debian), then re-run." >&2
    exit 1
  fi
fi
command -v git >/dev/null 2>&1 || { echo "git is missing: install it, then re-run." >&2; exit 1; }
command -v gcloud >/dev/null 2>&1 || echo "note: gcloud is not installed; the tests that drive gcloud against the emulator will fail until it is (apt-get install google-cloud-cli from Google's apt repository)." >&2

# The stamp holds the hash of the package-lock.json that node_modules was installed from. npm ci deletes
# node_modules first, so an interrupted install leaves no stamp and the next run installs again.
stamp=node_modules/.setup-package-lock.sha256
lock_hash=$(sha256sum package-lock.json | cut -d ' ' -f 1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  echo "node_modules already matches package-lock.json: npm ci skipped (delete node_modules to reinstall)."
else
  # .npmrc sets loglevel=error: the engine warnings of the Google libraries (Node 22) are noise here.
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi

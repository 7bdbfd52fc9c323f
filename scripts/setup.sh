#!/usr/bin/env bash
# One-time setup on a fresh machine: Nix (Debian's nix-bin when apt is there) and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

# Nix builds the images; rsync is what gitlab-ci-local copies job artifacts with (the component tests).
missing=()
command -v nix >/dev/null 2>&1 || missing+=(nix-bin)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
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

npm ci --no-audit --no-fund

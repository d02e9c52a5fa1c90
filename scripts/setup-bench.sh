#!/usr/bin/env bash
# Installs what the benchmarks in bench/ need on Debian 12 (bookworm):
# Debian's PyTorch 1.13 (CPU, linked against the system OpenBLAS) for the
# CPU inference peer. Idempotent: a second run only checks.
#
# Usage: scripts/setup-bench.sh      (as root, or as a user with sudo)
set -euo pipefail

packages=(python3-torch python3-numpy python3-yaml)

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "scripts/setup-bench.sh: error: run as root or install sudo" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "scripts/setup-bench.sh: all packages present"
  exit 0
fi

echo "scripts/setup-bench.sh: installing ${missing[*]}"
install() {
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
}
# Try with the current package lists first; refresh them only if that fails.
if ! install; then
  "${sudo[@]}" apt-get update -qq
  install
fi
/usr/bin/python3 -c 'import torch; print("scripts/setup-bench.sh: torch", torch.__version__)'

#!/usr/bin/env bash
# Installs everything smx needs on Debian 12 (bookworm). Idempotent: packages
# already present are skipped by apt, so a second run is quick.
#
# Usage: scripts/setup.sh            (as root, or as a user with sudo)
set -euo pipefail

packages=(
  # Compiler toolchain: LLVM/MLIR 22 (from bookworm-security), build tools.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  cmake ninja-build ccache g++ python3 python3-yaml python3-numpy
  # Tests.
  libgtest-dev
  # Runtime libraries: BLAS, FFT, tokenizer, MPI.
  libopenblas-dev libfftw3-dev libsentencepiece-dev sentencepiece
  libopenmpi-dev openmpi-bin
  # The default training corpus.
  fortunes
)

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "scripts/setup.sh: error: run as root or install sudo" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  echo "scripts/setup.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "scripts/setup.sh: all packages present"
fi

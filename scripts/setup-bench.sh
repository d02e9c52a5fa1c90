#!/usr/bin/env bash
# Installs what the benchmarks in bench/ need on Debian 12 (bookworm):
# Debian's PyTorch 1.13 (CPU, linked against the system OpenBLAS) for the
# CPU inference peer, matplotlib for the plots, and SciPy for the exact
# optimum of bench/routing. Idempotent: a second run only checks.
#
# Usage: scripts/setup-bench.sh      (as root, or as a user with sudo)
set -euo pipefail

packages=(python3-torch python3-numpy python3-yaml python3-matplotlib python3-scipy)

source "$(dirname "$0")/lib/debian-packages.sh"
install_debian_packages scripts/setup-bench.sh "${packages[@]}"
/usr/bin/python3 -c 'import torch; print("scripts/setup-bench.sh: torch", torch.__version__)'

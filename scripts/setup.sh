#!/usr/bin/env bash
# Installs everything smx needs on Debian 12 (bookworm). Idempotent: when
# every package is present it only checks, so a second run is quick.
#
# Usage: scripts/setup.sh            (as root, or as a user with sudo)
set -euo pipefail

packages=(
  # Compiler toolchain: LLVM/MLIR 22 (from bookworm-security), build tools.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  # libFuzzer and the sanitizer runtimes of clang-22 (scripts/fuzz.sh).
  libclang-rt-22-dev
  cmake ninja-build ccache g++ python3 python3-yaml python3-numpy
  # Tests: gtest, and PyTorch for the train-step reference.
  libgtest-dev python3-torch
  # Runtime libraries: threads of compiled loops (LLVM's OpenMP runtime),
  # BLAS, bf16 GEMMs (oneDNN), FFT, tokenizer, MPI.
  libomp-22-dev libopenblas-dev libdnnl-dev libfftw3-dev libsentencepiece-dev
  sentencepiece
  libopenmpi-dev openmpi-bin
  # The default training corpus.
  fortunes
)

source "$(dirname "$0")/lib/debian-packages.sh"
install_debian_packages scripts/setup.sh "${packages[@]}"

#!/usr/bin/env bash
# Installs what building and testing finwidth needs on Debian (as root, or through sudo otherwise):
# ninja, gcc/g++ (with the 32-bit x86 libraries of gcc-multilib), clang with the wasm32-wasi libc
# and runtime, node (runs the wasm tests),
# the bare-metal ARM toolchain with newlib and qemu (runs the ARM tests), OpenBLAS, valgrind,
# xmllint (the demo smoke test checks its SVG files), python3 (the Python bindings test), chromium
# (the report layout test renders the demo report headless), OpenMPI (the MPI front end's test).
# Does nothing when everything is already there.
set -eu
pkgs="ninja-build gcc g++ gcc-multilib clang lld wasi-libc libclang-rt-14-dev-wasm32 nodejs
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libopenblas-dev valgrind libxml2-utils python3 chromium
      openmpi-bin libopenmpi-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing$missing"
# root installs directly (containers, CI); anyone else through sudo, which asks when it must
as_root=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps: not root and no sudo: run this script as root" >&2
        exit 1
    fi
    as_root="sudo"
fi
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"

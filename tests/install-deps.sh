#!/usr/bin/env bash
# Installs what building and testing finwidth needs on Debian (run as root, or with sudo):
# ninja, gcc/g++, clang with the wasm32-wasi libc and runtime, node (runs the wasm tests),
# the bare-metal ARM toolchain with newlib and qemu (runs the ARM tests), OpenBLAS, valgrind,
# xmllint (the demo smoke test checks its SVG files).
# Does nothing when everything is already there.
set -eu
pkgs="ninja-build gcc g++ clang lld wasi-libc libclang-rt-14-dev-wasm32 nodejs
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libopenblas-dev valgrind libxml2-utils"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"

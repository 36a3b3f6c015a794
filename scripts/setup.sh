#!/usr/bin/env bash
# Installs what building, the demo and the tests need on a fresh Debian
# machine: the C toolchain for the test guests, and Debian's QEMU 7.2, which
# the tests and benchmarks use as the reference implementation.
set -euo pipefail

packages=(gcc binutils make qemu-system-x86 seabios)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Installs what building, the demo, the tests and the fuzzing need on a
# fresh Debian machine: the C toolchain for the test guests, Debian's QEMU
# 7.2, which the tests and benchmarks use as the reference implementation,
# cargo-fuzz, and QEMU's Python QMP library.
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

# cargo-fuzz for scripts/fuzz.sh, built from crates.io.
cargo_fuzz_version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -F "$cargo_fuzz_version" >/dev/null; then
    cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

# QEMU's own Python QMP library (QMPClient, the legacy QEMUMonitorProtocol
# and qmp-shell), which tests/qmp_python drives against both emulators.
qemu_qmp_version=0.0.6
if ! python3 -m pip show qemu.qmp 2>/dev/null | grep -x "Version: $qemu_qmp_version" >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "qemu.qmp==$qemu_qmp_version"
fi

#!/usr/bin/env bash
# Builds qemu-system-x86_64 and boots the bundled demo guest (a small PVH
# kernel from tests/guests) on KVM with direct kernel boot. The guest prints
# what it was handed (boot information, e820 memory map) on the serial port,
# which is this terminal, and powers off through isa-debug-exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet

out=target/demo
mkdir -p "$out"
gcc -m32 -c -Itests/guests -o "$out/demo.o" tests/guests/pvh.S
ld --no-warn-rwx-segments -m elf_i386 -T tests/guests/guest.ld -o "$out/demo.elf" "$out/demo.o"

set +e
./target/release/qemu-system-x86_64 -M pc -m 128 -nodefaults -display none \
    -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -kernel "$out/demo.elf" -append "hello from the demo"
status=$?
set -e
# The guest writes 0x10 to isa-debug-exit when all went well: (0x10 << 1) | 1.
if [ "$status" -eq 33 ]; then
    echo "demo guest finished (isa-debug-exit status 33: success)"
else
    echo "demo guest failed: exit status $status" >&2
    exit 1
fi

#!/usr/bin/env bash
# Fuzzes the QMP monitor's input side for a bounded time per target (the
# first argument, in seconds; 60 by default): the JSON stream parser and
# the command dispatcher (fuzz/fuzz_targets/). A target that panics stops
# the run with the input that did it, kept in fuzz/artifacts/.
#
# cargo-fuzz needs a nightly compiler for its sanitizer and coverage flags;
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
export RUSTC_BOOTSTRAP=1

# Seeds: the requests of the recorded QEMU 7.2 argument-decoding session.
seeds=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$seeds" "$log"' EXIT
grep '^-> ' ../qapi/tests/data/qemu-7.2-argument-errors.log | sed 's/^-> //' |
    split -l 1 - "$seeds/request-"

cargo fuzz build
targets=$(cargo fuzz list)
for target in $targets; do
    mkdir -p "corpus/$target"
    if cargo fuzz run "$target" "corpus/$target" "$seeds" -- \
        -max_total_time="$seconds" >"$log" 2>&1; then
        echo "fuzz $target: $(grep -E '^Done [0-9]+ runs' "$log")"
    else
        # The panic, the input that caused it and how to reproduce it.
        grep -v -E '^#[0-9]+' "$log" | tail -n 60 >&2
        echo "fuzz $target: FAILED" >&2
        exit 1
    fi
done
echo "fuzz: $(echo "$targets" | wc -w) passed, 0 failed"

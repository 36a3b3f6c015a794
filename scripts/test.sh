#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests and the
# integration tests that boot test guests on KVM and compare with QEMU 7.2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace

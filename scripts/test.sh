#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests and the
# integration tests that boot test guests on KVM and compare with QEMU 7.2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace

# The fuzz targets are a crate of their own: lint them, then fuzz.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --lib --bins --quiet -- -D warnings
bash scripts/fuzz.sh 60

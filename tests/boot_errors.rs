//! `-kernel` files that cannot be booted: the same message and exit
//! status as QEMU 7.2.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{boot_args, data_file, run, QEMU, RQEMU};

fn check(kernel: &Path) {
    let args = boot_args("pc", "128", kernel);
    let timeout = Duration::from_secs(60);
    let qemu = run(QEMU, &args, timeout);
    let ours = run(RQEMU, &args, timeout);
    assert_eq!(qemu.code(), Some(1), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(1), "ours: {ours:?}");
    // QEMU's stderr may start with CPUID warnings about this host.
    let message = qemu.stderr.lines().last().unwrap_or_default().to_string();
    assert_eq!(
        ours.stderr.lines().last(),
        Some(message.as_str()),
        "{ours:?}"
    );
}

#[test]
fn missing_kernel() {
    check(Path::new("/nonexistent"));
}

#[test]
fn text_file() {
    check(&data_file("hostname.txt", b"myhost\n"));
}

#[test]
fn elf_without_pvh_note() {
    check(Path::new("/bin/true"));
}

#[test]
fn truncated_elf() {
    check(&data_file("truncated.elf", b"\x7fELF\x01\x01\x01"));
}

#[test]
fn directory() {
    check(Path::new("/tmp"));
}

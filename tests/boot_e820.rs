//! The e820 table a guest sees must be QEMU 7.2's (with SeaBIOS), on
//! both machines, below and above the 4 GiB split.

mod common;

use common::{boot_args, guest, run_both, Guest, GUEST_SUCCESS};

fn check(machine: &str, memory: &str) {
    let args = boot_args(machine, memory, &guest(Guest::Pvh32));
    let (ours, qemu) = run_both(&args);
    assert_eq!(qemu.code(), Some(GUEST_SUCCESS), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(GUEST_SUCCESS), "ours: {ours:?}");
    let reference = qemu.lines_starting("e820: ");
    assert!(reference.len() >= 7, "QEMU printed no table: {qemu:?}");
    assert_eq!(
        ours.lines_starting("e820: "),
        reference,
        "-M {machine} -m {memory}"
    );
}

#[test]
fn pc_128m() {
    check("pc", "128M");
}

#[test]
fn pc_3g() {
    check("pc", "3G");
}

#[test]
fn pc_5g() {
    check("pc", "5G");
}

#[test]
fn q35_128m() {
    check("q35", "128M");
}

#[test]
fn q35_3g() {
    check("q35", "3G");
}

#[test]
fn q35_5g() {
    check("q35", "5G");
}

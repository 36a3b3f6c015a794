//! PCI bus 0 as a guest finds it through ports 0xcf8/0xcfc, compared with
//! QEMU 7.2 on the same machine.

mod common;

use common::{boot_args, guest, run_both, Guest, GUEST_SUCCESS};

/// Functions QEMU has on bus 0 that are not modelled here yet: PIIX3's IDE
/// (01.1) and power management (01.3); ICH9's SATA (1f.2) and SMBus (1f.3).
const NOT_YET_MODELLED: &[&str] = &[
    "pci: 00:01.1 ",
    "pci: 00:01.3 ",
    "pci: 00:1f.2 ",
    "pci: 00:1f.3 ",
];

fn compare(machine: &str) {
    let args = boot_args(machine, "128", &guest(Guest::PciScan));
    let (ours, qemu) = run_both(&args);
    assert_eq!(qemu.code(), Some(GUEST_SUCCESS), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(GUEST_SUCCESS), "ours: {ours:?}");
    let expected: Vec<&str> = qemu
        .stdout
        .lines()
        .filter(|l| !NOT_YET_MODELLED.iter().any(|f| l.starts_with(f)))
        .collect();
    let found: Vec<&str> = ours.stdout.lines().collect();
    assert_eq!(found, expected, "{machine}");
    assert!(
        found.iter().any(|l| l.starts_with("pci: 00:00.0 ")),
        "{found:?}"
    );
}

#[test]
fn pc_bus_0() {
    compare("pc");
}

#[test]
fn q35_bus_0() {
    compare("q35");
}

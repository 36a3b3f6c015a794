//! fw_cfg as a guest reads it through the 0x510/0x511 ports, compared with
//! QEMU 7.2 on the same machine: signature, interface ID, the numbered
//! items of the machine configuration, and QEMU's own e820 table.

mod common;

use common::{boot_args, guest, run_both, Guest, GUEST_SUCCESS};

fn compare(machine: &str, memory: &str, extra: &[&str]) {
    let mut args = boot_args(machine, memory, &guest(Guest::FwCfg));
    args.extend(extra.iter().map(|s| s.to_string()));
    let (ours, qemu) = run_both(&args);
    assert_eq!(qemu.code(), Some(GUEST_SUCCESS), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(GUEST_SUCCESS), "ours: {ours:?}");
    assert!(ours.stdout.contains("signature: QEMU\n"), "{}", ours.stdout);
    assert_eq!(ours.stdout, qemu.stdout, "{machine} {memory} {extra:?}");
}

#[test]
fn pc_items_and_e820() {
    compare("pc", "128", &["-smp", "2"]);
}

#[test]
fn q35_items_and_e820_above_4g() {
    compare(
        "q35",
        "5G",
        &[
            "-smp",
            "1,maxcpus=4",
            "-uuid",
            "c7a5fdbd-cdaf-9455-926a-d65c16db1820",
            "-boot",
            "menu=on",
        ],
    );
}

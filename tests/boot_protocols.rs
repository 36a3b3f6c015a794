//! Direct kernel boot of the test guests in each protocol (PVH ELF32 and
//! ELF64, multiboot flat and ELF, bzImage): the guest prints what its
//! boot loader gave it, and that must be what QEMU 7.2 gives it.

mod common;

use common::{boot_args, data_file, guest, run_both, Guest, Run, GUEST_SUCCESS};

/// The stdout of a run without the lines that may differ for a reason
/// the test knows about.
fn comparable<'a>(run: &'a Run, differing_prefixes: &[&str]) -> Vec<&'a str> {
    run.stdout
        .lines()
        .filter(|line| !differing_prefixes.iter().any(|p| line.starts_with(p)))
        .collect()
}

fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn check_pvh(kernel: Guest) {
    let initrd = data_file("initrd-pvh.bin", b"INITRD-DATA");
    let args = with(
        boot_args("pc", "128", &guest(kernel)),
        &[
            "-append",
            "hello world",
            "-initrd",
            initrd.to_str().unwrap(),
        ],
    );
    let (ours, qemu) = run_both(&args);
    assert_eq!(qemu.code(), Some(GUEST_SUCCESS), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(GUEST_SUCCESS), "ours: {ours:?}");
    assert!(ours.stdout.starts_with("Hello from a PVH guest!\n"));
    assert!(ours.stdout.contains("magic: 336ec578\n"));
    assert!(ours.stdout.contains("cmdline: hello world\n"));
    // QEMU's option ROM fills in the RSDP address; direct boot leaves it
    // to the guest's own search of the BIOS area.
    assert_eq!(comparable(&ours, &["rsdp:"]), comparable(&qemu, &["rsdp:"]));
}

#[test]
fn pvh_elf32() {
    check_pvh(Guest::Pvh32);
}

#[test]
fn pvh_elf64() {
    check_pvh(Guest::Pvh64);
}

fn check_multiboot(kernel: Guest) {
    let first = data_file("module1.bin", b"INITRD-DATA");
    let second = data_file("module2.bin", b"MOD2-DATA");
    let modules = format!("{} arg1 arg2,{}", first.display(), second.display());
    let args = with(
        boot_args("pc", "128", &guest(kernel)),
        &["-append", "a b", "-initrd", &modules],
    );
    let (ours, qemu) = run_both(&args);
    assert_eq!(qemu.code(), Some(GUEST_SUCCESS), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(GUEST_SUCCESS), "ours: {ours:?}");
    assert!(ours.stdout.starts_with("Hello from a multiboot guest!\n"));
    assert!(ours.stdout.contains("magic: 2badb002\n"));
    assert!(ours.stdout.contains("mods_count: 00000002\n"));
    assert_eq!(ours.stdout, qemu.stdout);
}

#[test]
fn multiboot_flat_binary() {
    check_multiboot(Guest::MultibootFlat);
}

#[test]
fn multiboot_elf() {
    check_multiboot(Guest::MultibootElf);
}

#[test]
fn bzimage() {
    let initrd = data_file("initrd-linux.bin", b"INITRD-DATA");
    let args = with(
        boot_args("q35", "2G", &guest(Guest::BzImage)),
        &[
            "-append",
            "console=ttyS0 x",
            "-initrd",
            initrd.to_str().unwrap(),
        ],
    );
    let (ours, qemu) = run_both(&args);
    assert_eq!(qemu.code(), Some(GUEST_SUCCESS), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(GUEST_SUCCESS), "ours: {ours:?}");
    assert!(ours.stdout.starts_with("Hello from a bzImage guest!\n"));
    assert!(ours.stdout.contains("cmdline: console=ttyS0 x\n"));
    // Under QEMU the guest's own real-mode setup code builds boot_params
    // (at a place of its choosing); booted directly it gets ours.
    assert_eq!(
        comparable(&ours, &["boot_params:"]),
        comparable(&qemu, &["boot_params:"])
    );
}

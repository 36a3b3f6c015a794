//! The loaders on the real test guests, without running them: where
//! each protocol enters and what it leaves in guest memory.

mod common;

use common::{guest, Guest};
use hw::i386::loader::{load_kernel, EntryMode, KernelBootConfig};
use hw::i386::memmap::{PcMachineKind, PcMemoryLayout};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

fn memory(layout: &PcMemoryLayout) -> GuestMemoryMmap {
    let regions: Vec<(GuestAddress, usize)> = layout
        .guest_ram_regions()
        .into_iter()
        .map(|(a, s)| (a, s as usize))
        .collect();
    GuestMemoryMmap::from_ranges(&regions).unwrap()
}

/// The address of `symbol` in the linked guest (`nm`).
fn symbol(kernel: Guest, symbol: &str) -> u64 {
    let path = guest(kernel);
    let output = std::process::Command::new("nm")
        .arg(&path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    table
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let addr = f.next()?;
            f.next()?;
            (f.next()? == symbol).then(|| u64::from_str_radix(addr, 16).unwrap())
        })
        .unwrap_or_else(|| panic!("no {symbol} in {path:?}"))
}

fn load(kernel: Guest) -> (hw::i386::loader::CpuEntryState, GuestMemoryMmap) {
    let layout = PcMemoryLayout::new(PcMachineKind::I440fx, 128 << 20);
    let mem = memory(&layout);
    let path = guest(kernel);
    let config = KernelBootConfig {
        kernel: &path,
        initrd: None,
        cmdline: Some("x"),
    };
    (load_kernel(&mem, &layout, &config).unwrap(), mem)
}

#[test]
fn pvh_entry_is_the_note() {
    for kernel in [Guest::Pvh32, Guest::Pvh64, Guest::Smp, Guest::ResetI8042] {
        let (state, _) = load(kernel);
        assert_eq!(state.mode, EntryMode::Protected32Flat);
        assert_eq!(state.rip, symbol(kernel, "_start"), "{kernel:?}");
        assert_eq!(state.rbx, 0x21e0);
    }
}

#[test]
fn multiboot_entry() {
    let (state, mem) = load(Guest::MultibootFlat);
    assert_eq!(state.mode, EntryMode::Protected32Flat);
    assert_eq!((state.rax, state.rbx), (0x2bad_b002, 0x9500));
    // The flat file is what the ELF links to; the entry comes from the
    // header's entry_addr.
    let elf = load(Guest::MultibootElf).0;
    assert_eq!(state.rip, elf.rip);
    let byte: u8 = mem.read_obj(GuestAddress(state.rip)).unwrap();
    assert_ne!(byte, 0);
}

#[test]
fn bzimage_enters_at_the_64_bit_entry() {
    let (state, mem) = load(Guest::BzImage);
    assert_eq!(state.mode, EntryMode::Long64);
    assert_eq!(state.rip, 0x10_0200);
    assert_eq!(state.rsi, 0x1_0000);
    // The first instruction of startup_64 is lgdt (0f 01 /2).
    let opcode: [u8; 2] = mem.read_obj(GuestAddress(state.rip)).unwrap();
    assert_eq!(opcode, [0x0f, 0x01]);
}

#[test]
fn multiboot_elf_modules_follow_the_kernel() {
    let layout = PcMemoryLayout::new(PcMachineKind::I440fx, 128 << 20);
    let mem = memory(&layout);
    let path = guest(Guest::MultibootElf);
    let first = common::data_file("module1.bin", b"INITRD-DATA");
    let second = common::data_file("module2.bin", b"MOD2-DATA");
    let modules = format!("{} arg1 arg2,{}", first.display(), second.display());
    let config = KernelBootConfig {
        kernel: &path,
        initrd: Some(std::path::Path::new(&modules)),
        cmdline: Some("a b"),
    };
    load_kernel(&mem, &layout, &config).unwrap();
    let read = |addr: u64| -> u32 { mem.read_obj(GuestAddress(addr)).unwrap() };
    // QEMU 7.2 gives this guest (segments up to 0x101350) its modules at
    // 0x103000-0x10300b and 0x104000-0x104009, descriptors at 0x102000.
    assert_eq!(read(0x9514), 2);
    assert_eq!(read(0x9518), 0x10_2000);
    assert_eq!(
        [
            read(0x10_2000),
            read(0x10_2004),
            read(0x10_2010),
            read(0x10_2014)
        ],
        [0x10_3000, 0x10_300b, 0x10_4000, 0x10_4009]
    );
}

//! PVH boot of an ELF kernel (x86/HVM direct boot ABI): the kernel's
//! `XEN_ELFNOTE_PHYS32_ENTRY` note gives a 32-bit entry point, entered in
//! flat protected mode with paging off and %ebx pointing at
//! `struct hvm_start_info`.
//!
//! The start info, command line, module list and memory map are placed
//! where QEMU 7.2's PVH option ROM keeps them; the initrd where QEMU puts
//! it, at the top of RAM below 4 GiB under the space kept for ACPI.

use std::io::Cursor;
use std::path::Path;

use linux_loader::loader::{elf::Elf, KernelLoader, PvhBootCapability};
use vm_memory::GuestMemoryMmap;

use super::{elf32, BootError, CpuEntryState, EntryMode, ACPI_DATA_SIZE};
use crate::i386::memmap::{E820Entry, PcMemoryLayout};

/// `hvm_start_info.magic`.
const HVM_START_MAGIC: u32 = 0x336e_c578;
/// Layout version 1: the memory map fields are valid.
const HVM_START_VERSION: u32 = 1;
/// Where QEMU's PVH option ROM keeps its memory map (24-byte entries).
pub const MEMMAP_ADDR: u64 = 0x5a8;
const MEMMAP_MAX_ENTRIES: usize = 128;
/// The option ROM's command line buffer.
pub const CMDLINE_ADDR: u64 = 0x11c0;
const CMDLINE_MAX: usize = 4096;
/// The module list (one module: the initrd).
pub const MODLIST_ADDR: u64 = 0x21c0;
/// `struct hvm_start_info`.
pub const START_INFO_ADDR: u64 = 0x21e0;

/// Zeroes what the `PT_LOAD` segments of an ELF64 file have beyond their
/// file contents (linux-loader copies the file contents only; a reset
/// must not leave the last run's data there).
fn zero_elf64_bss(mem: &GuestMemoryMmap, image: &[u8]) -> Result<(), BootError> {
    const PT_LOAD: u32 = 1;
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            image.get(at..at.checked_add(8)?)?.try_into().ok()?,
        ))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            image.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let u16_at = |at: usize| -> Option<usize> {
        Some(u16::from_le_bytes(image.get(at..at.checked_add(2)?)?.try_into().ok()?) as usize)
    };
    let (phoff, phentsize, phnum) = (
        u64_at(32).ok_or_else(elf32::load_error)? as usize,
        u16_at(54).ok_or_else(elf32::load_error)?,
        u16_at(56).ok_or_else(elf32::load_error)?,
    );
    for i in 0..phnum {
        let at = i
            .checked_mul(phentsize)
            .and_then(|offset| offset.checked_add(phoff))
            .ok_or_else(elf32::load_error)?;
        if u32_at(at) != Some(PT_LOAD) {
            continue;
        }
        let (paddr, filesz, memsz) = match (u64_at(at + 24), u64_at(at + 32), u64_at(at + 40)) {
            (Some(p), Some(f), Some(m)) => (p, f, m),
            _ => return Err(elf32::load_error()),
        };
        if memsz > filesz {
            super::zero_fill(mem, paddr.saturating_add(filesz), memsz - filesz)
                .map_err(|_| elf32::load_error())?;
        }
    }
    Ok(())
}

/// Loads the ELF file and returns its PVH entry point, or QEMU's error.
fn load_elf(mem: &GuestMemoryMmap, image: &[u8]) -> Result<u64, BootError> {
    let entry = if elf32::is_elf64(image) {
        let result =
            Elf::load(mem, None, &mut Cursor::new(image), None).map_err(|_| elf32::load_error())?;
        zero_elf64_bss(mem, image)?;
        match result.pvh_boot_cap {
            PvhBootCapability::PvhEntryPresent(addr) => Some(addr.0),
            _ => None,
        }
    } else {
        elf32::load(mem, image)?.pvh_entry.map(u64::from)
    };
    entry.ok_or_else(|| {
        BootError::reported("Error loading uncompressed kernel without PVH ELF Note")
    })
}

pub fn load(
    mem: &GuestMemoryMmap,
    layout: &PcMemoryLayout,
    e820: &[E820Entry],
    image: &[u8],
    initrd: Option<&Path>,
    cmdline: &str,
) -> Result<CpuEntryState, BootError> {
    let entry = load_elf(mem, image)?;

    // QEMU's option ROM copies a longer command line over the start info
    // that follows its buffer; it is cut to the buffer here.
    let mut cmdline_bytes = cmdline.as_bytes().to_vec();
    cmdline_bytes.truncate(CMDLINE_MAX - 1);
    cmdline_bytes.push(0);
    super::write_slice(mem, &cmdline_bytes, CMDLINE_ADDR)?;

    let mut nr_modules = 0u32;
    let mut modlist = 0u64;
    if let Some(path) = initrd {
        let data = super::read_initrd(path)?;
        let initrd_max = layout.below_4g_mem_size - ACPI_DATA_SIZE - 1;
        let size = data.len() as u64;
        super::check_initrd_fits(initrd_max, size)?;
        let addr = (initrd_max - size) & !0xfff;
        super::write_slice(mem, &data, addr)?;
        // struct hvm_modlist_entry { paddr, size, cmdline_paddr, reserved }
        for (i, value) in [addr, size, 0, 0].iter().enumerate() {
            super::write_obj(mem, *value, MODLIST_ADDR + 8 * i as u64)?;
        }
        nr_modules = 1;
        modlist = MODLIST_ADDR;
    }

    // struct hvm_memmap_table_entry { u64 addr; u64 size; u32 type; u32 reserved; }
    let entries = &e820[..e820.len().min(MEMMAP_MAX_ENTRIES)];
    for (i, e) in entries.iter().enumerate() {
        let at = MEMMAP_ADDR + 24 * i as u64;
        super::write_obj(mem, e.addr, at)?;
        super::write_obj(mem, e.size, at + 8)?;
        super::write_obj(mem, e.kind as u32, at + 16)?;
        super::write_obj(mem, 0u32, at + 20)?;
    }

    // struct hvm_start_info (version 1). The RSDP address stays 0: the
    // guest finds the tables by scanning, as on a PC.
    let info = START_INFO_ADDR;
    super::write_obj(mem, HVM_START_MAGIC, info)?;
    super::write_obj(mem, HVM_START_VERSION, info + 4)?;
    super::write_obj(mem, 0u32, info + 8)?; // flags
    super::write_obj(mem, nr_modules, info + 12)?;
    super::write_obj(mem, modlist, info + 16)?;
    super::write_obj(mem, CMDLINE_ADDR, info + 24)?;
    super::write_obj(mem, 0u64, info + 32)?; // rsdp_paddr
    super::write_obj(mem, MEMMAP_ADDR, info + 40)?;
    super::write_obj(mem, entries.len() as u32, info + 48)?;
    super::write_obj(mem, 0u32, info + 52)?; // reserved

    let mut state = CpuEntryState::new(EntryMode::Protected32Flat, entry);
    state.rbx = START_INFO_ADDR;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i386::loader::elf32::tests::{elf32_with, pvh_elf32};
    use crate::i386::loader::test_support::*;
    use crate::i386::memmap::{e820_table, PcMachineKind};

    #[test]
    fn start_info_as_qemu_gives_it() {
        let (state, mem) = boot(&pvh_elf32(), Some(b"INITRD-DATA"), Some("hello world"));
        let state = state.unwrap();
        assert_eq!(state.mode, EntryMode::Protected32Flat);
        assert_eq!(state.rip, 0x10_0004);
        assert_eq!(state.rbx, 0x21e0);
        assert_eq!(read_u32(&mem, 0x21e0), HVM_START_MAGIC);
        assert_eq!(read_u32(&mem, 0x21e4), 1);
        assert_eq!(read_u32(&mem, 0x21ec), 1);
        assert_eq!(read_u64(&mem, 0x21f0), 0x21c0);
        assert_eq!(read_u64(&mem, 0x21f8), 0x11c0);
        assert_eq!(read_cstr(&mem, 0x11c0), "hello world");
        // QEMU 7.2 -m 128: "module at 07fd7000 size 0000000b".
        assert_eq!(read_u64(&mem, 0x21c0), 0x07fd_7000);
        assert_eq!(read_u64(&mem, 0x21c8), 11);
        assert_eq!(read_cstr(&mem, 0x07fd_7000), "INITRD-DATA");
        // The memory map is the e820 table.
        assert_eq!(read_u64(&mem, 0x2208), 0x5a8);
        let table = e820_table(PcMachineKind::I440fx, RAM);
        assert_eq!(read_u32(&mem, 0x2210) as usize, table.len());
        for (i, e) in table.iter().enumerate() {
            let at = 0x5a8 + 24 * i as u64;
            assert_eq!(read_u64(&mem, at), e.addr);
            assert_eq!(read_u64(&mem, at + 8), e.size);
            assert_eq!(read_u32(&mem, at + 16), e.kind as u32);
        }
    }

    /// A minimal ELF64 PVH kernel: a PT_LOAD segment at 1 MiB and a
    /// PT_NOTE with the 32-bit entry.
    fn pvh_elf64(with_note: bool) -> Vec<u8> {
        const EHDR: usize = 64;
        const PHDR: usize = 56;
        let phnum = if with_note { 2 } else { 1 };
        let code_off = EHDR + PHDR * phnum;
        let code = [0xf4u8, 0xeb, 0xfd, 0x90];
        let note_off = code_off + code.len();
        let mut f = b"\x7fELF\x02\x01\x01".to_vec();
        f.resize(16, 0);
        f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0x10_0000u64.to_le_bytes()); // e_entry
        f.extend_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
        f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        for v in [EHDR as u16, PHDR as u16, phnum as u16, 0, 0, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        let phdr = |f: &mut Vec<u8>, kind: u32, off: usize, addr: u64, size: usize| {
            f.extend_from_slice(&kind.to_le_bytes());
            f.extend_from_slice(&7u32.to_le_bytes());
            for v in [off as u64, addr, addr, size as u64, size as u64 + 0x10, 4] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        };
        phdr(&mut f, 1, code_off, 0x10_0000, code.len());
        if with_note {
            phdr(&mut f, 4, note_off, 0, 20);
        }
        f.extend_from_slice(&code);
        if with_note {
            for v in [4u32, 4, 18] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend_from_slice(b"Xen\0");
            f.extend_from_slice(&0x10_0003u32.to_le_bytes());
        }
        f
    }

    #[test]
    fn elf64_kernel() {
        let (state, mem) = boot(&pvh_elf64(true), None, Some("x"));
        let state = state.unwrap();
        assert_eq!(state.mode, EntryMode::Protected32Flat);
        assert_eq!((state.rip, state.rbx), (0x10_0003, 0x21e0));
        assert_eq!(read_u32(&mem, 0x10_0000), 0x90fd_ebf4);
        assert_eq!(read_u32(&mem, 0x21e0), HVM_START_MAGIC);
    }

    #[test]
    fn elf64_bss_is_zeroed_again_on_reload() {
        use vm_memory::{Bytes, GuestAddress};
        let (mem, layout) = guest_memory();
        mem.write_obj(0xdead_beef_u32, GuestAddress(0x10_0004))
            .unwrap();
        let kernel = TempFile::new("pvh64", &pvh_elf64(true));
        let config = crate::i386::loader::KernelBootConfig {
            kernel: &kernel.path,
            initrd: None,
            cmdline: None,
        };
        crate::i386::loader::load_kernel(&mem, &layout, &config).unwrap();
        assert_eq!(read_u32(&mem, 0x10_0004), 0);
    }

    #[test]
    fn elf64_without_note() {
        let (state, _) = boot(&pvh_elf64(false), None, None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu-system-x86_64: Error loading uncompressed kernel without PVH ELF Note"
        );
    }

    #[test]
    fn no_initrd_no_modules() {
        let (state, mem) = boot(&pvh_elf32(), None, None);
        state.unwrap();
        assert_eq!(read_u32(&mem, 0x21ec), 0);
        assert_eq!(read_u64(&mem, 0x21f0), 0);
        assert_eq!(read_cstr(&mem, 0x11c0), "");
    }

    #[test]
    fn elf_without_note() {
        let (state, _) = boot(&elf32_with(&[0xf4], false), None, None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu-system-x86_64: Error loading uncompressed kernel without PVH ELF Note"
        );
    }

    #[test]
    fn truncated_elf() {
        let image = pvh_elf32();
        for cut in [7, 52, 100] {
            let (state, _) = boot(&image[..cut], None, None);
            assert_eq!(
                state.unwrap_err().to_string(),
                "qemu-system-x86_64: Error while loading elf kernel",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn initrd_too_large() {
        let big = vec![0u8; 0x07fd_8000];
        let (state, _) = boot(&pvh_elf32(), Some(&big), None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu: initrd is too large, cannot support.(max: 134053887, need 134053888)"
        );
    }

    #[test]
    fn missing_initrd() {
        let (mem, layout) = guest_memory();
        let kernel = TempFile::new("pvh", &pvh_elf32());
        let config = crate::i386::loader::KernelBootConfig {
            kernel: &kernel.path,
            initrd: Some(Path::new("/nonexist.img")),
            cmdline: None,
        };
        assert_eq!(
            crate::i386::loader::load_kernel(&mem, &layout, &config)
                .unwrap_err()
                .to_string(),
            "qemu: error reading initrd /nonexist.img: Failed to open file \u{201c}/nonexist.img\u{201d}: open() failed: No such file or directory"
        );
    }
}

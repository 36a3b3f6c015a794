//! The Linux x86 boot protocol (bzImage), entered at the 64-bit entry
//! point (or the 32-bit one for kernels without `XLF_KERNEL_64`) with a
//! filled-in `boot_params`, as a boot loader without firmware does.
//!
//! Addresses follow QEMU 7.2 for a "high" kernel (protocol 2.02 or later,
//! `LOADED_HIGH`): boot_params at 0x10000, command line at 0x20000, the
//! protected-mode kernel at 1 MiB. The setup header is patched as QEMU
//! patches it; the initrd lands where the guest finds it under QEMU,
//! whose option ROM places it below the end of usable RAM and below the
//! kernel's `initrd_addr_max`.

use std::io::Cursor;
use std::path::Path;

use linux_loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::loader::{bzimage::BzImage, KernelLoader};
use vm_memory::{ByteValued, GuestAddress, GuestMemoryMmap};

use super::{BootError, CpuEntryState, EntryMode, ACPI_DATA_SIZE};
use crate::i386::memmap::{E820Entry, E820Type, PcMemoryLayout};

/// "HdrS" at offset 0x202.
const HDRS_MAGIC: u32 = 0x5372_6448;
const SETUP_HEADER_OFFSET: usize = 0x1f1;
/// boot_params ("zero page"), where QEMU loads the real-mode part.
pub const BOOT_PARAMS_ADDR: u64 = 0x1_0000;
pub const CMDLINE_ADDR: u64 = 0x2_0000;
/// The protected-mode kernel.
pub const KERNEL_ADDR: u64 = 0x10_0000;
/// The 64-bit entry point is 0x200 bytes into the protected-mode kernel.
const ENTRY_64_OFFSET: u64 = 0x200;
/// `type_of_loader` QEMU announces (0xb: "Qemu", version 0).
const LOADER_TYPE_QEMU: u8 = 0xb0;
const LOADFLAG_LOADED_HIGH: u8 = 0x01;
const LOADFLAG_CAN_USE_HEAP: u8 = 0x80;
const XLF_KERNEL_64: u16 = 0x01;
/// initrd_addr_max of kernels older than protocol 2.03.
const OLD_INITRD_ADDR_MAX: u32 = 0x37ff_ffff;

/// Identity-mapped page tables for the 64-bit entry: PML4, PDPT and four
/// page directories of 2 MiB pages covering the first 4 GiB.
pub const PML4_ADDR: u64 = 0x9000;
const PDPT_ADDR: u64 = 0xa000;
const PD_ADDR: u64 = 0xb000;
/// A stack for the kernel's first instructions, below the page tables.
const BOOT_STACK_POINTER: u64 = 0x8ff0;

pub fn is_linux_kernel(image: &[u8]) -> bool {
    image
        .get(0x202..0x206)
        .is_some_and(|m| m == HDRS_MAGIC.to_le_bytes())
}

/// Size of the real-mode part (boot sector and setup sectors).
fn setup_size(image: &[u8]) -> usize {
    let sects = match image.get(SETUP_HEADER_OFFSET).copied().unwrap_or(0) {
        0 => 4,
        n => n as usize,
    };
    (sects + 1) * 512
}

fn invalid_kernel_header() -> BootError {
    BootError::qemu("invalid kernel header")
}

/// The error for a file that is no kernel QEMU knows (no setup header,
/// no multiboot header, not ELF).
pub fn reject_non_kernel(image: &[u8], has_initrd: bool) -> BootError {
    if has_initrd {
        return BootError::qemu("linux kernel too old to load a ram disk");
    }
    if setup_size(image) > image.len() {
        return invalid_kernel_header();
    }
    // QEMU would hand such a file to its option ROM as a real-mode
    // zImage; without firmware there is nothing to run its setup code.
    BootError::qemu("kernel without a boot protocol header cannot be booted without firmware")
}

/// The `vga=` parameter as QEMU turns it into `vid_mode`.
fn video_mode(cmdline: &str) -> Result<Option<u16>, BootError> {
    let Some(at) = cmdline.find("vga=") else {
        return Ok(None);
    };
    let value = &cmdline[at + 4..];
    let mode = if value.starts_with("normal") {
        0xffff
    } else if value.starts_with("ext") {
        0xfffe
    } else if value.starts_with("ask") {
        0xfffd
    } else {
        let word = value.split(' ').next().unwrap_or("");
        let parsed = if let Some(hex) = word.strip_prefix("0x").or(word.strip_prefix("0X")) {
            u32::from_str_radix(hex, 16)
        } else if word.len() > 1 && word.starts_with('0') {
            u32::from_str_radix(&word[1..], 8)
        } else {
            word.parse::<u32>()
        };
        parsed.map_err(|_| BootError::qemu("invalid 'vga=' kernel parameter."))? as u16
    };
    Ok(Some(mode))
}

/// The end of the usable RAM below 4 GiB that holds 1 MiB: the guest's
/// view of the top of low memory.
fn low_ram_top(e820: &[E820Entry]) -> u64 {
    e820.iter()
        .filter(|e| e.kind == E820Type::Ram && e.addr <= KERNEL_ADDR && e.end() > KERNEL_ADDR)
        .map(E820Entry::end)
        .next()
        .unwrap_or(0)
}

fn write_page_tables(mem: &GuestMemoryMmap) -> Result<(), BootError> {
    const PRESENT_WRITABLE: u64 = 0x3;
    const PAGE_SIZE_2M: u64 = 0x80;
    super::write_obj(mem, PDPT_ADDR | PRESENT_WRITABLE, PML4_ADDR)?;
    for gib in 0..4u64 {
        let pd = PD_ADDR + gib * 0x1000;
        super::write_obj(mem, pd | PRESENT_WRITABLE, PDPT_ADDR + gib * 8)?;
        let mut entries = [0u8; 4096];
        for (i, chunk) in entries.chunks_exact_mut(8).enumerate() {
            let addr = (gib << 30) + ((i as u64) << 21);
            chunk.copy_from_slice(&(addr | PRESENT_WRITABLE | PAGE_SIZE_2M).to_le_bytes());
        }
        super::write_slice(mem, &entries, pd)?;
    }
    Ok(())
}

pub fn load(
    mem: &GuestMemoryMmap,
    layout: &PcMemoryLayout,
    e820: &[E820Entry],
    image: &[u8],
    initrd: Option<&Path>,
    cmdline: &str,
) -> Result<CpuEntryState, BootError> {
    let header_end = SETUP_HEADER_OFFSET + std::mem::size_of::<setup_header>();
    let mut hdr = image
        .get(SETUP_HEADER_OFFSET..header_end)
        .and_then(setup_header::from_slice)
        .copied()
        .ok_or_else(invalid_kernel_header)?;
    let protocol = hdr.version;
    if protocol < 0x202 || hdr.loadflags & LOADFLAG_LOADED_HIGH == 0 {
        // A real-mode entry through the kernel's setup code, which needs
        // BIOS services.
        return Err(BootError::qemu(
            "linux kernel older than boot protocol 2.02 cannot be booted without firmware",
        ));
    }

    let initrd_addr_max = if protocol >= 0x203 {
        hdr.initrd_addr_max
    } else {
        OLD_INITRD_ADDR_MAX
    };
    hdr.cmd_line_ptr = CMDLINE_ADDR as u32;
    if let Some(mode) = video_mode(cmdline)? {
        hdr.vid_mode = mode;
    }
    hdr.type_of_loader = LOADER_TYPE_QEMU;
    hdr.loadflags |= LOADFLAG_CAN_USE_HEAP;
    hdr.heap_end_ptr = (CMDLINE_ADDR - BOOT_PARAMS_ADDR - 0x200) as u16;

    let initrd_data = match initrd {
        Some(path) => {
            let data = super::read_initrd(path)?;
            let qemu_max =
                u64::from(initrd_addr_max).min(layout.below_4g_mem_size - ACPI_DATA_SIZE - 1);
            super::check_initrd_fits(qemu_max, data.len() as u64)?;
            let limit = u64::from(initrd_addr_max).min(low_ram_top(e820));
            let addr = limit.saturating_sub(data.len() as u64) & !0xfff;
            hdr.ramdisk_image = addr as u32;
            hdr.ramdisk_size = data.len() as u32;
            Some((addr, data))
        }
        None => None,
    };

    if setup_size(image) > image.len() {
        return Err(invalid_kernel_header());
    }

    BzImage::load(
        mem,
        Some(GuestAddress(KERNEL_ADDR)),
        &mut Cursor::new(image),
        None,
    )
    .map_err(|_| super::outside_ram(KERNEL_ADDR))?;

    let mut params = boot_params {
        hdr,
        ..Default::default()
    };
    let entries = &e820[..e820.len().min(params.e820_table.len())];
    for (slot, e) in params.e820_table.iter_mut().zip(entries) {
        *slot = boot_e820_entry {
            addr: e.addr,
            size: e.size,
            r#type: e.kind as u32,
        };
    }
    params.e820_entries = entries.len() as u8;
    super::write_obj(mem, params, BOOT_PARAMS_ADDR)?;

    let mut cmdline_bytes = cmdline.as_bytes().to_vec();
    cmdline_bytes.push(0);
    super::write_slice(mem, &cmdline_bytes, CMDLINE_ADDR)?;
    if let Some((addr, data)) = initrd_data {
        super::write_slice(mem, &data, addr)?;
    }

    let mut state = if hdr.xloadflags & XLF_KERNEL_64 != 0 {
        write_page_tables(mem)?;
        let mut state = CpuEntryState::new(EntryMode::Long64, KERNEL_ADDR + ENTRY_64_OFFSET);
        state.cr3 = PML4_ADDR;
        state
    } else {
        CpuEntryState::new(EntryMode::Protected32Flat, KERNEL_ADDR)
    };
    state.rsi = BOOT_PARAMS_ADDR;
    state.rsp = BOOT_STACK_POINTER;
    Ok(state)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::i386::loader::test_support::*;
    use crate::i386::memmap::{e820_table, PcMachineKind};
    use vm_memory::Bytes;

    /// A bzImage-shaped file: boot sector with the setup header, one
    /// setup sector, then 0x400 bytes of protected-mode kernel.
    pub fn bzimage() -> Vec<u8> {
        let mut f = vec![0u8; 0x400 + 0x400];
        f[0x1f1] = 1; // setup_sects
        f[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
        f[0x202..0x206].copy_from_slice(b"HdrS");
        f[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        f[0x211] = LOADFLAG_LOADED_HIGH;
        f[0x214..0x218].copy_from_slice(&0x10_0000u32.to_le_bytes());
        f[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        f[0x236..0x238].copy_from_slice(&XLF_KERNEL_64.to_le_bytes());
        f[0x238..0x23c].copy_from_slice(&2047u32.to_le_bytes());
        f[0x400..0x404].copy_from_slice(b"KERN");
        f
    }

    fn params(mem: &GuestMemoryMmap) -> boot_params {
        mem.read_obj(GuestAddress(BOOT_PARAMS_ADDR)).unwrap()
    }

    #[test]
    fn boot_params_as_qemu_patches_them() {
        let (state, mem) = boot(&bzimage(), Some(b"INITRD-DATA"), Some("console=ttyS0 x"));
        let state = state.unwrap();
        assert_eq!(state.mode, EntryMode::Long64);
        assert_eq!(state.rip, 0x10_0200);
        assert_eq!(state.rsi, 0x1_0000);
        assert_eq!(state.cr3, PML4_ADDR);
        let p = params(&mem);
        let hdr = p.hdr;
        // Values the guest printed under QEMU 7.2 (-M pc -m 128).
        assert_eq!(hdr.type_of_loader, 0xb0);
        assert_eq!(hdr.loadflags, 0x81);
        assert_eq!({ hdr.code32_start }, 0x10_0000);
        assert_eq!({ hdr.heap_end_ptr }, 0xfe00);
        assert_eq!({ hdr.ramdisk_image }, 0x07fd_f000);
        assert_eq!({ hdr.ramdisk_size }, 11);
        assert_eq!({ hdr.cmd_line_ptr }, 0x2_0000);
        assert_eq!(read_cstr(&mem, 0x2_0000), "console=ttyS0 x");
        assert_eq!(read_cstr(&mem, 0x07fd_f000), "INITRD-DATA");
        assert_eq!(read_u32(&mem, 0x10_0000), u32::from_le_bytes(*b"KERN"));
        let table = e820_table(PcMachineKind::I440fx, RAM);
        assert_eq!(p.e820_entries as usize, table.len());
        for (got, want) in p.e820_table.iter().zip(&table) {
            assert_eq!(
                ({ got.addr }, { got.size }, { got.r#type }),
                (want.addr, want.size, want.kind as u32)
            );
        }
        // The page tables map 2 MiB pages one to one.
        assert_eq!(read_u64(&mem, PML4_ADDR) & !0xfff, PDPT_ADDR);
        assert_eq!(read_u64(&mem, PD_ADDR + 8), 0x20_0000 | 0x83);
        assert_eq!(
            read_u64(&mem, PD_ADDR + 3 * 0x1000 + 511 * 8),
            0xffe0_0000 | 0x83
        );
    }

    #[test]
    fn initrd_placement_follows_qemu() {
        // -m 128 with a 3 MiB initrd: 0x07ce0000 under QEMU 7.2.
        let big = vec![0u8; 3 << 20];
        let (state, mem) = boot(&bzimage(), Some(&big), None);
        state.unwrap();
        assert_eq!({ params(&mem).hdr.ramdisk_image }, 0x07ce_0000);
    }

    #[test]
    fn kernel_without_64_bit_entry_starts_in_protected_mode() {
        let mut image = bzimage();
        image[0x236] = 0;
        let (state, _) = boot(&image, None, None);
        let state = state.unwrap();
        assert_eq!(state.mode, EntryMode::Protected32Flat);
        assert_eq!((state.rip, state.rsi), (0x10_0000, 0x1_0000));
    }

    #[test]
    fn vga_parameter() {
        assert_eq!(video_mode("a vga=normal"), Ok(Some(0xffff)));
        assert_eq!(video_mode("vga=ext"), Ok(Some(0xfffe)));
        assert_eq!(video_mode("vga=ask b"), Ok(Some(0xfffd)));
        assert_eq!(video_mode("vga=0x317 quiet"), Ok(Some(0x317)));
        assert_eq!(video_mode("vga=791"), Ok(Some(791)));
        assert_eq!(video_mode("quiet"), Ok(None));
        assert_eq!(
            video_mode("vga=bogus").unwrap_err().to_string(),
            "qemu: invalid 'vga=' kernel parameter."
        );
    }

    #[test]
    fn truncated_bzimage_is_an_invalid_header() {
        let image = bzimage();
        let (state, _) = boot(&image[..0x300], None, None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu: invalid kernel header"
        );
    }

    #[test]
    fn initrd_with_non_kernel() {
        let (state, _) = boot(b"myhost\n", Some(b"x"), None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu: linux kernel too old to load a ram disk"
        );
    }
}

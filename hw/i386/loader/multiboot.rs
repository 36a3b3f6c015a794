//! Multiboot (version 1) kernels: a header in the first 8 KiB, load
//! addresses from the header ("a.out kludge") or from the ELF program
//! headers, and the multiboot information laid out as QEMU 7.2 lays it
//! out: kernel, module descriptors, command lines and the boot loader
//! name in one page-aligned block from the load address, modules in the
//! pages after it, the information structure at 0x9500 and the memory
//! map at 0x9000 (where QEMU's multiboot option ROM builds it from the
//! BIOS's e820 table).

use std::path::Path;

use vm_memory::GuestMemoryMmap;

use super::{elf32, BootError, CpuEntryState, EntryMode, KernelBootConfig};
use crate::i386::memmap::{E820Entry, E820Type};

const HEADER_MAGIC: u32 = 0x1bad_b002;
/// What the kernel finds in %eax.
pub const BOOTLOADER_MAGIC: u32 = 0x2bad_b002;
/// The header must lie in the first 8 KiB; it is 48 bytes long.
const HEADER_SEARCH_END: usize = 8192 - 48;
const FLAG_AOUT_KLUDGE: u32 = 1 << 16;
const EM_X86_64: u16 = 62;

/// The memory map, 24 bytes per entry ({size = 20, base, length, type}).
pub const MMAP_ADDR: u64 = 0x9000;
/// `struct multiboot_info`.
pub const INFO_ADDR: u64 = 0x9500;
const BOOT_LOADER_NAME: &str = "qemu";
const MODULE_DESCRIPTOR_SIZE: u64 = 16;
const PAGE_SIZE: u64 = 4096;

/// multiboot_info flags QEMU sets: memory sizes, boot device, command
/// line, modules, memory map, boot loader name.
const INFO_FLAGS: u32 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9);
const BOOT_DEVICE: u32 = 0x8000_ffff;

/// The offset of a valid multiboot header, if the image has one.
pub fn find_header(image: &[u8]) -> Option<usize> {
    let word = |at: usize| -> Option<u32> {
        let b = image.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    (0..HEADER_SEARCH_END)
        .step_by(4)
        .find(|&at| match (word(at), word(at + 4), word(at + 8)) {
            (Some(magic), Some(flags), Some(checksum)) => {
                magic == HEADER_MAGIC && magic.wrapping_add(flags).wrapping_add(checksum) == 0
            }
            _ => false,
        })
}

fn page_align(n: u64) -> u64 {
    (n + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

fn error(message: &str) -> BootError {
    BootError::reported(message)
}

/// The kernel as loaded: where it starts, how much memory it covers
/// (bss included), its entry point.
struct LoadedKernel {
    load_addr: u32,
    size: u32,
    entry: u32,
}

/// Loads through the load addresses in the header.
fn load_aout_kludge(
    mem: &GuestMemoryMmap,
    image: &[u8],
    header: usize,
) -> Result<LoadedKernel, BootError> {
    let field = |n: usize| -> u32 {
        let at = header + 12 + 4 * n;
        image
            .get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (header_addr, load_addr, load_end_addr, bss_end_addr, entry) =
        (field(0), field(1), field(2), field(3), field(4));
    if header_addr < load_addr {
        return Err(error("invalid load_addr address"));
    }
    if (header_addr - load_addr) as usize > header {
        return Err(error("invalid header_addr address"));
    }
    let text_offset = header - (header_addr - load_addr) as usize;
    let load_size = if load_end_addr != 0 {
        if load_end_addr < load_addr {
            return Err(error("invalid load_end_addr address"));
        }
        load_end_addr - load_addr
    } else {
        if image.len() < text_offset {
            return Err(error("invalid kernel_file_size"));
        }
        (image.len() - text_offset) as u32
    };
    if load_size > u32::MAX - load_addr {
        return Err(error("kernel does not fit in address range"));
    }
    let size = if bss_end_addr != 0 {
        if bss_end_addr < load_addr + load_size {
            return Err(error("invalid bss_end_addr address"));
        }
        bss_end_addr - load_addr
    } else {
        load_size
    };
    let data = image
        .get(text_offset..text_offset + load_size as usize)
        .ok_or_else(|| error("fread() failed"))?;
    super::write_slice(mem, data, u64::from(load_addr))?;
    super::zero_fill(
        mem,
        u64::from(load_addr) + u64::from(load_size),
        u64::from(size - load_size),
    )?;
    Ok(LoadedKernel {
        load_addr,
        size,
        entry,
    })
}

/// Loads through the ELF program headers.
fn load_elf(mem: &GuestMemoryMmap, image: &[u8]) -> Result<LoadedKernel, BootError> {
    if elf32::machine(image) == Some(EM_X86_64) {
        return Err(error("Cannot load x86-64 image, give a 32bit one."));
    }
    let kernel = elf32::load(mem, image)?;
    let size = u32::try_from(kernel.high - kernel.low).map_err(|_| elf32::load_error())?;
    Ok(LoadedKernel {
        load_addr: kernel.low as u32,
        size,
        entry: kernel.entry,
    })
}

/// Splits QEMU's `-initrd` module list: modules separated by `,`, `,,`
/// standing for a comma inside a module's text.
fn split_modules(list: &str) -> Vec<String> {
    let mut modules = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ',' {
            current.push(c);
        } else if chars.peek() == Some(&',') {
            chars.next();
            current.push(',');
        } else {
            modules.push(std::mem::take(&mut current));
        }
    }
    modules.push(current);
    modules
}

/// Appends NUL-terminated strings to a region of guest memory.
struct StringArea {
    next: u64,
}

impl StringArea {
    fn push(&mut self, mem: &GuestMemoryMmap, s: &str) -> Result<u32, BootError> {
        let at = self.next;
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        super::write_slice(mem, &bytes, at)?;
        self.next += bytes.len() as u64;
        Ok(at as u32)
    }
}

pub fn load(
    mem: &GuestMemoryMmap,
    e820: &[E820Entry],
    image: &[u8],
    header: usize,
    config: &KernelBootConfig,
) -> Result<CpuEntryState, BootError> {
    let flags = u32::from_le_bytes(
        image
            .get(header + 4..header + 8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default(),
    );
    let kernel = if flags & FLAG_AOUT_KLUDGE != 0 {
        load_aout_kludge(mem, image, header)?
    } else {
        load_elf(mem, image)?
    };

    let kernel_name = config.kernel.display().to_string();
    let cmdline = config.cmdline.unwrap_or("");
    let module_list = config.initrd.map(|p| p.display().to_string());
    let modules = module_list
        .as_deref()
        .map(split_modules)
        .unwrap_or_default();

    // The block after the kernel: module descriptors, command lines
    // (modules' first, then the kernel's), the boot loader name.
    let base = u64::from(kernel.load_addr);
    let descriptors_offset = page_align(u64::from(kernel.size));
    let cmdlines_len = (kernel_name.len() + 1 + cmdline.len() + 1) as u64
        + module_list.as_ref().map_or(0, |l| l.len() as u64 + 1);
    let mut block_size = descriptors_offset
        + cmdlines_len
        + MODULE_DESCRIPTOR_SIZE * modules.len() as u64
        + BOOT_LOADER_NAME.len() as u64
        + 1;
    block_size = page_align(block_size);
    let mut strings = StringArea {
        next: base + descriptors_offset + MODULE_DESCRIPTOR_SIZE * modules.len() as u64,
    };
    let mut boot_loader_name = StringArea {
        next: strings.next + cmdlines_len,
    };

    for (index, module) in modules.iter().enumerate() {
        let cmdline_addr = strings.push(mem, module)?;
        let file = module.split(' ').next().unwrap_or("");
        let data = super::read_file_by_size(Path::new(file))
            .map_err(|_| error(&format!("Failed to open file '{file}'")))?;
        let start = base + block_size;
        super::write_slice(mem, &data, start)?;
        block_size = page_align(block_size + data.len() as u64);
        let descriptor = base + descriptors_offset + MODULE_DESCRIPTOR_SIZE * index as u64;
        super::write_obj(mem, start as u32, descriptor)?;
        super::write_obj(mem, (start + data.len() as u64) as u32, descriptor + 4)?;
        super::write_obj(mem, cmdline_addr, descriptor + 8)?;
        super::write_obj(mem, 0u32, descriptor + 12)?;
    }
    let kernel_cmdline = strings.push(mem, &format!("{kernel_name} {cmdline}"))?;
    let loader_name = boot_loader_name.push(mem, BOOT_LOADER_NAME)?;

    // The memory map ends where the information structure starts.
    let e820 = &e820[..e820.len().min(((INFO_ADDR - MMAP_ADDR) / 24) as usize)];
    for (i, e) in e820.iter().enumerate() {
        let at = MMAP_ADDR + 24 * i as u64;
        super::write_obj(mem, 20u32, at)?;
        super::write_obj(mem, e.addr, at + 4)?;
        super::write_obj(mem, e.size, at + 12)?;
        super::write_obj(mem, e.kind as u32, at + 20)?;
    }

    // Memory sizes in KiB as the guest finds them under QEMU: RAM below
    // the EBDA, and RAM from 1 MiB to the first hole.
    let ram_end_from = |start: u64| {
        e820.iter()
            .find(|e| e.kind == E820Type::Ram && e.addr == start)
            .map_or(0, E820Entry::end)
    };
    let mem_lower = ram_end_from(0) / 1024;
    let mem_upper = ram_end_from(1 << 20).saturating_sub(1 << 20) / 1024;

    let info: [(u64, u32); 10] = [
        (0, INFO_FLAGS),
        (4, mem_lower as u32),
        (8, mem_upper as u32),
        (12, BOOT_DEVICE),
        (16, kernel_cmdline),
        (20, modules.len() as u32),
        (24, (base + descriptors_offset) as u32),
        (44, (24 * e820.len()) as u32),
        (48, MMAP_ADDR as u32),
        (64, loader_name),
    ];
    super::write_slice(mem, &[0u8; 88], INFO_ADDR)?;
    for (offset, value) in info {
        super::write_obj(mem, value, INFO_ADDR + offset)?;
    }

    let mut state = CpuEntryState::new(EntryMode::Protected32Flat, u64::from(kernel.entry));
    state.rax = u64::from(BOOTLOADER_MAGIC);
    state.rbx = INFO_ADDR;
    Ok(state)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::i386::loader::test_support::*;
    use crate::i386::memmap::{e820_table, PcMachineKind};

    /// A flat multiboot kernel loaded at 1 MiB: header at offset 0,
    /// `code` after it, 0x1000 bytes of bss.
    pub fn aout_kludge_image() -> Vec<u8> {
        let flags = 0x3 | FLAG_AOUT_KLUDGE;
        let code = [0xf4u8, 0xeb, 0xfd];
        let load_end = 0x10_0000 + 32 + code.len() as u32;
        let mut f = Vec::new();
        for v in [
            HEADER_MAGIC,
            flags,
            0u32.wrapping_sub(HEADER_MAGIC.wrapping_add(flags)),
            0x10_0000,         // header_addr
            0x10_0000,         // load_addr
            load_end,          // load_end_addr
            load_end + 0x1000, // bss_end_addr
            0x10_0020,         // entry_addr
        ] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&code);
        f
    }

    #[test]
    fn information_as_qemu_lays_it_out() {
        let image = aout_kludge_image();
        let (mem, layout) = guest_memory();
        let kernel = TempFile::new("mb.bin", &image);
        let first = TempFile::new("initrd.bin", b"INITRD-DATA");
        let second = TempFile::new("mod2.bin", b"MOD2-DATA");
        let list = format!(
            "{} arg1 arg2,{}",
            first.path.display(),
            second.path.display()
        );
        let config = KernelBootConfig {
            kernel: &kernel.path,
            initrd: Some(std::path::Path::new(&list)),
            cmdline: Some("a b"),
        };
        let state = crate::i386::loader::load_kernel(&mem, &layout, &config).unwrap();
        assert_eq!(state.mode, EntryMode::Protected32Flat);
        assert_eq!(
            (state.rip, state.rax, state.rbx),
            (0x10_0020, 0x2bad_b002, 0x9500)
        );

        // What the guest printed under QEMU 7.2 (-M pc -m 128).
        assert_eq!(read_u32(&mem, 0x9500), 0x24f);
        assert_eq!(read_u32(&mem, 0x9504), 639);
        assert_eq!(read_u32(&mem, 0x9508), 0x1fb80);
        assert_eq!(read_u32(&mem, 0x950c), 0x8000_ffff);
        assert_eq!(
            read_cstr(&mem, read_u32(&mem, 0x9510).into()),
            format!("{} a b", kernel.path.display())
        );
        assert_eq!(read_cstr(&mem, read_u32(&mem, 0x9540).into()), "qemu");
        assert_eq!(read_u32(&mem, 0x9514), 2);
        let mods = u64::from(read_u32(&mem, 0x9518));
        assert_eq!(mods, 0x10_2000);
        // The flat image covers 0x1023 bytes: modules from 0x103000.
        assert_eq!(read_u32(&mem, mods), 0x10_3000);
        assert_eq!(read_u32(&mem, mods + 4), 0x10_300b);
        assert_eq!(read_cstr(&mem, 0x10_3000), "INITRD-DATA");
        assert_eq!(
            read_cstr(&mem, read_u32(&mem, mods + 8).into()),
            format!("{} arg1 arg2", first.path.display())
        );
        assert_eq!(read_u32(&mem, mods + 16), 0x10_4000);
        assert_eq!(read_u32(&mem, mods + 20), 0x10_4009);

        let table = e820_table(PcMachineKind::I440fx, RAM);
        assert_eq!(read_u32(&mem, 0x952c) as usize, 24 * table.len());
        assert_eq!(read_u32(&mem, 0x9530), 0x9000);
        for (i, e) in table.iter().enumerate() {
            let at = 0x9000 + 24 * i as u64;
            assert_eq!(read_u32(&mem, at), 20);
            assert_eq!(read_u64(&mem, at + 4), e.addr);
            assert_eq!(read_u64(&mem, at + 12), e.size);
            assert_eq!(read_u32(&mem, at + 20), e.kind as u32);
        }
    }

    #[test]
    fn module_list_syntax() {
        assert_eq!(split_modules("a arg,b"), vec!["a arg", "b"]);
        assert_eq!(split_modules("a x,,y,b"), vec!["a x,y", "b"]);
        assert_eq!(split_modules("a"), vec!["a"]);
    }

    #[test]
    fn missing_module() {
        let (mem, layout) = guest_memory();
        let kernel = TempFile::new("mb.bin", &aout_kludge_image());
        let config = KernelBootConfig {
            kernel: &kernel.path,
            initrd: Some(std::path::Path::new("/nonexist.img")),
            cmdline: None,
        };
        assert_eq!(
            crate::i386::loader::load_kernel(&mem, &layout, &config)
                .unwrap_err()
                .to_string(),
            "qemu-system-x86_64: Failed to open file '/nonexist.img'"
        );
    }

    #[test]
    fn truncated_image_fails_to_read() {
        let image = aout_kludge_image();
        let (state, _) = boot(&image[..33], None, None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu-system-x86_64: fread() failed"
        );
    }

    #[test]
    fn elf64_multiboot_kernel_is_refused() {
        let mut image = crate::i386::loader::elf32::tests::elf32_with(&[0xf4], false);
        image[18] = EM_X86_64 as u8;
        let flags = 0x3u32;
        let header_at = image.len().div_ceil(4) * 4;
        image.resize(header_at, 0);
        for v in [HEADER_MAGIC, flags, 0u32.wrapping_sub(HEADER_MAGIC + flags)] {
            image.extend_from_slice(&v.to_le_bytes());
        }
        let (state, _) = boot(&image, None, None);
        assert_eq!(
            state.unwrap_err().to_string(),
            "qemu-system-x86_64: Cannot load x86-64 image, give a 32bit one."
        );
    }
}

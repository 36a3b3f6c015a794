//! Direct kernel boot (`-kernel`, `-initrd`, `-append`): the Linux boot
//! protocol (bzImage), PVH ELF kernels and multiboot (version 1) kernels.
//!
//! QEMU hands the kernel to an option ROM that SeaBIOS runs; the guest
//! therefore starts with the state that ROM leaves. We boot without
//! firmware: each loader writes the kernel and its boot information into
//! guest memory where QEMU and its option ROMs put them, and returns the
//! CPU state to start in as plain data ([`CpuEntryState`]) for the
//! accelerator to apply. Loading again (on reset) rewrites everything.

mod elf32;
mod linux;
mod multiboot;
mod pvh;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};

use super::memmap::PcMemoryLayout;

/// The processor mode a kernel is entered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMode {
    /// 64-bit long mode: CR0.PE and CR0.PG, CR4.PAE, EFER.LME and
    /// EFER.LMA set, CR3 = [`CpuEntryState::cr3`] (identity-mapped page
    /// tables in guest memory), CS a 64-bit code segment.
    Long64,
    /// 32-bit protected mode with paging off: CR0.PE set, flat 4 GiB
    /// code and data segments (base 0, limit 0xffffffff).
    Protected32Flat,
}

/// Flat segment descriptors as they appear in the GDT the loader writes.
pub mod descriptor {
    /// 64-bit code, DPL 0, present, accessed.
    pub const CODE64: u64 = 0x00af_9b00_0000_ffff;
    /// 32-bit code, base 0, limit 4 GiB, DPL 0, present, accessed.
    pub const CODE32: u64 = 0x00cf_9b00_0000_ffff;
    /// Read/write data, base 0, limit 4 GiB, DPL 0, present, accessed.
    pub const DATA: u64 = 0x00cf_9300_0000_ffff;
}

/// Where the loaders write the GDT (four entries: null, unused, code,
/// data). Below the multiboot structures and the PVH start_info area.
pub const BOOT_GDT_ADDR: u64 = 0x500;
/// Selector of the code segment in the boot GDT (Linux's `__BOOT_CS`).
pub const BOOT_CODE_SELECTOR: u16 = 0x10;
/// Selector of the data segments in the boot GDT (Linux's `__BOOT_DS`).
pub const BOOT_DATA_SELECTOR: u16 = 0x18;

/// The state a vCPU starts a directly booted kernel in. Registers not
/// listed are those of a CPU after reset (zero, RFLAGS = 0x2: interrupts
/// off); segment registers are loaded from the GDT at `gdt_base`:
/// CS = [`BOOT_CODE_SELECTOR`] described by `code_descriptor`, DS, ES, FS,
/// GS and SS = [`BOOT_DATA_SELECTOR`] described by `data_descriptor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuEntryState {
    pub mode: EntryMode,
    pub rip: u64,
    pub rsp: u64,
    pub rax: u64,
    pub rbx: u64,
    pub rsi: u64,
    /// The page-table root for [`EntryMode::Long64`]; 0 otherwise.
    pub cr3: u64,
    /// GDTR: base and limit of the GDT written to guest memory.
    pub gdt_base: u64,
    pub gdt_limit: u16,
    pub code_selector: u16,
    pub code_descriptor: u64,
    pub data_selector: u16,
    pub data_descriptor: u64,
}

/// A segment register's hidden part, decoded from a GDT descriptor: what
/// an accelerator loads into the register along with the selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u32,
    /// The limit in bytes (granularity applied).
    pub limit: u32,
    /// Type field: 0xb for execute/read code (accessed), 0x3 for
    /// read/write data (accessed).
    pub type_: u8,
    /// Descriptor type: 1 for code or data.
    pub s: bool,
    pub dpl: u8,
    pub present: bool,
    pub avl: bool,
    /// 64-bit code segment.
    pub l: bool,
    /// Default operation size 32 bits.
    pub db: bool,
    /// Limit in 4 KiB units.
    pub g: bool,
}

impl Segment {
    pub fn from_descriptor(selector: u16, descriptor: u64) -> Self {
        let bit = |n: u32| descriptor & (1 << n) != 0;
        let base = ((descriptor >> 16) & 0xff_ffff) | ((descriptor >> 32) & 0xff00_0000);
        let raw_limit = (descriptor & 0xffff) | ((descriptor >> 32) & 0xf_0000);
        let g = bit(55);
        let limit = if g {
            (raw_limit << 12) | 0xfff
        } else {
            raw_limit
        };
        Segment {
            selector,
            base: base as u32,
            limit: limit as u32,
            type_: ((descriptor >> 40) & 0xf) as u8,
            s: bit(44),
            dpl: ((descriptor >> 45) & 0x3) as u8,
            present: bit(47),
            avl: bit(52),
            l: bit(53),
            db: bit(54),
            g,
        }
    }
}

/// CR0 bits the entry modes set.
const CR0_PE: u64 = 1 << 0;
const CR0_ET: u64 = 1 << 4;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

impl CpuEntryState {
    /// CR0, CR4 and EFER for the entry mode.
    pub fn control_registers(&self) -> (u64, u64, u64) {
        match self.mode {
            EntryMode::Long64 => (CR0_PE | CR0_ET | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA),
            EntryMode::Protected32Flat => (CR0_PE | CR0_ET, 0, 0),
        }
    }

    /// CS as the accelerator loads it.
    pub fn code_segment(&self) -> Segment {
        Segment::from_descriptor(self.code_selector, self.code_descriptor)
    }

    /// DS, ES, FS, GS and SS as the accelerator loads them.
    pub fn data_segment(&self) -> Segment {
        Segment::from_descriptor(self.data_selector, self.data_descriptor)
    }

    fn new(mode: EntryMode, rip: u64) -> Self {
        let code_descriptor = match mode {
            EntryMode::Long64 => descriptor::CODE64,
            EntryMode::Protected32Flat => descriptor::CODE32,
        };
        CpuEntryState {
            mode,
            rip,
            rsp: 0,
            rax: 0,
            rbx: 0,
            rsi: 0,
            cr3: 0,
            gdt_base: BOOT_GDT_ADDR,
            gdt_limit: 4 * 8 - 1,
            code_selector: BOOT_CODE_SELECTOR,
            code_descriptor,
            data_selector: BOOT_DATA_SELECTOR,
            data_descriptor: descriptor::DATA,
        }
    }

    /// Writes the GDT this state refers to into guest memory.
    fn write_gdt(&self, mem: &GuestMemoryMmap) -> Result<(), BootError> {
        let gdt: [u64; 4] = [0, 0, self.code_descriptor, self.data_descriptor];
        for (index, entry) in gdt.iter().enumerate() {
            write_obj(mem, *entry, self.gdt_base + 8 * index as u64)?;
        }
        Ok(())
    }
}

/// What to boot, as `-kernel`, `-initrd` and `-append` give it.
#[derive(Debug, Clone, Copy)]
pub struct KernelBootConfig<'a> {
    pub kernel: &'a Path,
    /// For multiboot kernels a comma-separated module list, each module a
    /// file name optionally followed by its arguments (`",,"` escapes a
    /// comma).
    pub initrd: Option<&'a Path>,
    /// `None` is an empty command line.
    pub cmdline: Option<&'a str>,
}

/// Why a kernel could not be loaded. `Display` gives QEMU 7.2's message,
/// which it prints as is (some with the `qemu-system-x86_64: ` prefix of
/// its error reporting, some with a bare `qemu: `): print it and exit
/// with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootError(String);

impl BootError {
    fn qemu(message: impl Into<String>) -> Self {
        BootError(format!("qemu: {}", message.into()))
    }

    fn reported(message: impl Into<String>) -> Self {
        BootError(format!("qemu-system-x86_64: {}", message.into()))
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BootError {}

/// The text `strerror()` gives for an I/O error, as QEMU prints it.
pub(crate) fn strerror(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            // std appends " (os error N)" to the C library's text.
            let text = io::Error::from_raw_os_error(code).to_string();
            match text.rfind(" (os error ") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
        None => err.to_string(),
    }
}

/// Reads the kernel file, with QEMU's messages when that fails.
fn read_kernel(path: &Path) -> Result<Vec<u8>, BootError> {
    let name = path.display();
    let file = File::open(path).map_err(|e| {
        BootError::qemu(format!(
            "could not open kernel file '{name}': {}",
            strerror(&e)
        ))
    })?;
    let empty = || {
        // QEMU measures the file by seeking to its end (devices measure
        // 0) and then reports the stale errno of its last failed call.
        BootError::qemu(format!(
            "could not load kernel '{name}': No such file or directory"
        ))
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size == 0 && !path.is_dir() {
        return Err(empty());
    }
    let mut image = Vec::new();
    file.take(size).read_to_end(&mut image).map_err(|e| {
        BootError::qemu(format!("could not load kernel '{name}': {}", strerror(&e)))
    })?;
    if image.is_empty() {
        return Err(empty());
    }
    Ok(image)
}

/// Reads as many bytes as the file's size says: a device (`/dev/zero`)
/// reads as empty, as QEMU measures files by their size.
fn read_file_by_size(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut data = Vec::new();
    file.take(size).read_to_end(&mut data)?;
    Ok(data)
}

/// Reads an initrd for the Linux and PVH protocols, with QEMU's message
/// (from GLib's file mapping) when that fails.
fn read_initrd(path: &Path) -> Result<Vec<u8>, BootError> {
    read_file_by_size(path).map_err(|e| {
        let name = path.display();
        BootError::qemu(format!(
            "error reading initrd {name}: Failed to open file \u{201c}{name}\u{201d}: open() failed: {}",
            strerror(&e)
        ))
    })
}

/// QEMU reserves this much at the top of RAM below 4 GiB for ACPI tables
/// when it places an initrd (`acpi_data_size` of the PC machines).
const ACPI_DATA_SIZE: u64 = 0x20000 + 0x8000;

/// QEMU's check that an initrd fits below `initrd_max`.
fn check_initrd_fits(initrd_max: u64, initrd_size: u64) -> Result<(), BootError> {
    if initrd_size >= initrd_max {
        return Err(BootError::qemu(format!(
            "initrd is too large, cannot support.(max: {initrd_max}, need {initrd_size})"
        )));
    }
    Ok(())
}

/// A write of boot data outside guest RAM. (QEMU registers such data as
/// ROM blobs and fails later, when it finds no RAM to copy them to.)
fn outside_ram(addr: u64) -> BootError {
    BootError::reported(format!("kernel does not fit in guest memory at {addr:#x}"))
}

fn write_slice(mem: &GuestMemoryMmap, data: &[u8], addr: u64) -> Result<(), BootError> {
    mem.write_slice(data, GuestAddress(addr))
        .map_err(|_| outside_ram(addr))
}

/// Zeroes `len` bytes of guest memory from `addr` (a kernel's bss).
fn zero_fill(mem: &GuestMemoryMmap, addr: u64, len: u64) -> Result<(), BootError> {
    const CHUNK: u64 = 64 * 1024;
    if len > 0 && !mem.check_range(GuestAddress(addr), len as usize, Permissions::Write) {
        return Err(outside_ram(addr));
    }
    let zeroes = [0u8; CHUNK as usize];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        write_slice(mem, &zeroes[..n as usize], addr + done)?;
        done += n;
    }
    Ok(())
}

fn write_obj<T: vm_memory::ByteValued>(
    mem: &GuestMemoryMmap,
    value: T,
    addr: u64,
) -> Result<(), BootError> {
    mem.write_obj(value, GuestAddress(addr))
        .map_err(|_| outside_ram(addr))
}

/// Loads the kernel (and initrd and command line) into guest memory and
/// returns the state to start the boot CPU in.
///
/// The format is detected in QEMU's order: a Linux setup header
/// (`HdrS` at 0x202) makes a bzImage; otherwise a multiboot header in the
/// first 8 KiB makes a multiboot kernel; otherwise an ELF file must carry
/// a PVH entry note; anything else is rejected as QEMU rejects it.
pub fn load_kernel(
    mem: &GuestMemoryMmap,
    layout: &PcMemoryLayout,
    config: &KernelBootConfig,
) -> Result<CpuEntryState, BootError> {
    let image = read_kernel(config.kernel)?;
    let e820 = layout.e820_table();
    let cmdline = config.cmdline.unwrap_or("");
    let state = if linux::is_linux_kernel(&image) {
        linux::load(mem, layout, &e820, &image, config.initrd, cmdline)?
    } else if let Some(header) = multiboot::find_header(&image) {
        multiboot::load(mem, &e820, &image, header, config)?
    } else if elf32::is_elf(&image) {
        pvh::load(mem, layout, &e820, &image, config.initrd, cmdline)?
    } else {
        return Err(linux::reject_non_kernel(&image, config.initrd.is_some()));
    };
    state.write_gdt(mem)?;
    Ok(state)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::i386::memmap::PcMachineKind;

    pub const RAM: u64 = 128 << 20;

    pub fn guest_memory() -> (GuestMemoryMmap, PcMemoryLayout) {
        let layout = PcMemoryLayout::new(PcMachineKind::I440fx, RAM);
        let regions: Vec<(GuestAddress, usize)> = layout
            .guest_ram_regions()
            .into_iter()
            .map(|(addr, size)| (addr, size as usize))
            .collect();
        (
            GuestMemoryMmap::from_ranges(&regions).expect("test memory"),
            layout,
        )
    }

    /// A file in a fresh temporary directory, removed on drop.
    pub struct TempFile {
        pub path: std::path::PathBuf,
    }

    impl TempFile {
        pub fn new(name: &str, contents: &[u8]) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "rqemu-loader-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path = dir.join(name);
            std::fs::write(&path, contents).expect("temp file");
            TempFile { path }
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    pub fn boot(
        kernel: &[u8],
        initrd: Option<&[u8]>,
        cmdline: Option<&str>,
    ) -> (Result<CpuEntryState, BootError>, GuestMemoryMmap) {
        let (mem, layout) = guest_memory();
        let kernel_file = TempFile::new("kernel", kernel);
        let initrd_file = initrd.map(|data| TempFile::new("initrd", data));
        let config = KernelBootConfig {
            kernel: &kernel_file.path,
            initrd: initrd_file.as_ref().map(|f| f.path.as_path()),
            cmdline,
        };
        (load_kernel(&mem, &layout, &config), mem)
    }

    pub fn read_u32(mem: &GuestMemoryMmap, addr: u64) -> u32 {
        mem.read_obj(GuestAddress(addr)).expect("guest read")
    }

    pub fn read_u64(mem: &GuestMemoryMmap, addr: u64) -> u64 {
        mem.read_obj(GuestAddress(addr)).expect("guest read")
    }

    pub fn read_cstr(mem: &GuestMemoryMmap, addr: u64) -> String {
        let mut bytes = Vec::new();
        let mut at = addr;
        loop {
            let b: u8 = mem.read_obj(GuestAddress(at)).expect("guest read");
            if b == 0 {
                break;
            }
            bytes.push(b);
            at += 1;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;

    #[test]
    fn segments_decode_from_the_gdt_descriptors() {
        let code64 = super::Segment::from_descriptor(0x10, super::descriptor::CODE64);
        assert_eq!(
            (
                code64.base,
                code64.limit,
                code64.type_,
                code64.l,
                code64.db,
                code64.g
            ),
            (0, 0xffff_ffff, 0xb, true, false, true)
        );
        let code32 = super::Segment::from_descriptor(0x10, super::descriptor::CODE32);
        assert_eq!(
            (code32.l, code32.db, code32.limit),
            (false, true, 0xffff_ffff)
        );
        let data = super::Segment::from_descriptor(0x18, super::descriptor::DATA);
        assert_eq!(
            (data.selector, data.type_, data.s, data.present, data.dpl),
            (0x18, 0x3, true, true, 0)
        );
    }

    /// On reset the machine loads the kernel again into the RAM the last
    /// run left behind: the boot data must come out the same.
    #[test]
    fn loading_again_restores_everything() {
        use vm_memory::{Bytes, GuestAddress};
        let kernels = [
            super::elf32::tests::pvh_elf32(),
            super::linux::tests::bzimage(),
            super::multiboot::tests::aout_kludge_image(),
        ];
        for image in kernels {
            let (mem, layout) = guest_memory();
            let kernel = TempFile::new("kernel", &image);
            let config = super::KernelBootConfig {
                kernel: &kernel.path,
                initrd: None,
                cmdline: Some("console=ttyS0"),
            };
            let first = super::load_kernel(&mem, &layout, &config).unwrap();
            let low = |mem: &super::GuestMemoryMmap| {
                let mut bytes = vec![0u8; 0x20_0000];
                mem.read_slice(&mut bytes, GuestAddress(0)).unwrap();
                bytes
            };
            let pristine = low(&mem);
            mem.write_slice(&vec![0xa5; 0x20_0000], GuestAddress(0))
                .unwrap();
            let second = super::load_kernel(&mem, &layout, &config).unwrap();
            assert_eq!(first, second);
            let reloaded = low(&mem);
            let boot_data = [first.rip, first.rbx, first.rsi, super::BOOT_GDT_ADDR];
            for at in boot_data.into_iter().filter(|&at| at != 0) {
                let at = at as usize;
                assert_eq!(reloaded[at..at + 16], pristine[at..at + 16], "at {at:#x}");
            }
        }
    }

    #[test]
    fn missing_kernel_file() {
        let (mem, layout) = guest_memory();
        let config = super::KernelBootConfig {
            kernel: std::path::Path::new("/nonexistent"),
            initrd: None,
            cmdline: None,
        };
        let err = super::load_kernel(&mem, &layout, &config).unwrap_err();
        assert_eq!(
            err.to_string(),
            "qemu: could not open kernel file '/nonexistent': No such file or directory"
        );
    }

    #[test]
    fn directory_as_kernel() {
        let (mem, layout) = guest_memory();
        let config = super::KernelBootConfig {
            kernel: std::path::Path::new("/tmp"),
            initrd: None,
            cmdline: None,
        };
        let err = super::load_kernel(&mem, &layout, &config).unwrap_err();
        assert_eq!(
            err.to_string(),
            "qemu: could not load kernel '/tmp': Is a directory"
        );
    }

    #[test]
    fn device_as_kernel() {
        let (mem, layout) = guest_memory();
        for device in ["/dev/zero", "/dev/null"] {
            let config = super::KernelBootConfig {
                kernel: std::path::Path::new(device),
                initrd: None,
                cmdline: None,
            };
            let err = super::load_kernel(&mem, &layout, &config).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("qemu: could not load kernel '{device}': No such file or directory")
            );
        }
    }

    #[test]
    fn empty_kernel_file() {
        let (result, _) = boot(b"", None, None);
        let err = result.unwrap_err().to_string();
        assert!(err.starts_with("qemu: could not load kernel '"), "{err}");
        assert!(err.ends_with("': No such file or directory"), "{err}");
    }

    #[test]
    fn text_file_is_an_invalid_kernel_header() {
        let (result, _) = boot(b"myhost\n", None, None);
        assert_eq!(
            result.unwrap_err().to_string(),
            "qemu: invalid kernel header"
        );
    }

    /// Garbage and truncated images of every format are rejected or
    /// loaded, never a panic.
    #[test]
    fn malformed_images_do_not_panic() {
        let mut seed = 0x1234_5678_u32;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect()
        };
        let mut images: Vec<Vec<u8>> = vec![
            b"\x7fELF".to_vec(),
            b"\x7fELF\x01\x01\x01".to_vec(),
            b"\x7fELF\x02\x01\x01".to_vec(),
        ];
        for size in [1, 100, 600, 0x1f1, 0x260, 4096, 9000] {
            images.push(noise(size));
        }
        for base in [
            super::elf32::tests::pvh_elf32(),
            super::linux::tests::bzimage(),
            super::multiboot::tests::aout_kludge_image(),
        ] {
            for cut in [
                4,
                16,
                52,
                60,
                84,
                0x1f1,
                0x203,
                0x210,
                0x400,
                base.len() - 1,
            ] {
                if cut < base.len() {
                    images.push(base[..cut].to_vec());
                }
            }
            // Flip bytes in the headers.
            for at in (0..base.len().min(0x300)).step_by(7) {
                let mut corrupted = base.clone();
                corrupted[at] ^= 0xa5;
                images.push(corrupted);
            }
        }
        for image in images {
            let _ = boot(&image, None, Some("x"));
            let _ = boot(&image, Some(b"initrd"), None);
        }
    }
}

//! A small ELF32 loader (linux-loader reads ELF64 only): loads the
//! `PT_LOAD` segments at their physical addresses and finds the PVH entry
//! note, for 32-bit PVH and multiboot kernels.

use vm_memory::GuestMemoryMmap;

use super::BootError;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EM_386: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const EHDR_SIZE: usize = 52;
const PHDR_SIZE: usize = 32;
/// Xen's note carrying the 32-bit PVH entry point.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

pub fn is_elf(image: &[u8]) -> bool {
    image.starts_with(ELF_MAGIC)
}

/// The ELF class byte, if the image is long enough to have one.
pub fn is_elf64(image: &[u8]) -> bool {
    image.get(4) == Some(&ELFCLASS64)
}

/// The `e_machine` field (same offset in ELF32 and ELF64).
pub fn machine(image: &[u8]) -> Option<u16> {
    read_u16(image, 18)
}

/// What loading an ELF32 file gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elf32Kernel {
    pub entry: u32,
    /// Lowest and highest (exclusive) physical address of the segments.
    pub low: u64,
    pub high: u64,
    /// The PVH entry point, if the file has the note.
    pub pvh_entry: Option<u32>,
}

/// QEMU's message for any ELF file it cannot load.
pub fn load_error() -> BootError {
    BootError::reported("Error while loading elf kernel")
}

fn read_u16(image: &[u8], at: usize) -> Option<u16> {
    let bytes = image.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([bytes[0], bytes[1]]))
}

fn read_u32(image: &[u8], at: usize) -> Option<u32> {
    let bytes = image.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

struct ProgramHeader {
    kind: u32,
    offset: usize,
    paddr: u64,
    filesz: usize,
    memsz: u64,
}

fn program_headers(image: &[u8]) -> Option<Vec<ProgramHeader>> {
    if image.len() < EHDR_SIZE
        || !is_elf(image)
        || image[4] != ELFCLASS32
        || image[5] != ELFDATA2LSB
        || !matches!(machine(image)?, EM_386 | EM_X86_64)
    {
        return None;
    }
    let phoff = read_u32(image, 28)? as usize;
    let phentsize = read_u16(image, 42)? as usize;
    let phnum = read_u16(image, 44)? as usize;
    if phentsize < PHDR_SIZE {
        return None;
    }
    (0..phnum)
        .map(|i| {
            let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
            Some(ProgramHeader {
                kind: read_u32(image, at)?,
                offset: read_u32(image, at + 4)? as usize,
                paddr: u64::from(read_u32(image, at + 12)?),
                filesz: read_u32(image, at + 16)? as usize,
                memsz: u64::from(read_u32(image, at + 20)?),
            })
        })
        .collect()
}

/// Finds the PVH entry note among the notes in `notes`.
fn find_pvh_entry(notes: &[u8]) -> Option<u32> {
    let align4 = |n: usize| n.checked_add(3).map(|n| n & !3);
    let mut at = 0;
    while at + 12 <= notes.len() {
        let namesz = read_u32(notes, at)? as usize;
        let descsz = read_u32(notes, at + 4)? as usize;
        let kind = read_u32(notes, at + 8)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(align4(namesz)?)?;
        let name = notes.get(name_at..name_at.checked_add(namesz)?)?;
        if kind == XEN_ELFNOTE_PHYS32_ENTRY && name == b"Xen\0" && descsz >= 4 {
            return read_u32(notes, desc_at);
        }
        at = desc_at.checked_add(align4(descsz)?)?;
    }
    None
}

/// Loads an ELF32 x86 file into guest memory.
pub fn load(mem: &GuestMemoryMmap, image: &[u8]) -> Result<Elf32Kernel, BootError> {
    let headers = program_headers(image).ok_or_else(load_error)?;
    let entry = read_u32(image, 24).ok_or_else(load_error)?;
    let mut low = u64::MAX;
    let mut high = 0;
    let mut pvh_entry = None;
    for ph in &headers {
        let data = ph
            .offset
            .checked_add(ph.filesz)
            .and_then(|end| image.get(ph.offset..end))
            .ok_or_else(load_error)?;
        match ph.kind {
            PT_LOAD => {
                if (ph.filesz as u64) > ph.memsz {
                    return Err(load_error());
                }
                super::write_slice(mem, data, ph.paddr).map_err(|_| load_error())?;
                super::zero_fill(
                    mem,
                    ph.paddr + ph.filesz as u64,
                    ph.memsz - ph.filesz as u64,
                )
                .map_err(|_| load_error())?;
                low = low.min(ph.paddr);
                high = high.max(ph.paddr + ph.memsz);
            }
            PT_NOTE => pvh_entry = pvh_entry.or_else(|| find_pvh_entry(data)),
            _ => {}
        }
    }
    if low > high {
        return Err(load_error());
    }
    Ok(Elf32Kernel {
        entry,
        low,
        high,
        pvh_entry,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::i386::loader::test_support::{self, guest_memory};

    /// A minimal ELF32 PVH kernel: one PT_LOAD segment at 1 MiB holding
    /// `code` (plus 0x100 bytes of bss) and one PT_NOTE with the entry.
    pub fn elf32_with(code: &[u8], note: bool) -> Vec<u8> {
        let phnum: u16 = if note { 2 } else { 1 };
        let code_off = EHDR_SIZE + PHDR_SIZE * phnum as usize;
        let note_off = code_off + code.len();
        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF\x01\x01\x01");
        f.resize(16, 0);
        f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f.extend_from_slice(&EM_386.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0x10_0000u32.to_le_bytes()); // e_entry
        f.extend_from_slice(&(EHDR_SIZE as u32).to_le_bytes()); // e_phoff
        f.extend_from_slice(&0u32.to_le_bytes()); // e_shoff
        f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        f.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        f.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        f.extend_from_slice(&phnum.to_le_bytes());
        f.extend_from_slice(&[0; 6]);
        let phdr = |f: &mut Vec<u8>, kind: u32, off: usize, addr: u32, filesz: usize, memsz| {
            for v in [kind, off as u32, addr, addr, filesz as u32, memsz, 7, 4] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        };
        phdr(
            &mut f,
            PT_LOAD,
            code_off,
            0x10_0000,
            code.len(),
            code.len() as u32 + 0x100,
        );
        if note {
            phdr(&mut f, PT_NOTE, note_off, 0, 20, 20);
        }
        f.extend_from_slice(code);
        if note {
            for v in [4u32, 4, XEN_ELFNOTE_PHYS32_ENTRY] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend_from_slice(b"Xen\0");
            f.extend_from_slice(&0x10_0004u32.to_le_bytes());
        }
        f
    }

    pub fn pvh_elf32() -> Vec<u8> {
        elf32_with(&[0x90, 0x90, 0x90, 0x90, 0xf4, 0xeb, 0xfd], true)
    }

    #[test]
    fn loads_segments_and_finds_the_note() {
        let (mem, _) = guest_memory();
        let kernel = load(&mem, &pvh_elf32()).unwrap();
        assert_eq!(
            kernel,
            Elf32Kernel {
                entry: 0x10_0000,
                low: 0x10_0000,
                high: 0x10_0000 + 7 + 0x100,
                pvh_entry: Some(0x10_0004),
            }
        );
        assert_eq!(test_support::read_u32(&mem, 0x10_0000), 0x9090_9090);
    }

    #[test]
    fn note_is_optional() {
        let (mem, _) = guest_memory();
        let kernel = load(&mem, &elf32_with(&[0xf4], false)).unwrap();
        assert_eq!(kernel.pvh_entry, None);
    }

    #[test]
    fn segment_outside_ram_is_an_error() {
        let (mem, _) = guest_memory();
        let mut image = pvh_elf32();
        // p_paddr of the first program header = 0xf0000000 (no RAM there).
        image[EHDR_SIZE + 12..EHDR_SIZE + 16].copy_from_slice(&0xf000_0000u32.to_le_bytes());
        assert_eq!(load(&mem, &image), Err(load_error()));
    }
}

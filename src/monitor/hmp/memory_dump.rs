//! `x` and `xp`: guest memory dumps in QEMU's format (monitor's
//! memory_dump), and the guest page-table walk `x` translates through
//! (QEMU's x86 get_phys_page_debug).

use std::fmt::Write;

use kvm_bindings::kvm_sregs;

use super::parse::DumpFormat;

const PAGE_SIZE: u64 = 4096;
const PG_PRESENT: u64 = 1;
const PG_PSE: u64 = 1 << 7;
const PG_ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;
const CR0_PG: u64 = 1 << 31;
const CR4_PSE: u64 = 1 << 4;
const CR4_PAE: u64 = 1 << 5;
const CR4_LA57: u64 = 1 << 12;
const EFER_LMA: u64 = 1 << 10;

/// Guest physical memory as the monitor reads it.
pub trait PhysicalMemory {
    /// Fills `buf` from `addr`; false where nothing is mapped.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;

    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0; 8];
        self.read(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    fn read_u32(&self, addr: u64) -> Option<u64> {
        let mut b = [0; 4];
        self.read(addr, &mut b)
            .then(|| u64::from(u32::from_le_bytes(b)))
    }
}

/// Where a virtual address is in physical memory for a CPU with the
/// control registers of `sregs`; `None` when it is not mapped.
pub fn translate(mem: &dyn PhysicalMemory, sregs: &kvm_sregs, addr: u64) -> Option<u64> {
    let present = |entry: u64| (entry & PG_PRESENT != 0).then_some(entry);
    let (pte, page_size) = if sregs.cr0 & CR0_PG == 0 {
        (addr, PAGE_SIZE)
    } else if sregs.cr4 & CR4_PAE != 0 {
        let pdpe = if sregs.efer & EFER_LMA != 0 {
            let la57 = sregs.cr4 & CR4_LA57 != 0;
            let sext = if la57 {
                (addr as i64) >> 56
            } else {
                (addr as i64) >> 47
            };
            if sext != 0 && sext != -1 {
                return None;
            }
            let pml5e = if la57 {
                present(mem.read_u64((sregs.cr3 & !0xfff) + (((addr >> 48) & 0x1ff) << 3))?)?
            } else {
                sregs.cr3
            };
            let pml4e =
                present(mem.read_u64((pml5e & PG_ADDRESS_MASK) + (((addr >> 39) & 0x1ff) << 3))?)?;
            let pdpe =
                present(mem.read_u64((pml4e & PG_ADDRESS_MASK) + (((addr >> 30) & 0x1ff) << 3))?)?;
            if pdpe & PG_PSE != 0 {
                return Some(finish(pdpe, 1 << 30, addr));
            }
            pdpe
        } else {
            present(mem.read_u64((sregs.cr3 & !0x1f) + ((addr >> 27) & 0x18))?)?
        };
        let pde = present(mem.read_u64((pdpe & PG_ADDRESS_MASK) + (((addr >> 21) & 0x1ff) << 3))?)?;
        if pde & PG_PSE != 0 {
            (pde, 2 << 20)
        } else {
            let pte = mem.read_u64((pde & PG_ADDRESS_MASK) + (((addr >> 12) & 0x1ff) << 3))?;
            (present(pte)?, PAGE_SIZE)
        }
    } else {
        let pde = present(mem.read_u32((sregs.cr3 & !0xfff) + ((addr >> 20) & 0xffc))?)?;
        if pde & PG_PSE != 0 && sregs.cr4 & CR4_PSE != 0 {
            // PSE-36: bits 13-20 of the entry are address bits 32-39.
            (pde | ((pde & 0x1f_e000) << 19), 4 << 20)
        } else {
            let pte = mem.read_u32((pde & !0xfff) + ((addr >> 10) & 0xffc))?;
            (present(pte)?, PAGE_SIZE)
        }
    };
    Some(finish(pte, page_size, addr))
}

/// The physical address of `addr` in the page `entry` maps.
fn finish(entry: u64, page_size: u64, addr: u64) -> u64 {
    let frame = entry & PG_ADDRESS_MASK & !(page_size - 1);
    frame | (addr & !(PAGE_SIZE - 1) & (page_size - 1)) | (addr & (PAGE_SIZE - 1))
}

/// Reads virtual memory page by page; false if a page is not mapped.
fn read_virtual(mem: &dyn PhysicalMemory, sregs: &kvm_sregs, addr: u64, buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let va = addr.wrapping_add(done as u64);
        let in_page = (PAGE_SIZE - (va & (PAGE_SIZE - 1))) as usize;
        let len = in_page.min(buf.len() - done);
        match translate(mem, sregs, va) {
            Some(pa) if mem.read(pa, &mut buf[done..done + len]) => done += len,
            _ => return false,
        }
    }
    true
}

/// A character as QEMU's monitor prints it: quoted, C escapes.
fn quoted_char(out: &mut String, c: u8) {
    match c {
        b'\'' => out.push_str("'\\''"),
        b'\\' => out.push_str("'\\\\'"),
        b'\n' => out.push_str("'\\n'"),
        b'\r' => out.push_str("'\\r'"),
        32..=126 => {
            let _ = write!(out, "'{}'", char::from(c));
        }
        _ => {
            let _ = write!(out, "'\\x{c:02x}'");
        }
    }
}

/// The dump of `x` (`sregs` given: virtual addresses) or `xp`.
pub fn dump(
    mem: &dyn PhysicalMemory,
    sregs: Option<&kvm_sregs>,
    format: DumpFormat,
    mut addr: u64,
) -> String {
    let mut out = String::new();
    if format.format == b'i' {
        // There is no disassembler here.
        let _ = writeln!(out, "0x{addr:08x}: Asm output not supported on this arch");
        return out;
    }
    let mut size = u64::from(format.size.unwrap_or(4));
    let mut len = i64::from(size as i32).wrapping_mul(format.count);
    let line_size = if size == 1 { 8 } else { 16 };
    let digits = match format.format {
        b'o' => (size * 8).div_ceil(3) as usize,
        b'u' | b'd' => (size * 8 * 10).div_ceil(33) as usize,
        b'c' => {
            size = 1;
            0
        }
        _ => (size * 8 / 4) as usize,
    };
    let mut buf = [0u8; 16];
    while len > 0 {
        let _ = write!(out, "{addr:016x}:");
        let l = len.min(line_size) as usize;
        let ok = match sregs {
            Some(sregs) => read_virtual(mem, sregs, addr, &mut buf[..l]),
            None => mem.read(addr, &mut buf[..l]),
        };
        if !ok {
            out.push_str(" Cannot access memory\n");
            break;
        }
        for unit in buf[..l].chunks(size as usize) {
            let mut bytes = [0u8; 8];
            bytes[..unit.len()].copy_from_slice(unit);
            let v = u64::from_le_bytes(bytes);
            out.push(' ');
            match format.format {
                b'o' if v == 0 => {
                    let _ = write!(out, "{:>digits$}", 0);
                }
                b'o' => {
                    let _ = write!(out, "{:>digits$}", format!("0{v:o}"));
                }
                b'u' => {
                    let _ = write!(out, "{v:digits$}");
                }
                b'd' => {
                    let _ = write!(out, "{:digits$}", v as i64);
                }
                b'c' => quoted_char(&mut out, v as u8),
                _ => {
                    let _ = write!(out, "0x{v:0digits$x}");
                }
            }
        }
        out.push('\n');
        addr = addr.wrapping_add(l as u64);
        len -= l as i64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 64 KiB of RAM from address 0.
    struct Ram(Vec<u8>);

    impl PhysicalMemory for Ram {
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            let start = addr as usize;
            match self.0.get(start..start + buf.len()) {
                Some(src) => {
                    buf.copy_from_slice(src);
                    true
                }
                None => false,
            }
        }
    }

    fn ram() -> Ram {
        Ram((0..0x10000u32).map(|i| i as u8).collect())
    }

    fn fmt(count: i64, format: u8, size: u8) -> DumpFormat {
        DumpFormat {
            count,
            format,
            size: Some(size),
        }
    }

    #[test]
    fn formats_as_qemu() {
        let mem = ram();
        assert_eq!(
            dump(&mem, None, fmt(4, b'x', 4), 0x10),
            "0000000000000010: 0x13121110 0x17161514 0x1b1a1918 0x1f1e1d1c\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(3, b'x', 1), 0x0),
            "0000000000000000: 0x00 0x01 0x02\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(2, b'd', 2), 0xfe),
            "00000000000000fe: 65534   256\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(2, b'o', 1), 0x0),
            "0000000000000000:   0  01\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(3, b'c', 4), 0x26),
            "0000000000000026: '&' '\\'' '(' ')' '*' '+' ',' '-' '.' '/' '0' '1'\n",
            "/3cw: the count is in words, printed as characters, as QEMU does"
        );
        assert_eq!(
            dump(&mem, None, fmt(3, b'x', 8), 0xfff0),
            "000000000000fff0: 0xf7f6f5f4f3f2f1f0 0xfffefdfcfbfaf9f8\n\
             0000000000010000: Cannot access memory\n"
        );
    }

    #[test]
    fn page_walk_four_levels() {
        // PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000:
        // virtual 0x40_0000_5000 -> physical 0x8000 (4K page), and a 2M
        // page at virtual 0x20_0000.
        let mut mem = ram();
        let mut put = |at: usize, v: u64| mem.0[at..at + 8].copy_from_slice(&v.to_le_bytes());
        put(0x1000, 0x2003);
        put(0x2000 + 8, 0x3003);
        put(0x2000, 0x5003);
        put(0x3000, 0x4003);
        put(0x4000 + 5 * 8, 0x8003);
        put(0x5000 + 8, 0x0083);
        let sregs = kvm_sregs {
            cr0: CR0_PG | 1,
            cr3: 0x1000,
            cr4: CR4_PAE,
            efer: EFER_LMA | (1 << 8),
            ..Default::default()
        };
        assert_eq!(translate(&mem, &sregs, 0x4000_5123), Some(0x8123));
        assert_eq!(translate(&mem, &sregs, 0x20_1234), Some(0x1234));
        assert_eq!(translate(&mem, &sregs, 0x4000_6000), None);
        assert_eq!(
            translate(&mem, &sregs, 0x8000_0000_0000),
            None,
            "not canonical"
        );
    }
}

//! The x86 guest page-table walk (QEMU's x86 get_phys_page_debug): how a
//! debugger (the monitor's `x`, QMP's `memsave`) finds the physical
//! address of a virtual one, for a CPU's control registers.

use kvm_bindings::kvm_sregs;

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
pub fn read_virtual(
    mem: &dyn PhysicalMemory,
    sregs: &kvm_sregs,
    addr: u64,
    buf: &mut [u8],
) -> bool {
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

/// Guest memory for tests of what reads it.
#[cfg(test)]
pub mod testing {
    use super::PhysicalMemory;

    /// 64 KiB of RAM from address 0, each byte its address's low byte.
    pub struct Ram(pub Vec<u8>);

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

    pub fn ram() -> Ram {
        Ram((0..0x10000u32).map(|i| i as u8).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::ram;
    use super::*;

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

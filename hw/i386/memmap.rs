//! The PC memory map: how guest RAM is split around the 32-bit PCI hole,
//! and the e820 table a guest is given.
//!
//! QEMU boots `-kernel` through SeaBIOS, so what a guest sees is SeaBIOS's
//! e820 table. SeaBIOS starts from QEMU's list (RAM below and above 4 GiB,
//! the KVM identity-map pages, the AMD HyperTransport window) and adds its
//! own reservations: the EBDA, the BIOS segment, the part of its high
//! allocation zone it keeps at the top of low RAM, the flash mapping below
//! 4 GiB and, on q35, the MMCONFIG window and the chipset's root complex
//! register block. We boot without firmware, but the guest must find the
//! same table, so it is computed here rule by rule.

use vm_memory::GuestAddress;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Where RAM above the 32-bit PCI hole starts.
pub const ABOVE_4G_MEM_START: u64 = 4 * GIB;

/// The two PC machine families; they split RAM differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcMachineKind {
    /// `pc-i440fx-*` (`-M pc`).
    I440fx,
    /// `pc-q35-*` (`-M q35`).
    Q35,
}

/// The type field of an e820 entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum E820Type {
    Ram = 1,
    Reserved = 2,
}

/// One e820 entry: `[addr, addr + size)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    pub addr: u64,
    pub size: u64,
    pub kind: E820Type,
}

impl E820Entry {
    fn new(addr: u64, end: u64, kind: E820Type) -> Self {
        E820Entry {
            addr,
            size: end - addr,
            kind,
        }
    }

    /// The first address past the entry.
    pub fn end(&self) -> u64 {
        self.addr + self.size
    }
}

/// The processor properties that change the memory map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuAddressing {
    /// The CPU reports the AMD vendor (the default `qemu64` model does).
    pub amd_vendor: bool,
    /// Physical address bits (`phys-bits`; 40 for the default model).
    pub phys_bits: u8,
}

impl Default for CpuAddressing {
    /// `qemu64`, the default CPU model: AMD vendor, 40 physical address bits.
    fn default() -> Self {
        CpuAddressing {
            amd_vendor: true,
            phys_bits: 40,
        }
    }
}

/// Start of the Extended BIOS Data Area SeaBIOS keeps at the top of
/// conventional memory.
const EBDA_START: u64 = 0x9fc00;
const CONVENTIONAL_MEMORY_END: u64 = 0xa0000;
/// The BIOS segment (0xf0000-0xfffff).
const BIOS_SEGMENT: u64 = 0xf0000;
const HIGH_MEMORY_START: u64 = MIB;
/// What SeaBIOS keeps of its 256 KiB high allocation zone at the top of
/// RAM below 4 GiB once it has handed the unused part back as RAM.
const FIRMWARE_HIGH_ZONE_SIZE: u64 = 128 * KIB;
/// q35's PCI Express MMCONFIG window (256 buses).
const Q35_MMCONFIG_BASE: u64 = 0xb000_0000;
const Q35_MMCONFIG_SIZE: u64 = 256 * MIB;
/// ICH9 root complex register block.
const Q35_RCRB_BASE: u64 = 0xfed1_c000;
const Q35_RCRB_SIZE: u64 = 16 * KIB;
/// KVM's EPT identity map page and TSS (four pages below the BIOS flash).
pub const KVM_IDENTITY_MAP_ADDR: u64 = 0xfeff_c000;
pub const KVM_IDENTITY_MAP_SIZE: u64 = 16 * KIB;
/// The BIOS flash mapping just below 4 GiB (SeaBIOS is 256 KiB).
const BIOS_FLASH_START: u64 = 0xfffc_0000;
/// The AMD HyperTransport window below 1 TiB, reserved for AMD CPUs whose
/// address space reaches it.
pub const AMD_HT_START: u64 = 0xfd_0000_0000;
pub const AMD_HT_END: u64 = 1 << 40;

/// A part of the machine's RAM block mapped into the address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamAlias {
    /// QEMU's name for the alias region.
    pub name: &'static str,
    /// Guest physical address.
    pub addr: u64,
    /// Where the part starts in the RAM block.
    pub offset: u64,
    pub size: u64,
}

/// How a PC machine lays its RAM out, as QEMU 7.2's `pc_init1` (i440fx) and
/// `pc_q35_init` compute it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcMemoryLayout {
    pub kind: PcMachineKind,
    pub ram_size: u64,
    /// RAM mapped from address 0 up.
    pub below_4g_mem_size: u64,
    /// RAM mapped from [`ABOVE_4G_MEM_START`] up.
    pub above_4g_mem_size: u64,
    /// The CPU's view of the address space (the default CPU model's
    /// unless [`PcMemoryLayout::with_cpu`] says otherwise).
    pub cpu: CpuAddressing,
}

impl PcMemoryLayout {
    /// Splits `ram_size` bytes of RAM around the PCI hole.
    ///
    /// i440fx keeps up to 0xe0000000 below 4 GiB; when the RAM does not fit
    /// there, the split moves down to a gigabyte boundary (0xc0000000) so
    /// that large pages can map all of it. q35 keeps up to 0xb0000000 below
    /// 4 GiB (its MMCONFIG window starts there), or 2 GiB when the RAM does
    /// not fit under 0xb0000000.
    ///
    /// QEMU 7.2 would move RAM above 4 GiB to 1 TiB on AMD CPUs whose
    /// address space crosses the HyperTransport window; with the default
    /// 40 physical address bits such a machine does not fit at all, so that
    /// case is not modelled.
    pub fn new(kind: PcMachineKind, ram_size: u64) -> Self {
        let lowmem = match kind {
            PcMachineKind::I440fx if ram_size >= 0xe000_0000 => 0xc000_0000,
            PcMachineKind::I440fx => 0xe000_0000,
            PcMachineKind::Q35 if ram_size >= 0xb000_0000 => 0x8000_0000,
            PcMachineKind::Q35 => 0xb000_0000,
        };
        let below_4g_mem_size = ram_size.min(lowmem);
        PcMemoryLayout {
            kind,
            ram_size,
            below_4g_mem_size,
            above_4g_mem_size: ram_size - below_4g_mem_size,
            cpu: CpuAddressing::default(),
        }
    }

    /// The same layout for a machine whose CPU model is `cpu`.
    pub fn with_cpu(self, cpu: CpuAddressing) -> Self {
        PcMemoryLayout { cpu, ..self }
    }

    /// Where the machine's RAM block shows in the address space: QEMU's
    /// `ram-below-4g` alias of its start and, when there is more RAM, the
    /// `ram-above-4g` alias of the rest.
    pub fn ram_aliases(&self) -> Vec<RamAlias> {
        let mut aliases = vec![RamAlias {
            name: "ram-below-4g",
            addr: 0,
            offset: 0,
            size: self.below_4g_mem_size,
        }];
        if self.above_4g_mem_size > 0 {
            aliases.push(RamAlias {
                name: "ram-above-4g",
                addr: ABOVE_4G_MEM_START,
                offset: self.below_4g_mem_size,
                size: self.above_4g_mem_size,
            });
        }
        aliases
    }

    /// The guest RAM blocks to map: `(guest address, size)`, lowest first,
    /// each the next part of the RAM block.
    pub fn guest_ram_regions(&self) -> Vec<(GuestAddress, u64)> {
        self.ram_aliases()
            .iter()
            .map(|alias| (GuestAddress(alias.addr), alias.size))
            .collect()
    }

    /// The e820 table a guest finds, sorted by address (see the module
    /// documentation for where each entry comes from).
    pub fn e820_table(&self) -> Vec<E820Entry> {
        use E820Type::{Ram, Reserved};
        let low_end = self.below_4g_mem_size;
        let mut table = vec![
            E820Entry::new(0, EBDA_START.min(low_end), Ram),
            E820Entry::new(EBDA_START, CONVENTIONAL_MEMORY_END, Reserved),
            E820Entry::new(BIOS_SEGMENT, HIGH_MEMORY_START, Reserved),
        ];
        let high_zone_start = low_end.saturating_sub(FIRMWARE_HIGH_ZONE_SIZE);
        if high_zone_start > HIGH_MEMORY_START {
            table.push(E820Entry::new(HIGH_MEMORY_START, high_zone_start, Ram));
            table.push(E820Entry::new(high_zone_start, low_end, Reserved));
        }
        if self.kind == PcMachineKind::Q35 {
            table.push(E820Entry::new(
                Q35_MMCONFIG_BASE,
                Q35_MMCONFIG_BASE + Q35_MMCONFIG_SIZE,
                Reserved,
            ));
            table.push(E820Entry::new(
                Q35_RCRB_BASE,
                Q35_RCRB_BASE + Q35_RCRB_SIZE,
                Reserved,
            ));
        }
        table.push(E820Entry::new(
            KVM_IDENTITY_MAP_ADDR,
            KVM_IDENTITY_MAP_ADDR + KVM_IDENTITY_MAP_SIZE,
            Reserved,
        ));
        table.push(E820Entry::new(BIOS_FLASH_START, 4 * GIB, Reserved));
        if self.above_4g_mem_size > 0 {
            table.push(E820Entry::new(
                ABOVE_4G_MEM_START,
                ABOVE_4G_MEM_START + self.above_4g_mem_size,
                Ram,
            ));
        }
        if self.cpu.amd_vendor && self.cpu.phys_bits >= 40 {
            table.push(E820Entry::new(AMD_HT_START, AMD_HT_END, Reserved));
        }
        table.retain(|entry| entry.size > 0);
        table
    }
}

/// The e820 table of a machine with the default CPU model (`qemu64`).
pub fn e820_table(kind: PcMachineKind, ram_size: u64) -> Vec<E820Entry> {
    PcMemoryLayout::new(kind, ram_size).e820_table()
}

/// The guest RAM blocks of a machine: `(guest address, size)`.
pub fn guest_ram_regions(kind: PcMachineKind, ram_size: u64) -> Vec<(GuestAddress, u64)> {
    PcMemoryLayout::new(kind, ram_size).guest_ram_regions()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a table as SeaBIOS's debug log prints it
    /// (`start - end = type`), which is where the expected tables below
    /// were read from: QEMU 7.2 with `-accel kvm`, SeaBIOS 1.16.
    fn render(table: &[E820Entry]) -> String {
        table
            .iter()
            .map(|e| format!("{:016x} - {:016x} = {}\n", e.addr, e.end(), e.kind as u32))
            .collect()
    }

    const LOW: &str = "\
0000000000000000 - 000000000009fc00 = 1
000000000009fc00 - 00000000000a0000 = 2
00000000000f0000 - 0000000000100000 = 2
";
    const PC_TOP: &str = "\
00000000feffc000 - 00000000ff000000 = 2
00000000fffc0000 - 0000000100000000 = 2
";
    const Q35_TOP: &str = "\
00000000b0000000 - 00000000c0000000 = 2
00000000fed1c000 - 00000000fed20000 = 2
00000000feffc000 - 00000000ff000000 = 2
00000000fffc0000 - 0000000100000000 = 2
";
    const HT: &str = "000000fd00000000 - 0000010000000000 = 2\n";

    fn expected(low_ram_end: u64, top: &str, high_ram_end: Option<u64>) -> String {
        let mut s = LOW.to_string();
        s += &format!("0000000000100000 - {:016x} = 1\n", low_ram_end - 0x20000);
        s += &format!(
            "{:016x} - {:016x} = 2\n",
            low_ram_end - 0x20000,
            low_ram_end
        );
        s += top;
        if let Some(end) = high_ram_end {
            s += &format!("0000000100000000 - {end:016x} = 1\n");
        }
        s + HT
    }

    #[test]
    fn i440fx_tables_match_qemu() {
        let pc = PcMachineKind::I440fx;
        let cases = [
            (16 * MIB, 0x0100_0000, None),
            (128 * MIB, 0x0800_0000, None),
            (1000 * MIB, 0x3e80_0000, None),
            (GIB, 0x4000_0000, None),
            (2 * GIB, 0x8000_0000, None),
            (3 * GIB, 0xc000_0000, None),
            (3583 * MIB, 0xdff0_0000, None),
            (3584 * MIB, 0xc000_0000, Some(0x1_2000_0000)),
            (4 * GIB, 0xc000_0000, Some(0x1_4000_0000)),
            (5 * GIB, 0xc000_0000, Some(0x1_8000_0000)),
        ];
        for (ram, low, high) in cases {
            assert_eq!(
                render(&e820_table(pc, ram)),
                expected(low, PC_TOP, high),
                "-M pc -m {}M",
                ram / MIB
            );
        }
    }

    #[test]
    fn q35_tables_match_qemu() {
        let q35 = PcMachineKind::Q35;
        let cases = [
            (128 * MIB, 0x0800_0000, None),
            (GIB, 0x4000_0000, None),
            (2 * GIB, 0x8000_0000, None),
            (2815 * MIB, 0xaff0_0000, None),
            (2817 * MIB, 0x8000_0000, Some(0x1_3010_0000)),
            (3 * GIB, 0x8000_0000, Some(0x1_4000_0000)),
            (3584 * MIB, 0x8000_0000, Some(0x1_6000_0000)),
            (4 * GIB, 0x8000_0000, Some(0x1_8000_0000)),
            (5 * GIB, 0x8000_0000, Some(0x1_c000_0000)),
        ];
        for (ram, low, high) in cases {
            assert_eq!(
                render(&e820_table(q35, ram)),
                expected(low, Q35_TOP, high),
                "-M q35 -m {}M",
                ram / MIB
            );
        }
    }

    #[test]
    fn split_points_follow_qemu_rules() {
        // i440fx: everything below 0xe0000000 stays low.
        let l = PcMemoryLayout::new(PcMachineKind::I440fx, 0xdfff_f000);
        assert_eq!((l.below_4g_mem_size, l.above_4g_mem_size), (0xdfff_f000, 0));
        let l = PcMemoryLayout::new(PcMachineKind::I440fx, 0xe000_0000);
        assert_eq!(
            (l.below_4g_mem_size, l.above_4g_mem_size),
            (0xc000_0000, 0x2000_0000)
        );
        // q35: up to 0xb0000000 stays low, from there on 2 GiB.
        let l = PcMemoryLayout::new(PcMachineKind::Q35, 0xafff_f000);
        assert_eq!((l.below_4g_mem_size, l.above_4g_mem_size), (0xafff_f000, 0));
        let l = PcMemoryLayout::new(PcMachineKind::Q35, 0xb000_0000);
        assert_eq!(
            (l.below_4g_mem_size, l.above_4g_mem_size),
            (0x8000_0000, 0x3000_0000)
        );
    }

    #[test]
    fn ram_regions_cover_all_ram() {
        assert_eq!(
            guest_ram_regions(PcMachineKind::Q35, 5 * GIB),
            vec![(GuestAddress(0), 2 * GIB), (GuestAddress(4 * GIB), 3 * GIB)]
        );
        assert_eq!(
            guest_ram_regions(PcMachineKind::I440fx, 128 * MIB),
            vec![(GuestAddress(0), 128 * MIB)]
        );
    }

    /// As QEMU 7.2's `info mtree` shows them for `-M pc -m 4G`.
    #[test]
    fn ram_aliases_split_the_block_as_qemu() {
        let layout = PcMemoryLayout::new(PcMachineKind::I440fx, 4 * GIB);
        assert_eq!(
            layout.ram_aliases(),
            vec![
                RamAlias {
                    name: "ram-below-4g",
                    addr: 0,
                    offset: 0,
                    size: 0xc000_0000
                },
                RamAlias {
                    name: "ram-above-4g",
                    addr: 0x1_0000_0000,
                    offset: 0xc000_0000,
                    size: 0x4000_0000
                },
            ]
        );
        let small = PcMemoryLayout::new(PcMachineKind::Q35, 128 * MIB);
        assert_eq!(small.ram_aliases().len(), 1);
    }

    #[test]
    fn intel_cpu_has_no_hypertransport_window() {
        let intel = CpuAddressing {
            amd_vendor: false,
            phys_bits: 40,
        };
        let layout = PcMemoryLayout::new(PcMachineKind::I440fx, 128 * MIB).with_cpu(intel);
        assert!(layout.e820_table().iter().all(|e| e.addr != AMD_HT_START));
    }

    #[test]
    fn tiny_ram_does_not_underflow() {
        for ram in [0, 4 * KIB, 0x9f000, MIB, MIB + 64 * KIB] {
            let table = e820_table(PcMachineKind::I440fx, ram);
            assert!(table.iter().all(|e| e.size > 0));
        }
    }
}

//! `info mtree`: the memory regions of each address space, printed as
//! QEMU 7.2's mtree_info does. Address spaces sharing a root region are
//! listed together (by name) above its tree; each region shows its range,
//! priority, type and name, its subregions below it ordered by address and
//! then priority, higher first. The regions that aliases point into follow
//! as `memory-region:` sections.

use std::fmt::Write;

use hw::core::bus::NamedRegion;
use hw::i386::memmap::RamAlias;

/// The machine's RAM block and where it shows in the memory address space.
pub struct RamBlock<'a> {
    /// `pc.ram`, or the id of the memory backend standing for it.
    pub name: &'a str,
    pub size: u64,
    pub aliases: Vec<RamAlias>,
}

/// What the machine maps, as `info mtree` lists it.
pub struct MemoryMap<'a> {
    /// Each CPU has an address space (`cpu-memory-N`) over system memory.
    pub cpus: usize,
    pub ram: Option<RamBlock<'a>>,
    /// The regions of the memory-mapped bus.
    pub mmio: Vec<NamedRegion>,
    /// The regions of the port I/O bus.
    pub pio: Vec<NamedRegion>,
}

/// One line of a tree.
struct Line {
    start: u64,
    /// The last address covered.
    last: u64,
    priority: i32,
    kind: &'static str,
    text: String,
}

impl Line {
    fn region(region: &NamedRegion) -> Self {
        Line {
            start: region.base,
            last: last_address(region.base, region.len),
            priority: region.priority,
            kind: "i/o",
            text: region.name.to_owned(),
        }
    }

    fn alias(alias: &RamAlias, block: &str) -> Self {
        Line {
            start: alias.addr,
            last: last_address(alias.addr, alias.size),
            priority: 0,
            kind: "ram",
            text: format!(
                "alias {} @{block} {:016x}-{:016x}",
                alias.name,
                alias.offset,
                last_address(alias.offset, alias.size)
            ),
        }
    }

    fn write(&self, out: &mut String, level: usize) {
        let _ = writeln!(
            out,
            "{:indent$}{:016x}-{:016x} (prio {}, {}): {}",
            "",
            self.start,
            self.last,
            self.priority,
            self.kind,
            self.text,
            indent = level * 2
        );
    }
}

/// QEMU shows a range by its first and last address; an empty one as
/// starting and ending at its start.
fn last_address(start: u64, len: u64) -> u64 {
    start.wrapping_add(len.saturating_sub(1))
}

/// A root region with its subregions, printed in QEMU's order.
fn write_tree(out: &mut String, root: Line, mut children: Vec<Line>) {
    root.write(out, 1);
    // Stable: regions QEMU would tie on keep their order.
    children.sort_by_key(|line| (line.start, std::cmp::Reverse(line.priority)));
    for child in &children {
        child.write(out, 2);
    }
    out.push('\n');
}

/// The whole `info mtree` text.
pub fn info_mtree(map: &MemoryMap) -> String {
    let mut out = String::new();
    // Address spaces over one root come sorted by name, as strcmp sorts.
    let mut memory_spaces: Vec<String> = (0..map.cpus).map(|i| format!("cpu-memory-{i}")).collect();
    memory_spaces.push("memory".to_owned());
    memory_spaces.sort();
    for name in &memory_spaces {
        let _ = writeln!(out, "address-space: {name}");
    }
    let mut system = Vec::new();
    if let Some(ram) = &map.ram {
        system.extend(ram.aliases.iter().map(|a| Line::alias(a, ram.name)));
    }
    system.extend(map.mmio.iter().map(Line::region));
    write_tree(&mut out, container(u64::MAX, "system"), system);

    out.push_str("address-space: I/O\n");
    write_tree(
        &mut out,
        container(0xffff, "io"),
        map.pio.iter().map(Line::region).collect(),
    );

    if let Some(ram) = &map.ram {
        let _ = writeln!(out, "memory-region: {}", ram.name);
        let block = Line {
            start: 0,
            last: last_address(0, ram.size),
            priority: 0,
            kind: "ram",
            text: ram.name.to_owned(),
        };
        write_tree(&mut out, block, Vec::new());
    }
    out
}

/// The root region of an address space, covering `[0, last]`.
fn container(last: u64, name: &str) -> Line {
    Line {
        start: 0,
        last,
        priority: 0,
        kind: "i/o",
        text: name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hw::i386::memmap::{PcMachineKind, PcMemoryLayout};

    fn region(base: u64, len: u64, name: &'static str, priority: i32) -> NamedRegion {
        NamedRegion {
            base,
            len,
            name,
            priority,
        }
    }

    /// The lines below were printed by QEMU 7.2 for `-M pc -m 4G -smp 2
    /// -nodefaults` (keeping the regions modelled here).
    #[test]
    fn pc_with_ram_above_4g_prints_as_qemu() {
        let layout = PcMemoryLayout::new(PcMachineKind::I440fx, 4 << 30);
        const PARTS: [(u64, u64, &str, i32); 3] = [
            (0xcf8, 4, "pci-conf-idx", 0),
            (0xcf9, 1, "piix3-reset-control", 1),
            (0xcfc, 4, "pci-conf-data", 0),
        ];
        let map = MemoryMap {
            cpus: 2,
            ram: Some(RamBlock {
                name: "pc.ram",
                size: layout.ram_size,
                aliases: layout.ram_aliases(),
            }),
            mmio: vec![],
            // Given out of order, as the parts of one mapping come.
            pio: [
                (0x60, 1, "i8042-data", 0),
                (0x510, 2, "fwcfg", 0),
                (0x514, 8, "fwcfg.dma", 0),
            ]
            .into_iter()
            .chain(PARTS.into_iter().rev())
            .map(|(base, len, name, prio)| region(base, len, name, prio))
            .collect(),
        };
        let expected = "\
address-space: cpu-memory-0
address-space: cpu-memory-1
address-space: memory
  0000000000000000-ffffffffffffffff (prio 0, i/o): system
    0000000000000000-00000000bfffffff (prio 0, ram): alias ram-below-4g @pc.ram 0000000000000000-00000000bfffffff
    0000000100000000-000000013fffffff (prio 0, ram): alias ram-above-4g @pc.ram 00000000c0000000-00000000ffffffff

address-space: I/O
  0000000000000000-000000000000ffff (prio 0, i/o): io
    0000000000000060-0000000000000060 (prio 0, i/o): i8042-data
    0000000000000510-0000000000000511 (prio 0, i/o): fwcfg
    0000000000000514-000000000000051b (prio 0, i/o): fwcfg.dma
    0000000000000cf8-0000000000000cfb (prio 0, i/o): pci-conf-idx
    0000000000000cf9-0000000000000cf9 (prio 1, i/o): piix3-reset-control
    0000000000000cfc-0000000000000cff (prio 0, i/o): pci-conf-data

memory-region: pc.ram
  0000000000000000-00000000ffffffff (prio 0, ram): pc.ram

";
        assert_eq!(info_mtree(&map), expected);
    }

    /// QEMU 7.2's `-M none`: the two address spaces, empty.
    #[test]
    fn machine_without_ram_or_buses_prints_as_qemu() {
        let map = MemoryMap {
            cpus: 0,
            ram: None,
            mmio: vec![],
            pio: vec![],
        };
        assert_eq!(
            info_mtree(&map),
            "address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n\n\
             address-space: I/O\n  0000000000000000-000000000000ffff (prio 0, i/o): io\n\n"
        );
    }

    /// QEMU sorts the address spaces of one root with strcmp, and a q35's
    /// ECAM window sits among the RAM aliases by address.
    #[test]
    fn names_sort_as_strings_and_regions_by_address() {
        let layout = PcMemoryLayout::new(PcMachineKind::Q35, 128 << 20);
        let map = MemoryMap {
            cpus: 11,
            ram: Some(RamBlock {
                name: "mem0",
                size: layout.ram_size,
                aliases: layout.ram_aliases(),
            }),
            mmio: vec![region(0xb000_0000, 0x1000_0000, "pcie-mmcfg-mmio", 0)],
            pio: vec![],
        };
        let text = info_mtree(&map);
        let spaces: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("address-space: "))
            .collect();
        assert_eq!(
            spaces[..4],
            [
                "cpu-memory-0",
                "cpu-memory-1",
                "cpu-memory-10",
                "cpu-memory-2"
            ]
        );
        assert_eq!(spaces[11..], ["memory", "I/O"]);
        assert!(text.contains(
            "    0000000000000000-0000000007ffffff (prio 0, ram): alias ram-below-4g @mem0 0000000000000000-0000000007ffffff\n\
             \x20   00000000b0000000-00000000bfffffff (prio 0, i/o): pcie-mmcfg-mmio\n"
        ));
        assert!(text.ends_with(
            "memory-region: mem0\n  0000000000000000-0000000007ffffff (prio 0, ram): mem0\n\n"
        ));
    }
}

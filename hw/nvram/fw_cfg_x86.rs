//! What QEMU 7.2's PC machines (`pc`, `q35`) put in fw_cfg themselves:
//! `fw_cfg_arch_create` (CPU counts, RAM size, the x86 items, `etc/e820`,
//! the NUMA item), the HPET item filled in by the HPET device, and
//! `etc/system-states` from the ACPI power management device.
//!
//! Other devices add their own files later (ACPI tables, SMBIOS, option
//! ROMs under `genroms/`, q35's `etc/smi/*`); see the tests for the list
//! QEMU has that is not produced here.

use super::fw_cfg::{keys, FwCfg, FwCfgError, MachineItems};
use crate::i386::memmap::{
    E820Entry, E820Type, PcMemoryLayout, ABOVE_4G_MEM_START, AMD_HT_END, AMD_HT_START,
    KVM_IDENTITY_MAP_ADDR, KVM_IDENTITY_MAP_SIZE,
};

/// One HPET block as the `HPET` item describes it (`struct hpet_fw_entry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HpetBlock {
    /// The low 32 bits of the block's capabilities register.
    pub event_timer_block_id: u32,
    pub address: u64,
    pub min_tick: u16,
}

impl HpetBlock {
    /// QEMU's default `hpet` device: 3 timers, 64-bit counter, legacy
    /// replacement capable, vendor 0x8086, at 0xfed00000.
    pub const QEMU_DEFAULT: HpetBlock = HpetBlock {
        event_timer_block_id: 0x8086_a201,
        address: 0xfed0_0000,
        min_tick: 0,
    };
}

/// Blocks the `HPET` item has room for.
const HPET_ITEM_BLOCKS: usize = 8;

/// The ACPI sleep states the power management device offers
/// (`disable_s3`, `disable_s4`, `s4_val` of PIIX4 PM and ICH9 LPC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemStates {
    pub s3_enabled: bool,
    pub s4_enabled: bool,
    pub s4_value: u8,
}

impl Default for SystemStates {
    /// QEMU 7.2's defaults for `pc` and `q35`: S3 and S4 on, S4 value 2.
    fn default() -> Self {
        SystemStates {
            s3_enabled: true,
            s4_enabled: true,
            s4_value: 2,
        }
    }
}

/// The PC machine's part of fw_cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcItems {
    pub layout: PcMemoryLayout,
    /// CPUs present at start (`-smp` cpus).
    pub boot_cpus: u16,
    /// One past the highest APIC ID a CPU may have (`-smp` maxcpus and
    /// topology); QEMU gives it as `MAX_CPUS` for old firmware's sake.
    pub apic_id_limit: u16,
    /// The tables of `-acpitable`, empty without.
    pub acpi_tables: Vec<u8>,
    /// The HPET blocks present (none with `-machine hpet=off`).
    pub hpet: Vec<HpetBlock>,
    /// The ACPI sleep states, when the machine has ACPI.
    pub system_states: Option<SystemStates>,
    /// `-m maxmem=`: RAM size including what may be plugged later
    /// (`layout.ram_size` when nothing may).
    pub maxram_size: u64,
    /// `-m slots=`: memory slots for plugging.
    pub ram_slots: u64,
}

/// The fw_cfg of a PC machine: [`FwCfg::for_machine`] with DMA, then what
/// QEMU's PC machines add (`fw_cfg_arch_create` and the devices named in
/// the module documentation). The NUMA item describes no nodes.
pub fn pc_fw_cfg(machine: &MachineItems, pc: &PcItems) -> Result<FwCfg, FwCfgError> {
    let mut fw_cfg = FwCfg::for_machine(true, machine)?;
    fw_cfg.add_i16(keys::NB_CPUS, pc.boot_cpus)?;
    fw_cfg.add_i16(keys::MAX_CPUS, pc.apic_id_limit)?;
    fw_cfg.add_i64(keys::RAM_SIZE, pc.layout.ram_size)?;
    fw_cfg.add_bytes(keys::ACPI_TABLES, pc.acpi_tables.clone())?;
    fw_cfg.add_i32(keys::IRQ0_OVERRIDE, 1)?;
    fw_cfg.add_file("etc/e820", e820_file(&qemu_e820_table(&pc.layout)))?;
    fw_cfg.add_bytes(keys::HPET, hpet_item(&pc.hpet))?;
    fw_cfg.add_bytes(keys::NUMA, numa_item(pc.apic_id_limit))?;
    if let Some(states) = pc.system_states {
        fw_cfg.add_file("etc/system-states", system_states_file(states))?;
    }
    if let Some(end) = reserved_memory_end(pc) {
        fw_cfg.add_file("etc/reserved-memory-end", end.to_le_bytes().to_vec())?;
    }
    Ok(fw_cfg)
}

/// Where the window for memory plugged later ends, when there is one
/// (`maxmem` above the RAM size): it starts at the first gigabyte boundary
/// past the RAM above 4 GiB and holds the missing RAM plus a gigabyte a
/// slot (QEMU aligns DIMMs that way on every 7.2 PC type).
fn reserved_memory_end(pc: &PcItems) -> Option<u64> {
    const GIB: u64 = 1 << 30;
    let layout = &pc.layout;
    let pluggable = pc
        .maxram_size
        .checked_sub(layout.ram_size)
        .filter(|&s| s > 0)?;
    let base = (ABOVE_4G_MEM_START + layout.above_4g_mem_size).next_multiple_of(GIB);
    let size = pluggable.saturating_add(pc.ram_slots.saturating_mul(GIB));
    base.checked_add(size)?.checked_next_multiple_of(GIB)
}

/// QEMU's own e820 list, in the order entries are added: the KVM
/// identity-map pages (added when KVM starts), the AMD HyperTransport
/// window, RAM below and above 4 GiB. The firmware builds the table the
/// guest finds from it (`hw::i386::memmap::PcMemoryLayout::e820_table`).
pub fn qemu_e820_table(layout: &PcMemoryLayout) -> Vec<E820Entry> {
    let mut table = vec![E820Entry {
        addr: KVM_IDENTITY_MAP_ADDR,
        size: KVM_IDENTITY_MAP_SIZE,
        kind: E820Type::Reserved,
    }];
    if layout.cpu.amd_vendor && layout.cpu.phys_bits >= 40 {
        table.push(E820Entry {
            addr: AMD_HT_START,
            size: AMD_HT_END - AMD_HT_START,
            kind: E820Type::Reserved,
        });
    }
    table.push(E820Entry {
        addr: 0,
        size: layout.below_4g_mem_size,
        kind: E820Type::Ram,
    });
    if layout.above_4g_mem_size > 0 {
        table.push(E820Entry {
            addr: ABOVE_4G_MEM_START,
            size: layout.above_4g_mem_size,
            kind: E820Type::Ram,
        });
    }
    table
}

/// `etc/e820`: packed little-endian entries of address (64 bits), length
/// (64 bits) and type (32 bits).
pub fn e820_file(table: &[E820Entry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(table.len() * 20);
    for entry in table {
        bytes.extend_from_slice(&entry.addr.to_le_bytes());
        bytes.extend_from_slice(&entry.size.to_le_bytes());
        bytes.extend_from_slice(&(entry.kind as u32).to_le_bytes());
    }
    bytes
}

/// The `HPET` item (`struct hpet_fw_config`, packed): a count and room for
/// eight blocks. With no HPET the count stays at QEMU's initial 255.
fn hpet_item(blocks: &[HpetBlock]) -> Vec<u8> {
    let blocks = &blocks[..blocks.len().min(HPET_ITEM_BLOCKS)];
    let count = if blocks.is_empty() {
        u8::MAX
    } else {
        blocks.len() as u8
    };
    let mut bytes = vec![count];
    for i in 0..HPET_ITEM_BLOCKS {
        let block = blocks.get(i).copied().unwrap_or(HpetBlock {
            event_timer_block_id: 0,
            address: 0,
            min_tick: 0,
        });
        bytes.extend_from_slice(&block.event_timer_block_id.to_le_bytes());
        bytes.extend_from_slice(&block.address.to_le_bytes());
        bytes.extend_from_slice(&block.min_tick.to_le_bytes());
    }
    bytes
}

/// The `NUMA` item: the node count, each possible APIC ID's node, each
/// node's memory, all 64-bit; without `-numa`, zeros.
fn numa_item(apic_id_limit: u16) -> Vec<u8> {
    vec![0; (1 + usize::from(apic_id_limit)) * 8]
}

/// `etc/system-states`: one byte for each of S0..S5; bit 7 says the state
/// is offered, the low bits are the value the guest writes for it.
fn system_states_file(states: SystemStates) -> Vec<u8> {
    let mut bytes = [0x80, 0, 0, 0x81, 0, 0x80];
    bytes[3] = 1 | (u8::from(states.s3_enabled) << 7);
    bytes[4] = states.s4_value | (u8::from(states.s4_enabled) << 7);
    bytes.to_vec()
}

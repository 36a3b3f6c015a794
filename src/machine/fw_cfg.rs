//! The PC machines' fw_cfg, made from the description (QEMU's
//! `fw_cfg_arch_create` and the items `pc` adds).

use std::sync::{Arc, Mutex};

use vm_memory::GuestMemoryMmap;

use hw::core::bus::Bus;
use hw::i386::memmap::PcMemoryLayout;
use hw::nvram::fw_cfg::{FwCfg, MachineItems};
use hw::nvram::fw_cfg_io::attach_io;
use hw::nvram::fw_cfg_x86::{pc_fw_cfg, PcItems};

use super::MachineError;
use crate::vl::description::MachineDescription;
use crate::vl::qdict::is_on;

/// `-uuid` as its 16 bytes, in the order written; zeros without one (the
/// command line has checked the text).
fn uuid_bytes(text: Option<&str>) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let hex: Vec<u8> = text
        .unwrap_or_default()
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .collect();
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks(2)) {
        let digits = std::str::from_utf8(pair).unwrap_or("0");
        *byte = u8::from_str_radix(digits, 16).unwrap_or(0);
    }
    bytes
}

/// `-boot strict=on`: the firmware boots only from the devices listed.
pub fn boot_strict(desc: &MachineDescription) -> bool {
    is_on(&desc.boot.boot_order, "strict")
}

/// Create the fw_cfg device and put its ports on `pio`. Nothing here has
/// ACPI or an HPET yet, so fw_cfg describes neither.
pub fn create(
    desc: &MachineDescription,
    layout: &PcMemoryLayout,
    apic_id_limit: u32,
    memory: &GuestMemoryMmap,
    pio: &Bus,
) -> Result<Arc<Mutex<FwCfg>>, MachineError> {
    let machine = MachineItems {
        uuid: uuid_bytes(desc.uuid.as_deref()),
        nographic: desc.display.nographic,
        boot_menu: is_on(&desc.boot.boot_order, "menu"),
        ..MachineItems::default()
    };
    let items = PcItems {
        layout: *layout,
        boot_cpus: u16::try_from(desc.smp.cpus).unwrap_or(u16::MAX),
        apic_id_limit: u16::try_from(apic_id_limit).unwrap_or(u16::MAX),
        acpi_tables: Vec::new(),
        hpet: Vec::new(),
        system_states: None,
        maxram_size: desc.memory.max_size.unwrap_or(desc.memory.size),
        ram_slots: desc.memory.slots,
    };
    let fw_cfg = Arc::new(Mutex::new(
        pc_fw_cfg(&machine, &items).map_err(MachineError::plain)?,
    ));
    attach_io(&fw_cfg, memory, pio).map_err(MachineError::plain)?;
    Ok(fw_cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_bytes_follow_the_text() {
        let bytes = uuid_bytes(Some("c7a5fdbd-cdaf-9455-926a-d65c16db1820"));
        assert_eq!(bytes[..4], [0xc7, 0xa5, 0xfd, 0xbd]);
        assert_eq!(bytes[15], 0x20);
        assert_eq!(uuid_bytes(None), [0; 16]);
    }
}

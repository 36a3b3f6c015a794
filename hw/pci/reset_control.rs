//! The reset control register at port 0xcf9 of PIIX3 (QEMU's `rcr`) and
//! ICH9 (`RST_CNT`): writing bit 2 resets the machine; otherwise the
//! register keeps the reset-type bits the chipset has. It sits on top of
//! the configuration address register; `PciHost` hands it the accesses
//! that start at 0xcf9.

use std::sync::Arc;

use crate::core::bus::BusDevice;
use crate::core::system::{SystemControl, SystemRequest};

/// Port of the reset control register.
pub const RESET_CONTROL_PORT: u16 = 0xcf9;
/// Bit 2: reset the CPU (and so the machine, on QEMU's PCs).
const RESET_CPU: u8 = 0x04;
/// PIIX3 keeps System Reset (bit 1).
const PIIX3_RCR_KEPT: u8 = 0x02;
/// ICH9 keeps Full Reset (bit 3) and System Reset (bit 1).
const ICH9_RST_CNT_KEPT: u8 = 0x0a;

pub struct ResetControl {
    system: Arc<dyn SystemControl>,
    kept_bits: u8,
    value: u8,
}

impl ResetControl {
    /// PIIX3's register (`pc`).
    pub fn piix3(system: Arc<dyn SystemControl>) -> Self {
        Self {
            system,
            kept_bits: PIIX3_RCR_KEPT,
            value: 0,
        }
    }

    /// ICH9's register (`q35`).
    pub fn ich9(system: Arc<dyn SystemControl>) -> Self {
        Self {
            system,
            kept_bits: ICH9_RST_CNT_KEPT,
            value: 0,
        }
    }
}

impl BusDevice for ResetControl {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
        if let Some(byte) = data.first_mut() {
            *byte = self.value;
        }
    }

    fn write(&mut self, _offset: u64, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        if value & RESET_CPU != 0 {
            self.system.request(SystemRequest::Reset);
            return;
        }
        self.value = value & self.kept_bits;
    }

    fn reset(&mut self) {
        self.value = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingSystem;

    #[test]
    fn bit_2_resets_the_machine_and_leaves_the_register() {
        let system = Arc::new(RecordingSystem::default());
        let mut rcr = ResetControl::piix3(system.clone());
        rcr.write(0, &[0x02]);
        rcr.write(0, &[0x06]);
        assert_eq!(system.requests(), vec![SystemRequest::Reset]);
        let mut value = [0];
        rcr.read(0, &mut value);
        assert_eq!(value, [0x02]);
    }
}

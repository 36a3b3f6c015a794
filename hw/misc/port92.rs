//! Port 0x92, the PS/2 "system control port A" (QEMU 7.2's `port92`): bit 1
//! is the fast A20 gate, a 0->1 change of bit 0 resets the machine. Reads
//! return the last value written. With KVM, A20 is not emulated beyond this
//! value: `a20_enabled()` is there for whoever wants it.

use std::sync::Arc;

use crate::core::bus::BusDevice;
use crate::core::system::{SystemControl, SystemRequest};

/// I/O port of system control port A.
pub const PORT92_IOBASE: u16 = 0x92;

const RESET: u8 = 0x01;
const A20: u8 = 0x02;

pub struct Port92 {
    system: Arc<dyn SystemControl>,
    outport: u8,
}

impl Port92 {
    pub fn new(system: Arc<dyn SystemControl>) -> Self {
        Self { system, outport: 0 }
    }

    /// The level this port drives on the A20 line.
    pub fn a20_enabled(&self) -> bool {
        self.outport & A20 != 0
    }
}

impl BusDevice for Port92 {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(self.outport);
    }

    fn write(&mut self, _offset: u64, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        let old = self.outport;
        self.outport = value;
        if value & RESET != 0 && old & RESET == 0 {
            self.system.request(SystemRequest::Reset);
        }
    }

    /// The reset bit clears; A20 keeps its value.
    fn reset(&mut self) {
        self.outport &= !RESET;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingSystem;

    fn port() -> (Port92, Arc<RecordingSystem>) {
        let system = Arc::new(RecordingSystem::default());
        (Port92::new(system.clone()), system)
    }

    #[test]
    fn powers_on_reading_zero_and_reads_back_writes() {
        // QEMU 7.2: `inb 0x92` reads 0 at start, 2 after `outb 0x92 2`.
        let (mut p, system) = port();
        let mut byte = [0xffu8];
        p.read(0, &mut byte);
        assert_eq!(byte[0], 0);
        assert!(!p.a20_enabled());
        p.write(0, &[A20]);
        p.read(0, &mut byte);
        assert_eq!(byte[0], 2);
        assert!(p.a20_enabled());
        assert!(system.requests().is_empty());
    }

    #[test]
    fn rising_edge_of_bit0_requests_reset_once() {
        let (mut p, system) = port();
        p.write(0, &[RESET]);
        p.write(0, &[RESET | A20]);
        assert_eq!(system.requests(), vec![SystemRequest::Reset]);
        p.reset();
        let mut byte = [0u8];
        p.read(0, &mut byte);
        assert_eq!(byte[0], A20, "reset clears bit 0 only");
        p.write(0, &[RESET]);
        assert_eq!(system.requests().len(), 2);
    }
}

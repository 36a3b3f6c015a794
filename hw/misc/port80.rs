//! The PC's two legacy scratch ports, as QEMU 7.2's pc.c has them.
//!
//! Port 0x80 (`ioport80`) is the POST-code port that software writes to
//! delay a little; writes are dropped and reads float high. Port 0xf0
//! (`ioportF0`) is the math coprocessor's error latch: any write clears
//! FERR#, lowering ISA IRQ 13; reads float high.

use std::sync::Arc;

use crate::core::bus::BusDevice;
use crate::core::irq::InterruptLine;

/// I/O port of the POST-code / delay port.
pub const PORT80_IOBASE: u16 = 0x80;
/// I/O port that clears the FPU error interrupt.
pub const PORTF0_IOBASE: u16 = 0xf0;
/// ISA interrupt line of the FPU error (FERR#).
pub const FERR_IRQ: u8 = 13;

/// Port 0x80.
#[derive(Debug, Default)]
pub struct Port80;

impl BusDevice for Port80 {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0xff);
    }

    fn write(&mut self, _offset: u64, _data: &[u8]) {}
}

/// Port 0xf0, wired to the FPU error line (IRQ 13).
pub struct PortF0 {
    ferr_irq: Arc<dyn InterruptLine>,
}

impl PortF0 {
    pub fn new(ferr_irq: Arc<dyn InterruptLine>) -> Self {
        Self { ferr_irq }
    }
}

impl BusDevice for PortF0 {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0xff);
    }

    fn write(&mut self, _offset: u64, _data: &[u8]) {
        self.ferr_irq.set_level(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingLine;

    #[test]
    fn port80_reads_all_ones_and_ignores_writes() {
        // QEMU 7.2: `inb 0x80` gives 0xff, `inw 0x80` gives 0xffff.
        let mut port = Port80;
        port.write(0, &[0x55]);
        let mut word = [0u8; 2];
        port.read(0, &mut word);
        assert_eq!(word, [0xff, 0xff]);
    }

    #[test]
    fn portf0_write_lowers_ferr_and_reads_all_ones() {
        let line = Arc::new(RecordingLine::default());
        let mut port = PortF0::new(line.clone());
        let mut byte = [0u8];
        port.read(0, &mut byte);
        assert_eq!(byte[0], 0xff);
        assert!(line.history().is_empty());
        port.write(0, &[0]);
        assert_eq!(line.history(), vec![false]);
    }
}

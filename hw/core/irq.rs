//! Interrupt lines, as a device sees them.
//!
//! A device raises and lowers a line; what is behind it (KVM's in-kernel PIC
//! and IOAPIC, or userspace models of them) belongs to the accelerator.

use std::sync::Arc;

/// One interrupt line into the machine's interrupt controllers.
pub trait InterruptLine: Send + Sync {
    /// Drive the line high (`true`) or low.
    fn set_level(&self, level: bool);
}

/// The interrupt controllers of a PC (PICs and IOAPIC), whoever implements
/// them: ISA lines 0..15 are GSIs 0..15 and reach both, as on QEMU's PC.
pub trait InterruptController: Send + Sync {
    fn set_irq(&self, gsi: u32, level: bool);
}

/// A line wired to one GSI of an interrupt controller.
pub struct GsiLine {
    controller: Arc<dyn InterruptController>,
    gsi: u32,
}

impl GsiLine {
    pub fn new(controller: Arc<dyn InterruptController>, gsi: u32) -> Self {
        Self { controller, gsi }
    }
}

impl InterruptLine for GsiLine {
    fn set_level(&self, level: bool) {
        self.controller.set_irq(self.gsi, level);
    }
}

//! The PC's interrupt routing without KVM's in-kernel chips (QEMU's
//! `gsi_handler` in hw/i386/x86.c): GSIs 0-15, the ISA IRQs, reach both
//! the 8259A pair and the IOAPIC; GSIs 16-23 (PCI) only the IOAPIC. The
//! IOAPIC takes ISA IRQ 0 on its pin 2 (`Ioapic::set_irq`).

use std::sync::{Arc, Mutex};

use crate::core::bus::lock;
use crate::core::irq::InterruptController;
use crate::intc::i8259::I8259;
use crate::intc::ioapic::{Ioapic, IOAPIC_NUM_PINS};

/// ISA interrupt lines, wired to the 8259A pair.
pub const ISA_NUM_IRQS: u32 = 16;

/// Routes GSIs to userspace PICs and IOAPIC.
pub struct GsiRouter {
    pics: Arc<Mutex<I8259>>,
    ioapic: Arc<Mutex<Ioapic>>,
}

impl GsiRouter {
    pub fn new(pics: Arc<Mutex<I8259>>, ioapic: Arc<Mutex<Ioapic>>) -> Self {
        Self { pics, ioapic }
    }
}

impl InterruptController for GsiRouter {
    /// GSIs past the IOAPIC's pins are ignored. The PICs and the IOAPIC are
    /// locked one after the other, never together.
    fn set_irq(&self, gsi: u32, level: bool) {
        if gsi < ISA_NUM_IRQS {
            lock(&self.pics).set_irq(gsi as u8, level);
        }
        if gsi < IOAPIC_NUM_PINS as u32 {
            lock(&self.ioapic).set_irq(gsi, level);
        }
    }
}

//! The PC's interrupt routing without KVM's in-kernel chips (QEMU's
//! `gsi_handler` in hw/i386/x86.c): GSIs 0-15, the ISA IRQs, reach both
//! the 8259A pair and the IOAPIC; GSIs 16-23 (PCI) only the IOAPIC. The
//! IOAPIC takes ISA IRQ 0 on its pin 2 (`Ioapic::set_irq`).
//!
//! Lock order, for whoever wires these up: a device raising a line (the
//! PIT from its timer, say) holds its own lock while the router takes the
//! PICs' lock and then, separately, the IOAPIC's; the IOAPIC takes the
//! PICs' lock for an ExtINT pin. Nothing here locks a device, or the
//! IOAPIC while holding the PICs.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bus::BusDevice;
    use crate::core::testing::{ManualClock, RecordingLine};
    use crate::intc::i8259::{PicPorts, PicRegisters};
    use crate::intc::qtest::RecordingSink;
    use std::time::Duration;

    struct Rig {
        router: GsiRouter,
        master: PicPorts,
        slave: PicPorts,
        messages: Arc<RecordingSink>,
    }

    fn rig() -> Rig {
        let pics = Arc::new(Mutex::new(I8259::new(Arc::new(RecordingLine::default()))));
        let messages = Arc::new(RecordingSink::default());
        let ioapic = Arc::new(Mutex::new(Ioapic::new(
            messages.clone(),
            pics.clone(),
            Arc::new(ManualClock::at(Duration::ZERO)),
        )));
        // Every pin edge-triggered, unmasked, with vector 0x40 + pin.
        for pin in 0..IOAPIC_NUM_PINS as u8 {
            let mut ioapic = lock(&ioapic);
            ioapic.write(0, &[0x10 + 2 * pin]);
            ioapic.write(0x10, &u32::from(0x40 + pin).to_le_bytes());
        }
        Rig {
            router: GsiRouter::new(pics.clone(), ioapic),
            master: PicPorts::new(pics.clone(), PicRegisters::Master),
            slave: PicPorts::new(pics, PicRegisters::Slave),
            messages,
        }
    }

    impl Rig {
        /// Raise and lower `gsi`; the PICs' IRRs and the IOAPIC vectors
        /// delivered.
        fn pulse(&mut self, gsi: u32) -> (u8, u8, Vec<u8>) {
            self.router.set_irq(gsi, true);
            self.router.set_irq(gsi, false);
            let (mut master, mut slave) = ([0u8], [0u8]);
            self.master.read(0, &mut master);
            self.slave.read(0, &mut slave);
            let vectors = std::mem::take(&mut *self.messages.0.lock().unwrap())
                .iter()
                .map(|m| m.vector())
                .collect();
            (master[0], slave[0], vectors)
        }
    }

    #[test]
    fn isa_irqs_reach_both_chips_and_irq_0_is_ioapic_pin_2() {
        let mut rig = rig();
        assert_eq!(rig.pulse(0), (0x01, 0, vec![0x42]));
        let mut rig = self::rig();
        assert_eq!(rig.pulse(2), (0x04, 0, vec![0x42]));
        let mut rig = self::rig();
        assert_eq!(rig.pulse(9), (0x04, 0x02, vec![0x49]));
        let mut rig = self::rig();
        assert_eq!(rig.pulse(15), (0x04, 0x80, vec![0x4f]));
    }

    #[test]
    fn pci_gsis_reach_only_the_ioapic_and_others_nothing() {
        let mut rig = rig();
        assert_eq!(rig.pulse(16), (0, 0, vec![0x50]));
        assert_eq!(rig.pulse(23), (0, 0, vec![0x57]));
        assert_eq!(rig.pulse(24), (0, 0, vec![]));
        assert_eq!(rig.pulse(u32::MAX), (0, 0, vec![]));
    }
}

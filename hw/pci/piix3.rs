//! The PIIX3 PCI-to-ISA bridge at 01.0 of QEMU's `pc` machine (QEMU's
//! `hw/isa/piix3.c`), and the INTx routing it does: PIRQA-D to ISA IRQs
//! through the route registers 0x60-0x63.

use std::sync::{Arc, Mutex};

use crate::core::bus::lock;
use crate::core::irq::InterruptLine;

use super::bus::{IntxRouting, PCI_NUM_PINS};
use super::config::{
    ranges_overlap, PciConfig, PciIds, PCI_CONFIG_SPACE_SIZE, PCI_HEADER_TYPE_NORMAL, PCI_STATUS,
    PCI_STATUS_DEVSEL_MEDIUM, PCI_SUBDEVICE_ID_QEMU, PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
};
use super::device::{devfn_slot, PciDevice};
use super::i440fx::PCI_VENDOR_ID_INTEL;

pub const PCI_DEVICE_ID_INTEL_82371SB_0: u16 = 0x7000;
pub const PCI_CLASS_BRIDGE_ISA: u32 = 0x060100;

/// PIRQ route control registers PIRQRC[A:D].
pub const PIIX_PIRQCA: usize = 0x60;
pub const PIIX_NUM_PIRQS: usize = 4;
/// ISA IRQs a PIRQ can be routed to; a route of 16 or more (bit 7 set at
/// reset) leaves the PIRQ unrouted.
pub const PIIX_NUM_PIC_IRQS: usize = 16;

/// PIIX3's PIRQ for `pin` of the device in `slot` (QEMU's
/// `pci_slot_get_pirq`): slot 1 INTA is PIRQA, and each slot rotates by one.
pub fn piix_pirq(slot: u8, pin: u8) -> usize {
    usize::from(pin.wrapping_add(slot).wrapping_sub(1) & 3)
}

struct PiixIrqState {
    /// How many functions hold each PIRQ high.
    pirq_count: [i32; PIIX_NUM_PIRQS],
    routes: [u8; PIIX_NUM_PIRQS],
    /// Bit `irq * 4 + pirq`: PIRQ `pirq` is high and routed to `irq`.
    pic_levels: u64,
}

/// The root bus's INTx routing on `pc`: PCI pins to PIRQs by the PIIX slot
/// rotation, PIRQs to ISA IRQs by PIIX3's route registers, each IRQ high
/// while any PIRQ routed to it is.
pub struct PiixIntxRouter {
    state: Mutex<PiixIrqState>,
    isa_irqs: Vec<Arc<dyn InterruptLine>>,
}

impl PiixIntxRouter {
    /// A router driving `isa_irqs[0..16]`, ISA IRQs 0-15.
    pub fn new(isa_irqs: Vec<Arc<dyn InterruptLine>>) -> Self {
        Self {
            state: Mutex::new(PiixIrqState {
                pirq_count: [0; PIIX_NUM_PIRQS],
                routes: [0x80; PIIX_NUM_PIRQS],
                pic_levels: 0,
            }),
            isa_irqs,
        }
    }

    fn drive(&self, state: &PiixIrqState, irq: usize) {
        let mask = ((1u64 << PIIX_NUM_PIRQS) - 1) << (irq * PIIX_NUM_PIRQS);
        if let Some(line) = self.isa_irqs.get(irq) {
            line.set_level(state.pic_levels & mask != 0);
        }
    }

    fn set_pirq_level(state: &mut PiixIrqState, pirq: usize) -> Option<usize> {
        let irq = usize::from(state.routes[pirq]);
        if irq >= PIIX_NUM_PIC_IRQS {
            return None;
        }
        let bit = 1u64 << (irq * PIIX_NUM_PIRQS + pirq);
        if state.pirq_count[pirq] != 0 {
            state.pic_levels |= bit;
        } else {
            state.pic_levels &= !bit;
        }
        Some(irq)
    }

    /// New route registers: recompute every IRQ (QEMU's
    /// `piix3_update_irq_levels` and the loop after it).
    fn set_routes(&self, routes: [u8; PIIX_NUM_PIRQS]) {
        let mut state = lock(&self.state);
        state.routes = routes;
        state.pic_levels = 0;
        for pirq in 0..PIIX_NUM_PIRQS {
            Self::set_pirq_level(&mut state, pirq);
        }
        for irq in 0..PIIX_NUM_PIC_IRQS {
            self.drive(&state, irq);
        }
    }
}

impl IntxRouting for PiixIntxRouter {
    fn change_intx(&self, devfn: u8, pin: u8, change: i32) {
        let pirq = piix_pirq(devfn_slot(devfn), pin % PCI_NUM_PINS);
        let mut state = lock(&self.state);
        state.pirq_count[pirq] += change;
        if let Some(irq) = Self::set_pirq_level(&mut state, pirq) {
            self.drive(&state, irq);
        }
    }
}

/// QEMU's PIIX3 reset values (`piix3_reset`), offset and value.
const PIIX3_RESET_VALUES: [(usize, u8); 11] = [
    (0x4c, 0x4d),
    (0x4e, 0x03),
    (0x4f, 0x00),
    (0x69, 0x02),
    (0x70, 0x80),
    (0x76, 0x0c),
    (0x77, 0x0c),
    (0x78, 0x02),
    (0x79, 0x00),
    (0xa0, 0x08),
    (0xa8, 0x0f),
];

pub struct Piix3 {
    config: PciConfig,
    router: Arc<PiixIntxRouter>,
}

impl Piix3 {
    /// The ISA bridge, updating `router` when the route registers change;
    /// the same router is the root bus's INTx routing.
    pub fn new(router: Arc<PiixIntxRouter>) -> Self {
        let config = PciConfig::new(
            PCI_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_NORMAL,
            PciIds {
                vendor: PCI_VENDOR_ID_INTEL,
                device: PCI_DEVICE_ID_INTEL_82371SB_0,
                revision: 0,
                class: PCI_CLASS_BRIDGE_ISA,
                subsystem_vendor: PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
                subsystem: PCI_SUBDEVICE_ID_QEMU,
            },
        );
        let mut piix3 = Self { config, router };
        piix3.reset();
        piix3
    }

    fn routes(&self) -> [u8; PIIX_NUM_PIRQS] {
        let mut routes = [0; PIIX_NUM_PIRQS];
        for (i, r) in routes.iter_mut().enumerate() {
            *r = self.config.byte(PIIX_PIRQCA + i);
        }
        routes
    }
}

impl PciDevice for Piix3 {
    fn type_name(&self) -> &'static str {
        "PIIX3"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        self.config.write(offset, value, len);
        if ranges_overlap(offset, len, PIIX_PIRQCA, PIIX_NUM_PIRQS) {
            self.router.set_routes(self.routes());
        }
    }
    fn reset(&mut self) {
        self.config.reset();
        self.config.set_word(PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
        for pirq in 0..PIIX_NUM_PIRQS {
            self.config.set_byte(PIIX_PIRQCA + pirq, 0x80);
        }
        for (offset, value) in PIIX3_RESET_VALUES {
            self.config.set_byte(offset, value);
        }
        self.router.set_routes(self.routes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingLine;
    use crate::pci::bus::PciBus;
    use crate::pci::device::devfn;
    use crate::pci::testing::TestFunction;

    /// QEMU's `pci_slot_get_pirq`: `(pci_intx + PCI_SLOT(devfn) - 1) & 3`.
    #[test]
    fn pirq_rotation_matches_qemu_table() {
        // Rows: slot 0..5; columns INTA..INTD; values PIRQ A=0..D=3.
        let expected = [
            [3, 0, 1, 2],
            [0, 1, 2, 3],
            [1, 2, 3, 0],
            [2, 3, 0, 1],
            [3, 0, 1, 2],
            [0, 1, 2, 3],
        ];
        for (slot, row) in expected.iter().enumerate() {
            for (pin, &pirq) in row.iter().enumerate() {
                assert_eq!(
                    piix_pirq(slot as u8, pin as u8),
                    pirq,
                    "slot {slot} pin {pin}"
                );
            }
        }
    }

    #[test]
    fn shared_pirq_stays_high_until_every_device_lowers_it() {
        let lines: Vec<Arc<RecordingLine>> = (0..16)
            .map(|_| Arc::new(RecordingLine::default()))
            .collect();
        let router = Arc::new(PiixIntxRouter::new(
            lines
                .iter()
                .map(|l| l.clone() as Arc<dyn InterruptLine>)
                .collect(),
        ));
        let mut piix3 = Piix3::new(router.clone());
        let mut bus = PciBus::new(router.clone());
        // Slot 2 INTA and slot 6 INTA both land on PIRQB; slot 3 INTD on PIRQB too.
        let a = TestFunction::plug(&mut bus, devfn(2, 0), 0);
        let b = TestFunction::plug(&mut bus, devfn(6, 0), 0);
        let c = TestFunction::plug(&mut bus, devfn(3, 0), 3);
        piix3.write_config(0x61, 11, 1);
        lock(&a).set_intx(true);
        lock(&b).set_intx(true);
        lock(&c).set_intx(true);
        assert!(lines[11].level());
        lock(&a).set_intx(false);
        lock(&c).set_intx(false);
        assert!(lines[11].level());
        lock(&b).set_intx(false);
        assert!(!lines[11].level());
        // Unrouted (bit 7) PIRQs reach no IRQ; routing one that is high
        // raises its IRQ at once.
        lock(&a).set_intx(true);
        piix3.write_config(0x61, 0x80, 1);
        assert!(!lines[11].level());
        piix3.write_config(0x61, 10, 1);
        assert!(lines[10].level());
    }
}

//! The ICH9 LPC bridge at 1f.0 of QEMU's `q35` machine (QEMU's
//! `hw/isa/lpc_ich9.c`), and the INTx routing it does: eight PIRQs, each
//! with its own IOAPIC input (GSI 16-23) and a route register (0x60-0x63,
//! 0x68-0x6b) that may also send it to an 8259 IRQ.

use std::sync::{Arc, Mutex};

use crate::core::bus::lock;
use crate::core::irq::InterruptLine;

use super::bus::{IntxRouting, PCI_NUM_PINS};
use super::config::{
    ranges_overlap, PciConfig, PciIds, PCI_CONFIG_SPACE_SIZE, PCI_HEADER_TYPE_NORMAL,
    PCI_SUBDEVICE_ID_QEMU, PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
};
use super::device::{devfn_slot, PciDevice};
use super::i440fx::PCI_VENDOR_ID_INTEL;
use super::piix3::PCI_CLASS_BRIDGE_ISA;

pub const PCI_DEVICE_ID_INTEL_ICH9_8: u16 = 0x2918;
/// Where QEMU puts the LPC bridge: device 31, function 0.
pub const ICH9_LPC_DEV: u8 = 31;

pub const ICH9_LPC_PMBASE: usize = 0x40;
pub const ICH9_LPC_ACPI_CTRL: usize = 0x44;
pub const ICH9_LPC_PIRQA_ROUT: usize = 0x60;
pub const ICH9_LPC_PIRQE_ROUT: usize = 0x68;
pub const ICH9_LPC_GEN_PMCON_1: usize = 0xa0;
pub const ICH9_LPC_RCBA: usize = 0xf0;
pub const ICH9_LPC_NB_PIRQS: usize = 8;
/// The 8259 inputs a PIRQ can be routed to.
pub const ICH9_LPC_PIC_NUM_PINS: usize = 16;
/// The GSIs the router drives: ISA IRQs 0-15, then PIRQA-H at 16-23.
pub const ICH9_LPC_NUM_GSIS: usize = 24;

const PIRQ_ROUT_DEFAULT: u8 = 0x80;
/// Bit 7 of a route register: the PIRQ goes to no 8259 IRQ.
const PIRQ_ROUT_IRQEN: u8 = 0x80;
const PIRQ_ROUT_MASK: u8 = 0x0f;
const PMBASE_DEFAULT: u32 = 0x1;
/// SMI_LOCK, in the low byte of GEN_PMCON_1.
const GEN_PMCON_1_SMI_LOCK: u8 = 1 << 4;

/// The PIRQ (0 = PIRQA) of `pin` of a device in `slot` of the root bus, as
/// QEMU's ICH9 chipset configuration registers route them at reset
/// (`ich9_cc_init`/`ich9_cc_reset`): slots 25-29 and 31 follow D{slot}IR =
/// 0x3210 (INTA-D to PIRQA-D), slot 30 sends INTA-D to PIRQE-H, and every
/// other slot rotates over PIRQE-H.
pub fn ich9_pirq(slot: u8, pin: u8) -> usize {
    let pin = usize::from(pin % PCI_NUM_PINS);
    match slot {
        25..=29 | 31 => pin,
        30 => pin + 4,
        _ => (usize::from(slot) + pin) % 4 + 4,
    }
}

struct Ich9IrqState {
    pirq_count: [i32; ICH9_LPC_NB_PIRQS],
    routes: [u8; ICH9_LPC_NB_PIRQS],
}

impl Ich9IrqState {
    /// The 8259 IRQ of a PIRQ, `None` when its route disables it.
    fn pic_irq(&self, pirq: usize) -> Option<usize> {
        let route = self.routes[pirq];
        (route & PIRQ_ROUT_IRQEN == 0).then_some(usize::from(route & PIRQ_ROUT_MASK))
    }
}

/// The root bus's INTx routing on `q35`.
pub struct Ich9IntxRouter {
    state: Mutex<Ich9IrqState>,
    gsis: Vec<Arc<dyn InterruptLine>>,
}

impl Ich9IntxRouter {
    /// A router driving `gsis[0..24]`.
    pub fn new(gsis: Vec<Arc<dyn InterruptLine>>) -> Self {
        Self {
            state: Mutex::new(Ich9IrqState {
                pirq_count: [0; ICH9_LPC_NB_PIRQS],
                routes: [PIRQ_ROUT_DEFAULT; ICH9_LPC_NB_PIRQS],
            }),
            gsis,
        }
    }

    fn drive(&self, gsi: usize, level: bool) {
        if let Some(line) = self.gsis.get(gsi) {
            line.set_level(level);
        }
    }

    /// Route registers changed. As in QEMU, no level is recomputed until a
    /// PIRQ next changes.
    fn set_routes(&self, routes: [u8; ICH9_LPC_NB_PIRQS]) {
        lock(&self.state).routes = routes;
    }
}

impl IntxRouting for Ich9IntxRouter {
    /// QEMU's `ich9_lpc_set_irq`: the PIRQ's own IOAPIC input, then the
    /// 8259 IRQ it is routed to, high while any enabled PIRQ routed there is.
    fn change_intx(&self, devfn: u8, pin: u8, change: i32) {
        let pirq = ich9_pirq(devfn_slot(devfn), pin);
        let mut state = lock(&self.state);
        state.pirq_count[pirq] += change;
        self.drive(ICH9_LPC_PIC_NUM_PINS + pirq, state.pirq_count[pirq] != 0);
        if let Some(irq) = state.pic_irq(pirq) {
            let level = (0..ICH9_LPC_NB_PIRQS)
                .any(|p| state.pic_irq(p) == Some(irq) && state.pirq_count[p] != 0);
            self.drive(irq, level);
        }
    }
}

pub struct Ich9Lpc {
    config: PciConfig,
    router: Arc<Ich9IntxRouter>,
}

impl Ich9Lpc {
    pub fn new(router: Arc<Ich9IntxRouter>) -> Self {
        let mut config = PciConfig::new(
            PCI_CONFIG_SPACE_SIZE,
            PCI_HEADER_TYPE_NORMAL,
            PciIds {
                vendor: PCI_VENDOR_ID_INTEL,
                device: PCI_DEVICE_ID_INTEL_ICH9_8,
                revision: 0x02,
                class: PCI_CLASS_BRIDGE_ISA,
                subsystem_vendor: PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
                subsystem: PCI_SUBDEVICE_ID_QEMU,
            },
        );
        // PMBASE bits 15:7; QEMU 7.2 then overwrites the low byte's mask
        // with ACPI_CTRL's (ACPI_EN | SCI_IRQ_SEL), so bits 0-2 and 7 are
        // writable there too.
        config.set_wmask_long(ICH9_LPC_PMBASE, 0x0000_ff87);
        let mut lpc = Self { config, router };
        lpc.reset();
        lpc
    }

    fn routes(&self) -> [u8; ICH9_LPC_NB_PIRQS] {
        let mut routes = [0; ICH9_LPC_NB_PIRQS];
        for (i, r) in routes.iter_mut().enumerate() {
            let base = if i < 4 {
                ICH9_LPC_PIRQA_ROUT
            } else {
                ICH9_LPC_PIRQE_ROUT - 4
            };
            *r = self.config.byte(base + i);
        }
        routes
    }
}

impl PciDevice for Ich9Lpc {
    fn type_name(&self) -> &'static str {
        "ICH9-LPC"
    }
    fn config(&self) -> &PciConfig {
        &self.config
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }
    fn write_config(&mut self, offset: usize, value: u32, len: usize) {
        self.config.write(offset, value, len);
        if ranges_overlap(offset, len, ICH9_LPC_PIRQA_ROUT, 4)
            || ranges_overlap(offset, len, ICH9_LPC_PIRQE_ROUT, 4)
        {
            self.router.set_routes(self.routes());
        }
        // Once SMI_LOCK is set it stays set (QEMU's `ich9_lpc_pmcon_update`).
        let smi_locked = self.config.byte(ICH9_LPC_GEN_PMCON_1) & GEN_PMCON_1_SMI_LOCK != 0;
        if ranges_overlap(offset, len, ICH9_LPC_GEN_PMCON_1, 8) && smi_locked {
            let wmask = self.config.wmask_byte(ICH9_LPC_GEN_PMCON_1) & !GEN_PMCON_1_SMI_LOCK;
            self.config.set_wmask_byte(ICH9_LPC_GEN_PMCON_1, wmask);
        }
    }
    /// QEMU's `ich9_lpc_reset`.
    fn reset(&mut self) {
        self.config.reset();
        for i in 0..4 {
            self.config
                .set_byte(ICH9_LPC_PIRQA_ROUT + i, PIRQ_ROUT_DEFAULT);
            self.config
                .set_byte(ICH9_LPC_PIRQE_ROUT + i, PIRQ_ROUT_DEFAULT);
        }
        self.config.set_byte(ICH9_LPC_ACPI_CTRL, 0);
        self.config.set_long(ICH9_LPC_PMBASE, PMBASE_DEFAULT);
        self.config.set_long(ICH9_LPC_RCBA, 0);
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

    /// QEMU's irr table: `(slot + intx) % 4 + 4` for ordinary slots,
    /// D25-29/31IR = 0x3210, D30 = PIRQE-H.
    #[test]
    fn pirq_table_matches_qemu() {
        assert_eq!(
            (0..4).map(|p| ich9_pirq(0, p)).collect::<Vec<_>>(),
            [4, 5, 6, 7]
        );
        assert_eq!(
            (0..4).map(|p| ich9_pirq(1, p)).collect::<Vec<_>>(),
            [5, 6, 7, 4]
        );
        assert_eq!(
            (0..4).map(|p| ich9_pirq(2, p)).collect::<Vec<_>>(),
            [6, 7, 4, 5]
        );
        assert_eq!(
            (0..4).map(|p| ich9_pirq(24, p)).collect::<Vec<_>>(),
            [4, 5, 6, 7]
        );
        assert_eq!(
            (0..4).map(|p| ich9_pirq(25, p)).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(
            (0..4).map(|p| ich9_pirq(30, p)).collect::<Vec<_>>(),
            [4, 5, 6, 7]
        );
        assert_eq!(
            (0..4).map(|p| ich9_pirq(31, p)).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn pirq_drives_its_gsi_and_the_routed_pic_irq() {
        let lines: Vec<Arc<RecordingLine>> = (0..24)
            .map(|_| Arc::new(RecordingLine::default()))
            .collect();
        let router = Arc::new(Ich9IntxRouter::new(
            lines
                .iter()
                .map(|l| l.clone() as Arc<dyn InterruptLine>)
                .collect(),
        ));
        let mut lpc = Ich9Lpc::new(router.clone());
        let mut bus = PciBus::new(router);
        // Slot 2 INTA is PIRQG: GSI 22.
        let function = TestFunction::plug(&mut bus, devfn(2, 0), 0);
        lock(&function).set_intx(true);
        assert!(lines[22].level());
        assert!(lines[..16].iter().all(|l| !l.level()));
        lock(&function).set_intx(false);
        lpc.write_config(0x6a, 10, 1);
        lock(&function).set_intx(true);
        assert!(lines[22].level() && lines[10].level());
        lock(&function).set_intx(false);
        assert!(!lines[22].level() && !lines[10].level());
    }
}

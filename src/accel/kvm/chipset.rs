//! KVM's in-kernel PICs, IOAPIC and PIT.

use std::sync::Arc;

use kvm_bindings::{
    kvm_irqchip, kvm_pit_config, kvm_pit_state2, KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER,
    KVM_IRQCHIP_PIC_SLAVE, KVM_PIT_SPEAKER_DUMMY,
};
use kvm_ioctls::VmFd;

use hw::core::irq::InterruptController;

use super::KvmError;
use crate::accel::LegacyChipset;

/// The in-kernel chipset, with the state it had when created so that a
/// machine reset can restore it.
pub struct KvmChipset {
    vm: Arc<VmFd>,
    power_on_chips: Vec<kvm_irqchip>,
    power_on_pit: kvm_pit_state2,
}

impl KvmChipset {
    /// Create the PICs, IOAPIC and PIT in `vm`. The PIT gets a dummy speaker
    /// port (0x61), as QEMU creates it when the speaker is not modelled.
    pub fn new(vm: Arc<VmFd>) -> Result<Self, KvmError> {
        vm.create_irq_chip()
            .map_err(|e| KvmError::Ioctl("KVM_CREATE_IRQCHIP", e))?;
        let pit = kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        vm.create_pit2(pit)
            .map_err(|e| KvmError::Ioctl("KVM_CREATE_PIT2", e))?;
        let mut power_on_chips = Vec::new();
        for chip_id in [
            KVM_IRQCHIP_PIC_MASTER,
            KVM_IRQCHIP_PIC_SLAVE,
            KVM_IRQCHIP_IOAPIC,
        ] {
            let mut chip = kvm_irqchip {
                chip_id,
                ..Default::default()
            };
            vm.get_irqchip(&mut chip)
                .map_err(|e| KvmError::Ioctl("KVM_GET_IRQCHIP", e))?;
            power_on_chips.push(chip);
        }
        let power_on_pit = vm
            .get_pit2()
            .map_err(|e| KvmError::Ioctl("KVM_GET_PIT2", e))?;
        Ok(Self {
            vm,
            power_on_chips,
            power_on_pit,
        })
    }
}

/// Interrupt lines into the in-kernel chips: KVM_IRQ_LINE drives the PIC
/// and the IOAPIC pin of a GSI together.
struct KvmIrqLines(Arc<VmFd>);

impl InterruptController for KvmIrqLines {
    fn set_irq(&self, gsi: u32, level: bool) {
        // Fails only for a GSI KVM has no route for, which the machine never
        // wires; nothing useful can be done about it at interrupt time.
        let _ = self.0.set_irq_line(gsi, level);
    }
}

impl LegacyChipset for KvmChipset {
    fn interrupt_controller(&self) -> Arc<dyn InterruptController> {
        Arc::new(KvmIrqLines(self.vm.clone()))
    }

    fn reset(&self) -> Result<(), KvmError> {
        for chip in &self.power_on_chips {
            self.vm
                .set_irqchip(chip)
                .map_err(|e| KvmError::Ioctl("KVM_SET_IRQCHIP", e))?;
        }
        self.vm
            .set_pit2(&self.power_on_pit)
            .map_err(|e| KvmError::Ioctl("KVM_SET_PIT2", e))
    }
}

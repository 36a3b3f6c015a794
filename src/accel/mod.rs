//! Accelerators: what runs the guest's CPUs and provides the PC's interrupt
//! controllers and timer (QEMU's `accel/`).
//!
//! Only KVM exists so far. The PIC, IOAPIC and PIT sit behind
//! `LegacyChipset` so that userspace models of them (for an accelerator
//! without an in-kernel irqchip, or `kernel-irqchip=off`) can stand in.

use std::sync::Arc;

use hw::core::irq::InterruptController;

pub mod kvm;

/// The PC's PICs, IOAPIC and PIT, wherever they are implemented.
pub trait LegacyChipset: Send + Sync {
    /// The controller ISA and PCI interrupt lines are wired to.
    fn interrupt_controller(&self) -> Arc<dyn InterruptController>;
    /// Put the PICs, IOAPIC and PIT back in their power-on state.
    fn reset(&self) -> Result<(), kvm::KvmError>;
}

//! Accelerators: what runs the guest's CPUs and provides the PC's interrupt
//! controllers and timer (QEMU's `accel/`).
//!
//! KVM runs guests; qtest runs none and lets a test drive the devices. The
//! PIC, IOAPIC and PIT sit behind `LegacyChipset`: KVM's in-kernel chips,
//! or the userspace models under qtest.

use std::sync::Arc;

use hw::core::irq::InterruptController;

pub mod kvm;
pub mod qtest;

/// The PC's PICs, IOAPIC and PIT, wherever they are implemented.
pub trait LegacyChipset: Send + Sync {
    /// The controller ISA and PCI interrupt lines are wired to.
    fn interrupt_controller(&self) -> Arc<dyn InterruptController>;
    /// Put the PICs, IOAPIC and PIT back in their power-on state.
    fn reset(&self) -> Result<(), kvm::KvmError>;
}

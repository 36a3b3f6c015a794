//! Interrupt controllers modelled in userspace, for machines that do not
//! use KVM's in-kernel ones: the 8259A pair, the IOAPIC, and the routing of
//! GSIs to them.

pub mod gsi;
pub mod i8259;
pub mod ioapic;
#[cfg(test)]
pub(crate) mod qtest;

//! The command line, parsed the way QEMU parses it, into a
//! `MachineDescription`.

pub mod description;

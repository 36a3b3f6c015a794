//! Small ISA devices: port 0x80, isa-debug-exit.

//! Character devices: the 16550A UART and the ISA debug console.

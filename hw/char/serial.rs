//! The 16550A UART, behaving as QEMU 7.2's `serial` core (`isa-serial` on a
//! PC).
//!
//! Eight one-byte registers; with LCR.DLAB set, offsets 0 and 1 are the
//! divisor latch. Transmission is immediate: a byte written to THR goes to the
//! character backend at once and THR/TSR empty again, as QEMU does whenever
//! its backend accepts the byte (no baud-rate pacing). The divisor only sets
//! the character time that paces the receive FIFO's character-timeout
//! interrupt, which is the one timer here (see `TimedDevice`).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::core::bus::{read_bytewise, write_bytewise, BusDevice};
use crate::core::chardev::{CharBackend, CharFrontend};
use crate::core::clock::{Clock, TimedDevice};
use crate::core::irq::InterruptLine;

/// Bytes of I/O space a UART decodes.
pub const SERIAL_IO_SIZE: u64 = 8;
/// How many ISA serial ports a PC has (`isa-serial` index 0..3).
pub const MAX_ISA_SERIAL_PORTS: usize = 4;
/// COM1..COM4 I/O bases, by `isa-serial` index.
pub const ISA_SERIAL_IO_BASES: [u16; MAX_ISA_SERIAL_PORTS] = [0x3f8, 0x2f8, 0x3e8, 0x2e8];
/// COM1..COM4 ISA interrupt lines, by `isa-serial` index.
pub const ISA_SERIAL_IRQS: [u8; MAX_ISA_SERIAL_PORTS] = [4, 3, 4, 3];
/// The UART input clock divided by 16: the baud rate of divisor 1.
pub const ISA_SERIAL_BAUDBASE: u32 = 115_200;

/// Where an `isa-serial` sits on the ISA bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsaSerialPlacement {
    pub index: usize,
    pub iobase: u16,
    pub irq: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaSerialError {
    #[error("Max. supported number of ISA serial ports is 4.")]
    TooManyPorts,
    #[error("Maximum value for \"irq\" is: 15")]
    IrqOutOfRange,
}

/// Resolve the `isa-serial` properties `index`, `iobase` and `irq` as QEMU
/// does: an unset index takes `next_free_index` (the count of serial ports
/// created so far), unset iobase and irq come from the index.
pub fn isa_serial_placement(
    index: Option<usize>,
    iobase: Option<u16>,
    irq: Option<u8>,
    next_free_index: usize,
) -> Result<IsaSerialPlacement, IsaSerialError> {
    let index = index.unwrap_or(next_free_index);
    if index >= MAX_ISA_SERIAL_PORTS {
        return Err(IsaSerialError::TooManyPorts);
    }
    let irq = irq.unwrap_or(ISA_SERIAL_IRQS[index]);
    if irq > 15 {
        return Err(IsaSerialError::IrqOutOfRange);
    }
    Ok(IsaSerialPlacement {
        index,
        iobase: iobase.unwrap_or(ISA_SERIAL_IO_BASES[index]),
        irq,
    })
}

const FIFO_LEN: usize = 16;

// Register offsets.
const RBR_THR_DLL: u64 = 0;
const IER_DLM: u64 = 1;
const IIR_FCR: u64 = 2;
const LCR: u64 = 3;
const MCR: u64 = 4;
const LSR: u64 = 5;
const MSR: u64 = 6;
// Offset 7 is the scratch register.

const LCR_DLAB: u8 = 0x80;

const IER_MSI: u8 = 0x08;
const IER_RLSI: u8 = 0x04;
const IER_THRI: u8 = 0x02;
const IER_RDI: u8 = 0x01;

const IIR_NO_INT: u8 = 0x01;
const IIR_ID: u8 = 0x06;
const IIR_MSI: u8 = 0x00;
const IIR_THRI: u8 = 0x02;
const IIR_RDI: u8 = 0x04;
const IIR_RLSI: u8 = 0x06;
const IIR_CTI: u8 = 0x0c;
const IIR_FIFO_ENABLED: u8 = 0xc0;

const MCR_LOOP: u8 = 0x10;
const MCR_OUT2: u8 = 0x08;

const MSR_DCD: u8 = 0x80;
const MSR_DSR: u8 = 0x20;
const MSR_CTS: u8 = 0x10;
const MSR_ANY_DELTA: u8 = 0x0f;

const LSR_TEMT: u8 = 0x40;
const LSR_THRE: u8 = 0x20;
const LSR_BI: u8 = 0x10;
const LSR_OE: u8 = 0x02;
const LSR_DR: u8 = 0x01;
/// LSR bits that raise the receiver line status interrupt.
const LSR_INT_ANY: u8 = 0x1e;

const FCR_ITL_MASK: u8 = 0xc0;
const FCR_XFR: u8 = 0x04;
const FCR_RFR: u8 = 0x02;
const FCR_FE: u8 = 0x01;
/// The FCR bits that stick (trigger level, DMA mode, enable).
const FCR_STICKY: u8 = 0xc9;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A 16550A UART.
pub struct Serial {
    irq: Arc<dyn InterruptLine>,
    backend: Arc<dyn CharBackend>,
    clock: Arc<dyn Clock>,
    baudbase: u32,

    divider: u16,
    rbr: u8,
    ier: u8,
    iir: u8,
    lcr: u8,
    mcr: u8,
    lsr: u8,
    msr: u8,
    scr: u8,
    fcr: u8,
    recv_fifo: VecDeque<u8>,
    recv_fifo_itl: usize,
    /// THR-empty interrupt pending (cleared by an IIR read that reports it).
    thr_ipending: bool,
    /// Character-timeout interrupt pending.
    timeout_ipending: bool,
    /// When the character-timeout timer fires, if armed.
    fifo_timeout_at: Option<Duration>,
    /// Time to send one character at the programmed line settings.
    char_transmit_time: Duration,
    irq_level: bool,
    /// `can_receive` answered 0: the backend waits for `accept_input`.
    input_stalled: Cell<bool>,
}

impl Serial {
    /// A UART with input clock `baudbase` * 16 (`ISA_SERIAL_BAUDBASE` on a
    /// PC), in its reset state. The clock times the receive timeout.
    pub fn new(
        irq: Arc<dyn InterruptLine>,
        backend: Arc<dyn CharBackend>,
        clock: Arc<dyn Clock>,
        baudbase: u32,
    ) -> Self {
        let mut serial = Self {
            irq,
            backend,
            clock,
            baudbase,
            divider: 0,
            rbr: 0,
            ier: 0,
            iir: 0,
            lcr: 0,
            mcr: 0,
            lsr: 0,
            msr: 0,
            scr: 0,
            fcr: 0,
            recv_fifo: VecDeque::with_capacity(FIFO_LEN),
            recv_fifo_itl: 1,
            thr_ipending: false,
            timeout_ipending: false,
            fifo_timeout_at: None,
            char_transmit_time: Duration::ZERO,
            irq_level: false,
            input_stalled: Cell::new(false),
        };
        serial.reset_registers();
        serial
    }

    fn reset_registers(&mut self) {
        self.rbr = 0;
        self.ier = 0;
        self.iir = IIR_NO_INT;
        self.lcr = 0;
        self.lsr = LSR_TEMT | LSR_THRE;
        // No modem lines behind a chardev: carrier, DSR and CTS read as on.
        self.msr = MSR_DCD | MSR_DSR | MSR_CTS;
        // 9600 baud, 8 data bits, no parity, 1 stop bit.
        self.divider = 0x0c;
        self.mcr = MCR_OUT2;
        self.scr = 0;
        self.fcr = 0;
        self.recv_fifo.clear();
        self.recv_fifo_itl = 1;
        self.thr_ipending = false;
        self.timeout_ipending = false;
        self.fifo_timeout_at = None;
        self.char_transmit_time = Duration::from_nanos(NANOS_PER_SEC / 9600 * 10);
        self.irq_level = false;
        self.irq.set_level(false);
    }

    fn fifo_enabled(&self) -> bool {
        self.fcr & FCR_FE != 0
    }

    fn loopback(&self) -> bool {
        self.mcr & MCR_LOOP != 0
    }

    /// Recompute IIR from the pending conditions, highest priority first,
    /// and drive the line (level-triggered: high while anything is pending).
    fn update_irq(&mut self) {
        let id = if self.ier & IER_RLSI != 0 && self.lsr & LSR_INT_ANY != 0 {
            IIR_RLSI
        } else if self.ier & IER_RDI != 0 && self.timeout_ipending {
            // Masked by IER.RDI: not in the datasheet, but what real parts do.
            IIR_CTI
        } else if self.ier & IER_RDI != 0
            && self.lsr & LSR_DR != 0
            && (!self.fifo_enabled() || self.recv_fifo.len() >= self.recv_fifo_itl)
        {
            IIR_RDI
        } else if self.ier & IER_THRI != 0 && self.thr_ipending {
            IIR_THRI
        } else if self.ier & IER_MSI != 0 && self.msr & MSR_ANY_DELTA != 0 {
            IIR_MSI
        } else {
            IIR_NO_INT
        };
        self.iir = id | (self.iir & 0xf0);
        let level = id != IIR_NO_INT;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    fn update_parameters(&mut self) {
        if self.divider == 0 || u32::from(self.divider) > self.baudbase {
            return;
        }
        let parity_bits = u64::from(self.lcr & 0x08 != 0);
        let stop_bits = if self.lcr & 0x04 != 0 { 2 } else { 1 };
        let data_bits = u64::from(self.lcr & 0x03) + 5;
        let frame_bits = 1 + parity_bits + data_bits + stop_bits;
        let speed = u64::from(self.baudbase / u32::from(self.divider));
        self.char_transmit_time = Duration::from_nanos(NANOS_PER_SEC / speed * frame_bits);
    }

    fn arm_fifo_timeout(&mut self) {
        self.fifo_timeout_at = Some(self.clock.now() + self.char_transmit_time * 4);
    }

    /// A byte written to THR: it goes through the shift register at once,
    /// to the backend or, in loopback mode, back into the receiver. THR
    /// empties again, so the THRE interrupt is raised anew after the write
    /// lowered it (the line drops and rises, giving the PIC a fresh edge).
    fn transmit(&mut self, byte: u8) {
        self.thr_ipending = false;
        self.lsr &= !(LSR_THRE | LSR_TEMT);
        self.update_irq();

        self.lsr |= LSR_THRE;
        self.thr_ipending = true;
        self.update_irq();
        if self.loopback() {
            self.receive_bytes(&[byte]);
        } else {
            self.backend.write(&[byte]);
        }
        self.lsr |= LSR_TEMT;
    }

    fn receive_bytes(&mut self, data: &[u8]) {
        if self.fifo_enabled() {
            for &byte in data {
                // An overrun does not overwrite what the FIFO holds.
                if self.recv_fifo.len() < FIFO_LEN {
                    self.recv_fifo.push_back(byte);
                } else {
                    self.lsr |= LSR_OE;
                }
            }
            self.lsr |= LSR_DR;
            self.arm_fifo_timeout();
        } else {
            for &byte in data {
                if self.lsr & LSR_DR != 0 {
                    self.lsr |= LSR_OE;
                }
                self.rbr = byte;
                self.lsr |= LSR_DR;
            }
        }
        self.update_irq();
    }

    fn read_rbr(&mut self) -> u8 {
        let value = if self.fifo_enabled() {
            let value = self.recv_fifo.pop_front().unwrap_or(0);
            if self.recv_fifo.is_empty() {
                self.lsr &= !(LSR_DR | LSR_BI);
                self.fifo_timeout_at = None;
            } else {
                self.arm_fifo_timeout();
            }
            self.timeout_ipending = false;
            value
        } else {
            self.lsr &= !(LSR_DR | LSR_BI);
            self.rbr
        };
        self.update_irq();
        // In loopback mode the receiver takes nothing from outside.
        if !self.loopback() && self.input_stalled.get() && self.can_receive() > 0 {
            self.input_stalled.set(false);
            self.backend.accept_input();
        }
        value
    }

    fn write_ier(&mut self, value: u8) {
        let changed = (self.ier ^ value) & 0x0f;
        self.ier = value & 0x0f;
        // Enabling the THRE interrupt while THR is empty raises it, even if
        // an IIR read had acknowledged it: not in the datasheet, but Windows
        // depends on it. Only a change of the bit resamples.
        if changed & IER_THRI != 0 {
            self.thr_ipending = self.ier & IER_THRI != 0 && self.lsr & LSR_THRE != 0;
        }
        if changed != 0 {
            self.update_irq();
        }
    }

    fn write_fcr(&mut self, mut value: u8) {
        // Switching the FIFOs on or off flushes both.
        if (value ^ self.fcr) & FCR_FE != 0 {
            value |= FCR_XFR | FCR_RFR;
        }
        if value & FCR_RFR != 0 {
            self.lsr &= !(LSR_DR | LSR_BI);
            self.fifo_timeout_at = None;
            self.timeout_ipending = false;
            self.recv_fifo.clear();
        }
        if value & FCR_XFR != 0 {
            self.lsr |= LSR_THRE;
            self.thr_ipending = true;
        }
        self.fcr = value & FCR_STICKY;
        if self.fifo_enabled() {
            self.iir |= IIR_FIFO_ENABLED;
            self.recv_fifo_itl = match self.fcr & FCR_ITL_MASK {
                0x00 => 1,
                0x40 => 4,
                0x80 => 8,
                _ => 14,
            };
        } else {
            self.iir &= !IIR_FIFO_ENABLED;
        }
        self.update_irq();
    }

    fn read_msr(&mut self) -> u8 {
        if self.loopback() {
            // The modem outputs feed the inputs: OUT2->DCD, OUT1->RI,
            // RTS->CTS, DTR->DSR.
            ((self.mcr & 0x0c) << 4) | ((self.mcr & 0x02) << 3) | ((self.mcr & 0x01) << 5)
        } else {
            let value = self.msr;
            if self.msr & MSR_ANY_DELTA != 0 {
                self.msr &= 0xf0;
                self.update_irq();
            }
            value
        }
    }

    fn read_register(&mut self, offset: u64) -> u8 {
        match offset & 7 {
            RBR_THR_DLL if self.lcr & LCR_DLAB != 0 => self.divider as u8,
            RBR_THR_DLL => self.read_rbr(),
            IER_DLM if self.lcr & LCR_DLAB != 0 => (self.divider >> 8) as u8,
            IER_DLM => self.ier,
            IIR_FCR => {
                let value = self.iir;
                // Reading IIR acknowledges a THRE interrupt it reports.
                if value & IIR_ID == IIR_THRI {
                    self.thr_ipending = false;
                    self.update_irq();
                }
                value
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                let value = self.lsr;
                // Reading LSR clears the break and overrun indications.
                if self.lsr & (LSR_BI | LSR_OE) != 0 {
                    self.lsr &= !(LSR_BI | LSR_OE);
                    self.update_irq();
                }
                value
            }
            MSR => self.read_msr(),
            _ => self.scr, // SCR
        }
    }

    fn write_register(&mut self, offset: u64, value: u8) {
        match offset & 7 {
            RBR_THR_DLL if self.lcr & LCR_DLAB != 0 => {
                self.divider = (self.divider & 0xff00) | u16::from(value);
                self.update_parameters();
            }
            RBR_THR_DLL => self.transmit(value),
            IER_DLM if self.lcr & LCR_DLAB != 0 => {
                self.divider = (self.divider & 0x00ff) | (u16::from(value) << 8);
                self.update_parameters();
            }
            IER_DLM => self.write_ier(value),
            IIR_FCR => self.write_fcr(value),
            LCR => {
                self.lcr = value;
                self.update_parameters();
            }
            MCR => self.mcr = value & 0x1f,
            LSR | MSR => {}
            _ => self.scr = value, // SCR
        }
    }
}

impl BusDevice for Serial {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_bytewise(offset, data, |o| self.read_register(o));
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_bytewise(offset, data, |o, v| self.write_register(o, v));
    }

    fn reset(&mut self) {
        self.reset_registers();
    }
}

impl CharFrontend for Serial {
    fn can_receive(&self) -> usize {
        let room = if self.fifo_enabled() {
            let count = self.recv_fifo.len();
            if count >= FIFO_LEN {
                0
            } else if count <= self.recv_fifo_itl {
                // Offer only up to the trigger level, then a byte at a time,
                // so the guest sees the interrupt at the level it chose
                // rather than a FIFO filled in one go.
                self.recv_fifo_itl - count
            } else {
                1
            }
        } else {
            usize::from(self.lsr & LSR_DR == 0)
        };
        if room == 0 {
            self.input_stalled.set(true);
        }
        room
    }

    fn receive(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.receive_bytes(data);
        }
    }
}

impl TimedDevice for Serial {
    fn next_deadline(&self) -> Option<Duration> {
        self.fifo_timeout_at
    }

    /// The character timeout: data sat in the receive FIFO for four
    /// character times without the guest reading any.
    fn on_timer(&mut self, now: Duration) {
        match self.fifo_timeout_at {
            Some(at) if at <= now => {
                self.fifo_timeout_at = None;
                if !self.recv_fifo.is_empty() {
                    self.timeout_ipending = true;
                    self.update_irq();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{ManualClock, RecordingBackend, RecordingLine};

    struct Rig {
        uart: Serial,
        irq: Arc<RecordingLine>,
        backend: Arc<RecordingBackend>,
        clock: Arc<ManualClock>,
    }

    fn rig() -> Rig {
        let irq = Arc::new(RecordingLine::default());
        let backend = Arc::new(RecordingBackend::default());
        let clock = Arc::new(ManualClock::at(Duration::from_secs(100)));
        let uart = Serial::new(
            irq.clone(),
            backend.clone(),
            clock.clone(),
            ISA_SERIAL_BAUDBASE,
        );
        Rig {
            uart,
            irq,
            backend,
            clock,
        }
    }

    impl Rig {
        fn inb(&mut self, offset: u64) -> u8 {
            let mut b = [0u8];
            self.uart.read(offset, &mut b);
            b[0]
        }
        fn outb(&mut self, offset: u64, value: u8) {
            self.uart.write(offset, &[value]);
        }
    }

    #[test]
    fn power_on_registers_match_qemu() {
        // QEMU 7.2 with -serial null: IIR 0x01, LCR 0, MCR 0x08 (OUT2),
        // LSR 0x60 (THRE|TEMT), MSR 0xb0 (DCD|DSR|CTS).
        let mut r = rig();
        assert_eq!(r.inb(IIR_FCR), 0x01);
        assert_eq!(r.inb(LCR), 0x00);
        assert_eq!(r.inb(MCR), 0x08);
        assert_eq!(r.inb(LSR), 0x60);
        assert_eq!(r.inb(MSR), 0xb0);
        assert!(!r.irq.level());
    }

    #[test]
    fn byte_written_to_thr_reaches_backend_at_once() {
        let mut r = rig();
        for &b in b"hi" {
            r.outb(RBR_THR_DLL, b);
        }
        assert_eq!(r.backend.written(), b"hi");
        // Nothing is pacing output: THR and the shift register are empty.
        assert_eq!(r.inb(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
    }

    #[test]
    fn enabling_etbei_with_thr_empty_raises_thre_interrupt() {
        let mut r = rig();
        r.outb(IER_DLM, IER_THRI);
        assert!(r.irq.level());
        assert_eq!(r.inb(IIR_FCR), IIR_THRI);
        // Reading IIR while it reports THRE acknowledges it.
        assert!(!r.irq.level());
        assert_eq!(r.inb(IIR_FCR), IIR_NO_INT);
        // Writing the same IER again does not resample THRE...
        r.outb(IER_DLM, IER_THRI);
        assert!(!r.irq.level());
        // ...but turning ETBEI off and on does (what Windows relies on).
        r.outb(IER_DLM, 0);
        r.outb(IER_DLM, IER_THRI);
        assert!(r.irq.level());
    }

    #[test]
    fn enabling_the_fifo_flushes_it_and_raises_thre_again() {
        // QEMU 7.2 trace: IER=2; IIR 0x02, 0x01 (acknowledged); FCR=0x41;
        // IIR 0xc2: the transmit FIFO reset re-arms THRE.
        let mut r = rig();
        r.outb(IER_DLM, IER_THRI);
        assert_eq!(r.inb(IIR_FCR), 0x02);
        assert_eq!(r.inb(IIR_FCR), 0x01);
        r.outb(IIR_FCR, 0x41);
        assert_eq!(r.inb(IIR_FCR), 0xc2);
        assert_eq!(r.inb(IIR_FCR), 0xc1);
    }

    #[test]
    fn thr_write_drops_and_raises_the_line_again() {
        let mut r = rig();
        r.outb(IER_DLM, IER_THRI);
        let before = r.irq.rising_edges();
        r.outb(RBR_THR_DLL, b'x');
        // A fresh rising edge for the (edge-triggered) PIC after each byte.
        assert_eq!(r.irq.rising_edges(), before + 1);
        assert!(r.irq.level());
        assert_eq!(r.inb(IIR_FCR) & 0x0f, IIR_THRI);
    }

    #[test]
    fn receive_sets_lsr_dr_and_rbr_read_clears_it() {
        let mut r = rig();
        assert_eq!(r.uart.can_receive(), 1);
        r.uart.receive(b"a");
        assert_eq!(r.inb(LSR) & LSR_DR, LSR_DR);
        assert!(!r.irq.level(), "IER.ERBFI is off");
        assert_eq!(r.uart.can_receive(), 0, "16450 mode holds one byte");
        assert_eq!(r.inb(RBR_THR_DLL), b'a');
        assert_eq!(r.inb(LSR) & LSR_DR, 0);
    }

    #[test]
    fn iir_reports_the_highest_priority_interrupt() {
        // Priority: line status > received data > THR empty > modem status.
        let mut r = rig();
        r.outb(IER_DLM, IER_RLSI | IER_RDI | IER_THRI);
        assert_eq!(r.inb(IIR_FCR) & 0x0f, IIR_THRI);
        r.outb(IER_DLM, IER_RLSI | IER_RDI);
        r.outb(IER_DLM, IER_RLSI | IER_RDI | IER_THRI);
        r.uart.receive(b"1");
        assert_eq!(r.inb(IIR_FCR) & 0x0f, IIR_RDI);
        // A second byte before the first was read: overrun, a line status
        // condition, which outranks received data.
        r.uart.receive(b"2");
        assert_eq!(r.inb(IIR_FCR) & 0x0f, IIR_RLSI);
        // Reading LSR clears OE; received data is next.
        assert_eq!(r.inb(LSR) & LSR_OE, LSR_OE);
        assert_eq!(r.inb(IIR_FCR) & 0x0f, IIR_RDI);
        assert_eq!(r.inb(RBR_THR_DLL), b'2');
        assert!(r.irq.level());
        assert_eq!(r.inb(IIR_FCR) & 0x0f, IIR_THRI);
        assert!(!r.irq.level(), "the IIR read acknowledged THRE");
    }

    #[test]
    fn fifo_interrupts_at_trigger_level() {
        let mut r = rig();
        // FIFO on, trigger level 4 (FCR bits 7:6 = 01).
        r.outb(IIR_FCR, 0x41);
        assert_eq!(r.inb(IIR_FCR) & 0xc0, 0xc0, "IIR shows FIFOs enabled");
        r.outb(IER_DLM, IER_RDI);
        // QEMU offers input only up to the trigger level.
        assert_eq!(r.uart.can_receive(), 4);
        r.uart.receive(b"abc");
        assert_eq!(r.inb(LSR) & LSR_DR, LSR_DR);
        assert!(!r.irq.level(), "below the trigger level");
        assert_eq!(r.uart.can_receive(), 1);
        r.uart.receive(b"d");
        assert!(r.irq.level());
        assert_eq!(r.inb(IIR_FCR), 0xc0 | IIR_RDI);
        for &expected in b"abcd" {
            assert_eq!(r.inb(RBR_THR_DLL), expected);
        }
        assert_eq!(r.inb(LSR) & LSR_DR, 0);
        assert!(!r.irq.level());
    }

    #[test]
    fn fifo_character_timeout_fires_after_four_character_times() {
        let mut r = rig();
        r.outb(IIR_FCR, 0x81); // trigger level 8
        r.outb(IER_DLM, IER_RDI);
        r.uart.receive(b"x");
        assert!(!r.irq.level());
        // 9600 baud 8N1: 10 bits of 104166 ns each per character.
        let deadline = r.clock.now() + Duration::from_nanos(4 * 1_041_660);
        assert_eq!(r.uart.next_deadline(), Some(deadline));
        r.uart.on_timer(deadline - Duration::from_nanos(1));
        assert!(!r.irq.level(), "not due yet");
        r.uart.on_timer(deadline);
        assert!(r.irq.level());
        assert_eq!(r.inb(IIR_FCR), 0xc0 | IIR_CTI);
        assert_eq!(r.inb(RBR_THR_DLL), b'x');
        assert!(!r.irq.level());
        assert_eq!(r.uart.next_deadline(), None);
    }

    #[test]
    fn divisor_latch_sets_the_character_time() {
        let mut r = rig();
        r.outb(LCR, LCR_DLAB | 0x03);
        r.outb(RBR_THR_DLL, 1); // 115200 baud
        r.outb(IER_DLM, 0);
        assert_eq!(r.inb(RBR_THR_DLL), 1);
        assert_eq!(r.inb(IER_DLM), 0);
        r.outb(LCR, 0x03);
        assert!(r.backend.written().is_empty(), "DLL write is not THR");
        r.outb(IIR_FCR, 0x01);
        r.uart.receive(b"z");
        let char_time = Duration::from_nanos(1_000_000_000 / 115_200 * 10);
        assert_eq!(r.uart.next_deadline(), Some(r.clock.now() + char_time * 4));
    }

    #[test]
    fn loopback_returns_transmitted_bytes_and_modem_lines() {
        let mut r = rig();
        r.outb(MCR, MCR_LOOP | 0x0f);
        // Outputs loop to inputs: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
        assert_eq!(r.inb(MSR), 0xf0);
        r.outb(MCR, MCR_LOOP | 0x01);
        assert_eq!(r.inb(MSR), 0x20);
        r.outb(RBR_THR_DLL, 0x5a);
        assert!(r.backend.written().is_empty());
        assert_eq!(r.inb(LSR) & LSR_DR, LSR_DR);
        assert_eq!(r.inb(RBR_THR_DLL), 0x5a);
        assert_eq!(r.backend.accept_input_calls(), 0);
    }

    #[test]
    fn draining_a_full_receiver_asks_the_backend_for_more() {
        let mut r = rig();
        r.uart.receive(b"q");
        assert_eq!(r.uart.can_receive(), 0);
        assert_eq!(r.backend.accept_input_calls(), 0);
        r.inb(RBR_THR_DLL);
        assert_eq!(r.backend.accept_input_calls(), 1);
        // No stall, no call.
        r.uart.receive(b"r");
        r.inb(RBR_THR_DLL);
        assert_eq!(r.backend.accept_input_calls(), 1);
    }

    #[test]
    fn fifo_overrun_keeps_contents_and_sets_oe() {
        let mut r = rig();
        r.outb(IIR_FCR, 0xc1);
        let sixteen: Vec<u8> = (0..16).collect();
        r.uart.receive(&sixteen);
        r.uart.receive(&[99]);
        assert_eq!(r.inb(LSR) & LSR_OE, LSR_OE);
        assert_eq!(r.inb(LSR) & LSR_OE, 0, "reading LSR clears OE");
        for expected in 0..16 {
            assert_eq!(r.inb(RBR_THR_DLL), expected);
        }
    }

    #[test]
    fn reset_returns_to_power_on_state() {
        let mut r = rig();
        r.outb(IIR_FCR, 0x01);
        r.outb(IER_DLM, 0x0f);
        r.outb(LCR, 0x1b);
        r.outb(7, 0x77);
        r.uart.receive(b"k");
        r.uart.reset();
        assert_eq!(r.inb(IER_DLM), 0);
        assert_eq!(r.inb(IIR_FCR), 0x01);
        assert_eq!(r.inb(LSR), 0x60);
        assert_eq!(r.inb(7), 0);
        assert!(!r.irq.level());
        assert_eq!(r.uart.next_deadline(), None);
    }

    #[test]
    fn isa_placement_follows_qemu_defaults_and_limits() {
        let com = |i| isa_serial_placement(None, None, None, i).unwrap();
        assert_eq!((com(0).iobase, com(0).irq), (0x3f8, 4));
        assert_eq!((com(1).iobase, com(1).irq), (0x2f8, 3));
        assert_eq!((com(2).iobase, com(2).irq), (0x3e8, 4));
        assert_eq!((com(3).iobase, com(3).irq), (0x2e8, 3));
        let explicit = isa_serial_placement(Some(1), Some(0x500), Some(5), 0).unwrap();
        assert_eq!(
            (explicit.index, explicit.iobase, explicit.irq),
            (1, 0x500, 5)
        );
        assert_eq!(
            isa_serial_placement(None, None, None, 4)
                .unwrap_err()
                .to_string(),
            "Max. supported number of ISA serial ports is 4."
        );
        assert_eq!(
            isa_serial_placement(Some(0), None, Some(16), 0)
                .unwrap_err()
                .to_string(),
            "Maximum value for \"irq\" is: 15"
        );
    }
}

//! The i8042 PS/2 controller at ports 0x60 (data) and 0x64 (status and
//! command), as QEMU 7.2's pckbd.c with its default `extended-state=on`.
//!
//! The controller has one output buffer. Its own replies (self test, command
//! byte, output port) take precedence over keyboard bytes, which take
//! precedence over mouse bytes; a byte stays in the buffer until the guest
//! reads port 0x60. IRQ 1 is high while a keyboard or controller byte waits
//! (and the command byte enables it), IRQ 12 while a mouse byte waits.
//!
//! The output port carries the A20 gate (bit 1) and the CPU reset line
//! (bit 0, active low). With KVM, A20 is not emulated beyond its value:
//! `a20_enabled()` is there for whoever wants it.

use std::sync::{Arc, Mutex};

use super::keymap::Qcode;
use super::ps2::{Ps2Keyboard, Ps2Mouse};
use crate::core::bus::{lock, BusDevice};
use crate::core::irq::InterruptLine;
use crate::core::system::{SystemControl, SystemRequest};

/// I/O port of the data register.
pub const I8042_DATA_PORT: u16 = 0x60;
/// I/O port of the status (read) and command (write) register.
pub const I8042_COMMAND_PORT: u16 = 0x64;
/// ISA interrupt line of the keyboard.
pub const I8042_KBD_IRQ: u8 = 1;
/// ISA interrupt line of the mouse.
pub const I8042_MOUSE_IRQ: u8 = 12;

// Controller commands.
const CCMD_READ_MODE: u8 = 0x20;
const CCMD_WRITE_MODE: u8 = 0x60;
const CCMD_MOUSE_DISABLE: u8 = 0xa7;
const CCMD_MOUSE_ENABLE: u8 = 0xa8;
const CCMD_TEST_MOUSE: u8 = 0xa9;
const CCMD_SELF_TEST: u8 = 0xaa;
const CCMD_KBD_TEST: u8 = 0xab;
const CCMD_KBD_DISABLE: u8 = 0xad;
const CCMD_KBD_ENABLE: u8 = 0xae;
const CCMD_READ_INPORT: u8 = 0xc0;
const CCMD_READ_OUTPORT: u8 = 0xd0;
const CCMD_WRITE_OUTPORT: u8 = 0xd1;
const CCMD_WRITE_OBUF: u8 = 0xd2;
const CCMD_WRITE_AUX_OBUF: u8 = 0xd3;
const CCMD_WRITE_MOUSE: u8 = 0xd4;
const CCMD_DISABLE_A20: u8 = 0xdd;
const CCMD_ENABLE_A20: u8 = 0xdf;
/// 0xf0..0xff pulse the output port bits whose command bits are 0.
const CCMD_PULSE_BITS_3_0: u8 = 0xf0;

// Status register.
const STAT_OBF: u8 = 0x01;
const STAT_SELFTEST: u8 = 0x04;
const STAT_CMD: u8 = 0x08;
const STAT_UNLOCKED: u8 = 0x10;
const STAT_MOUSE_OBF: u8 = 0x20;

// Command byte ("mode").
const MODE_KBD_INT: u8 = 0x01;
const MODE_MOUSE_INT: u8 = 0x02;
const MODE_DISABLE_KBD: u8 = 0x10;
const MODE_DISABLE_MOUSE: u8 = 0x20;
const MODE_KCC: u8 = 0x40;

// Output port.
const OUT_RESET: u8 = 0x01;
const OUT_A20: u8 = 0x02;
const OUT_OBF: u8 = 0x10;
const OUT_MOUSE_OBF: u8 = 0x20;
/// Bits QEMU keeps set in the output port by default (guests write 0xdd and
/// 0xdf to gate A20).
const OUT_ONES: u8 = 0xcc;

// Who has a byte for the output buffer. The keyboard and mouse bits equal
// the command byte's disable bits, so a disabled interface masks its data.
const PENDING_CTRL_KBD: u8 = 0x04;
const PENDING_CTRL_AUX: u8 = 0x08;
const PENDING_KBD: u8 = MODE_DISABLE_KBD;
const PENDING_AUX: u8 = MODE_DISABLE_MOUSE;

/// Where the byte in the output buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputSource {
    None,
    Controller,
    Keyboard,
    Mouse,
}

pub struct I8042 {
    kbd_irq: Arc<dyn InterruptLine>,
    mouse_irq: Arc<dyn InterruptLine>,
    system: Arc<dyn SystemControl>,
    keyboard: Ps2Keyboard,
    mouse: Ps2Mouse,

    /// A command waiting for its data byte at port 0x60.
    write_cmd: Option<u8>,
    status: u8,
    mode: u8,
    outport: u8,
    pending: u8,
    source: OutputSource,
    /// The output buffer: what port 0x60 reads.
    obdata: u8,
    /// The controller's own reply waiting for the output buffer.
    cbdata: u8,
    irq_levels: (bool, bool),
}

impl I8042 {
    pub fn new(
        kbd_irq: Arc<dyn InterruptLine>,
        mouse_irq: Arc<dyn InterruptLine>,
        system: Arc<dyn SystemControl>,
    ) -> Self {
        let mut controller = Self {
            kbd_irq,
            mouse_irq,
            system,
            keyboard: Ps2Keyboard::default(),
            mouse: Ps2Mouse::default(),
            write_cmd: None,
            status: 0,
            mode: 0,
            outport: 0,
            pending: 0,
            source: OutputSource::None,
            obdata: 0,
            cbdata: 0,
            irq_levels: (false, false),
        };
        controller.reset();
        controller
    }

    /// Machine reset: the controller and both PS/2 devices.
    pub fn reset(&mut self) {
        self.write_cmd = None;
        self.mode = MODE_KBD_INT | MODE_MOUSE_INT;
        self.status = STAT_CMD | STAT_UNLOCKED;
        self.outport = OUT_RESET | OUT_A20 | OUT_ONES;
        self.pending = 0;
        self.keyboard.reset();
        self.mouse.reset();
        self.deassert_irq();
    }

    /// The level the output port drives on the A20 line.
    pub fn a20_enabled(&self) -> bool {
        self.outport & OUT_A20 != 0
    }

    /// A key pressed or released on the keyboard (`send-key`, a display):
    /// see `Ps2Keyboard::key_event`.
    pub fn key_event(&mut self, key: Qcode, down: bool) {
        self.keyboard.key_event(key, down);
        self.update_pending();
    }

    pub fn keyboard(&self) -> &Ps2Keyboard {
        &self.keyboard
    }

    pub fn mouse(&self) -> &Ps2Mouse {
        &self.mouse
    }

    fn update_irq_lines(&mut self) {
        let mut kbd = false;
        let mut mouse = false;
        if self.status & STAT_OBF != 0 {
            if self.status & STAT_MOUSE_OBF != 0 {
                mouse = self.mode & MODE_MOUSE_INT != 0;
            } else {
                // Not raising IRQ 1 while the keyboard interface is disabled
                // spares modelling the real controller's delays.
                kbd = self.mode & MODE_KBD_INT != 0 && self.mode & MODE_DISABLE_KBD == 0;
            }
        }
        if kbd != self.irq_levels.0 {
            self.kbd_irq.set_level(kbd);
        }
        if mouse != self.irq_levels.1 {
            self.mouse_irq.set_level(mouse);
        }
        self.irq_levels = (kbd, mouse);
    }

    fn deassert_irq(&mut self) {
        self.status &= !(STAT_OBF | STAT_MOUSE_OBF);
        self.outport &= !(OUT_OBF | OUT_MOUSE_OBF);
        self.update_irq_lines();
    }

    /// Pending sources whose interface is enabled.
    fn visible_pending(&self) -> u8 {
        self.pending & (!self.mode | !(PENDING_KBD | PENDING_AUX))
    }

    /// Fill the output buffer from the highest-priority pending source.
    fn load_output_buffer(&mut self) {
        let pending = self.visible_pending();
        self.status &= !(STAT_OBF | STAT_MOUSE_OBF);
        self.outport &= !(OUT_OBF | OUT_MOUSE_OBF);
        if pending != 0 {
            self.status |= STAT_OBF;
            self.outport |= OUT_OBF;
            let from_mouse = if pending & PENDING_CTRL_KBD != 0 {
                self.source = OutputSource::Controller;
                false
            } else if pending & PENDING_CTRL_AUX != 0 {
                self.source = OutputSource::Controller;
                true
            } else if pending & PENDING_KBD != 0 {
                self.source = OutputSource::Keyboard;
                false
            } else {
                self.source = OutputSource::Mouse;
                true
            };
            if from_mouse {
                self.status |= STAT_MOUSE_OBF;
                self.outport |= OUT_MOUSE_OBF;
            }
        }
        self.update_irq_lines();
    }

    /// Take the PS/2 devices' queues into account, and fill the output
    /// buffer if it is empty.
    fn update_pending(&mut self) {
        self.pending &= !(PENDING_KBD | PENDING_AUX);
        if self.keyboard.has_data() {
            self.pending |= PENDING_KBD;
        }
        if self.mouse.has_data() {
            self.pending |= PENDING_AUX;
        }
        // A full buffer is refilled when the guest reads it.
        if self.status & STAT_OBF == 0 && self.visible_pending() != 0 {
            self.load_output_buffer();
        }
    }

    /// Queue a reply of the controller itself, as if from the keyboard
    /// (`aux` false) or the mouse.
    fn queue_reply(&mut self, byte: u8, aux: bool) {
        self.cbdata = byte;
        self.pending &= !(PENDING_CTRL_KBD | PENDING_CTRL_AUX);
        self.pending |= if aux {
            PENDING_CTRL_AUX
        } else {
            PENDING_CTRL_KBD
        };
        self.update_pending();
    }

    fn write_outport(&mut self, value: u8) {
        self.outport = value;
        // Bit 0 low holds the CPU in reset.
        if value & OUT_RESET == 0 {
            self.system.request(SystemRequest::Reset);
        }
    }

    /// Port 0x64 read.
    pub fn read_status(&self) -> u8 {
        self.status
    }

    /// Port 0x64 write: a controller command.
    pub fn write_command(&mut self, command: u8) {
        if command & CCMD_PULSE_BITS_3_0 == CCMD_PULSE_BITS_3_0 {
            // Pulsing bit 0 of the output port (command bit 0 clear) resets
            // the CPU; pulsing the other bits does nothing useful.
            if command & 1 == 0 {
                self.system.request(SystemRequest::Reset);
            }
            return;
        }
        match command {
            CCMD_READ_MODE => self.queue_reply(self.mode, false),
            CCMD_WRITE_MODE | CCMD_WRITE_OBUF | CCMD_WRITE_AUX_OBUF | CCMD_WRITE_MOUSE
            | CCMD_WRITE_OUTPORT => self.write_cmd = Some(command),
            CCMD_MOUSE_DISABLE => self.mode |= MODE_DISABLE_MOUSE,
            CCMD_MOUSE_ENABLE => {
                self.mode &= !MODE_DISABLE_MOUSE;
                self.update_pending();
            }
            // Interface tests answer "no error".
            CCMD_TEST_MOUSE | CCMD_KBD_TEST => self.queue_reply(0x00, false),
            CCMD_SELF_TEST => {
                self.status |= STAT_SELFTEST;
                self.queue_reply(0x55, false);
            }
            CCMD_KBD_DISABLE => self.mode |= MODE_DISABLE_KBD,
            CCMD_KBD_ENABLE => {
                self.mode &= !MODE_DISABLE_KBD;
                self.update_pending();
            }
            // Input port: keyboard not inhibited.
            CCMD_READ_INPORT => self.queue_reply(0x80, false),
            CCMD_READ_OUTPORT => self.queue_reply(self.outport, false),
            CCMD_ENABLE_A20 => self.outport |= OUT_A20,
            CCMD_DISABLE_A20 => self.outport &= !OUT_A20,
            // Unsupported commands are ignored (QEMU logs a guest error).
            _ => {}
        }
    }

    /// Port 0x60 read: the output buffer, which then refills from whatever
    /// is pending. With nothing new, the last byte reads again.
    pub fn read_data(&mut self) -> u8 {
        if self.status & STAT_OBF != 0 {
            self.deassert_irq();
            self.obdata = match self.source {
                OutputSource::Keyboard => self.keyboard.read_data(),
                OutputSource::Mouse => self.mouse.read_data(),
                OutputSource::Controller => {
                    self.pending &= !(PENDING_CTRL_KBD | PENDING_CTRL_AUX);
                    self.cbdata
                }
                OutputSource::None => self.obdata,
            };
            self.update_pending();
        }
        self.obdata
    }

    /// Port 0x60 write: the data byte of a pending command, or a byte for
    /// the keyboard.
    pub fn write_data(&mut self, value: u8) {
        match self.write_cmd.take() {
            None => {
                self.keyboard.write(value);
                // Talking to the keyboard re-enables its interface.
                self.mode &= !MODE_DISABLE_KBD;
                self.update_pending();
            }
            Some(CCMD_WRITE_MODE) => {
                self.mode = value;
                self.keyboard.set_translation(value & MODE_KCC != 0);
                // The interrupt enables act on the lines at once; enabling an
                // interface may bring its pending data forward.
                self.update_irq_lines();
                self.update_pending();
            }
            Some(CCMD_WRITE_OBUF) => self.queue_reply(value, false),
            Some(CCMD_WRITE_AUX_OBUF) => self.queue_reply(value, true),
            Some(CCMD_WRITE_OUTPORT) => self.write_outport(value),
            Some(CCMD_WRITE_MOUSE) => {
                self.mouse.write(value);
                self.mode &= !MODE_DISABLE_MOUSE;
                self.update_pending();
            }
            Some(_) => {}
        }
    }
}

/// One of the controller's two ports on the I/O bus. Both share the
/// controller; resetting either resets it (a reset is idempotent).
pub struct I8042Port {
    controller: Arc<Mutex<I8042>>,
    is_command_port: bool,
}

impl I8042Port {
    /// The data port, for `I8042_DATA_PORT`.
    pub fn data(controller: Arc<Mutex<I8042>>) -> Self {
        Self {
            controller,
            is_command_port: false,
        }
    }

    /// The status/command port, for `I8042_COMMAND_PORT`.
    pub fn command(controller: Arc<Mutex<I8042>>) -> Self {
        Self {
            controller,
            is_command_port: true,
        }
    }
}

impl BusDevice for I8042Port {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        let mut controller = lock(&self.controller);
        for byte in data.iter_mut() {
            *byte = if self.is_command_port {
                controller.read_status()
            } else {
                controller.read_data()
            };
        }
    }

    fn write(&mut self, _offset: u64, data: &[u8]) {
        let mut controller = lock(&self.controller);
        for &byte in data {
            if self.is_command_port {
                controller.write_command(byte);
            } else {
                controller.write_data(byte);
            }
        }
    }

    fn reset(&mut self) {
        lock(&self.controller).reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{RecordingLine, RecordingSystem};

    struct Rig {
        kbc: I8042,
        kbd_irq: Arc<RecordingLine>,
        mouse_irq: Arc<RecordingLine>,
        system: Arc<RecordingSystem>,
    }

    fn rig() -> Rig {
        let kbd_irq = Arc::new(RecordingLine::default());
        let mouse_irq = Arc::new(RecordingLine::default());
        let system = Arc::new(RecordingSystem::default());
        let kbc = I8042::new(kbd_irq.clone(), mouse_irq.clone(), system.clone());
        Rig {
            kbc,
            kbd_irq,
            mouse_irq,
            system,
        }
    }

    impl Rig {
        /// Read every byte the controller has for the guest.
        fn drain(&mut self) -> Vec<u8> {
            let mut bytes = vec![];
            while self.kbc.read_status() & STAT_OBF != 0 {
                bytes.push(self.kbc.read_data());
            }
            bytes
        }
    }

    #[test]
    fn power_on_status_matches_qemu() {
        // QEMU 7.2: `inb 0x64` reads 0x18, `inb 0x60` reads 0.
        let mut r = rig();
        assert_eq!(r.kbc.read_status(), 0x18);
        assert_eq!(r.kbc.read_data(), 0);
        assert!(r.kbc.a20_enabled());
    }

    #[test]
    fn self_test_returns_0x55_and_sets_system_flag() {
        let mut r = rig();
        r.kbc.write_command(CCMD_SELF_TEST);
        assert_eq!(r.kbc.read_status() & (STAT_OBF | STAT_SELFTEST), 0x05);
        assert!(r.kbd_irq.level(), "mode enables IRQ 1 at reset");
        assert_eq!(r.kbc.read_data(), 0x55);
        assert!(!r.kbd_irq.level());
        assert_eq!(r.kbc.read_status() & STAT_OBF, 0);
    }

    #[test]
    fn interface_tests_report_no_error() {
        let mut r = rig();
        r.kbc.write_command(CCMD_KBD_TEST);
        assert_eq!(r.drain(), vec![0x00]);
        r.kbc.write_command(CCMD_TEST_MOUSE);
        assert_eq!(r.drain(), vec![0x00]);
    }

    #[test]
    fn command_byte_reads_back_what_was_written() {
        let mut r = rig();
        r.kbc.write_command(CCMD_READ_MODE);
        assert_eq!(r.drain(), vec![MODE_KBD_INT | MODE_MOUSE_INT]);
        r.kbc.write_command(CCMD_WRITE_MODE);
        r.kbc.write_data(0x65);
        r.kbc.write_command(CCMD_READ_MODE);
        // IRQ 1 is enabled by bit 0 of the command byte just written.
        assert!(r.kbd_irq.level());
        assert_eq!(r.drain(), vec![0x65]);
    }

    #[test]
    fn pulse_output_line_0xfe_requests_reset() {
        let mut r = rig();
        r.kbc.write_command(0xff); // pulse nothing
        r.kbc.write_command(0xfd); // bit 1 only
        assert!(r.system.requests().is_empty());
        r.kbc.write_command(0xfe);
        assert_eq!(r.system.requests(), vec![SystemRequest::Reset]);
    }

    #[test]
    fn output_port_controls_a20_and_reset() {
        let mut r = rig();
        r.kbc.write_command(CCMD_READ_OUTPORT);
        // Reset line high, A20 on, QEMU's default ones.
        assert_eq!(r.drain(), vec![0xcf]);
        r.kbc.write_command(CCMD_WRITE_OUTPORT);
        r.kbc.write_data(0xdd);
        assert!(!r.kbc.a20_enabled());
        r.kbc.write_command(CCMD_WRITE_OUTPORT);
        r.kbc.write_data(0xdf);
        assert!(r.kbc.a20_enabled());
        assert!(r.system.requests().is_empty());
        r.kbc.write_command(CCMD_DISABLE_A20);
        assert!(!r.kbc.a20_enabled());
        r.kbc.write_command(CCMD_ENABLE_A20);
        assert!(r.kbc.a20_enabled());
        r.kbc.write_command(CCMD_WRITE_OUTPORT);
        r.kbc.write_data(0xde);
        assert_eq!(r.system.requests(), vec![SystemRequest::Reset]);
    }

    #[test]
    fn keyboard_reset_answers_ack_then_self_test_passed() {
        let mut r = rig();
        r.kbc.write_data(0xff);
        assert_eq!(r.drain(), vec![0xfa, 0xaa]);
        assert_eq!(r.kbc.read_data(), 0xaa, "empty queue repeats the last byte");
    }

    #[test]
    fn keyboard_identifies_as_mf2() {
        let mut r = rig();
        r.kbc.write_data(0xf2);
        assert_eq!(r.drain(), vec![0xfa, 0xab, 0x83]);
        // With translation on (command byte bit 6) the id is 0xab 0x41.
        r.kbc.write_command(CCMD_WRITE_MODE);
        r.kbc.write_data(0x47);
        r.kbc.write_data(0xf2);
        assert_eq!(r.drain(), vec![0xfa, 0xab, 0x41]);
    }

    #[test]
    fn keyboard_leds_scancode_set_and_enable() {
        let mut r = rig();
        r.kbc.write_data(0xed);
        r.kbc.write_data(0x04);
        // The first ACK, unread when the LED byte came, is dropped; the
        // guest reads the second.
        assert_eq!(r.drain(), vec![0xfa]);
        assert_eq!(r.kbc.keyboard().leds(), 0x04);
        // Get the scancode set: 2 by default.
        r.kbc.write_data(0xf0);
        assert_eq!(r.drain(), vec![0xfa]);
        r.kbc.write_data(0x00);
        assert_eq!(r.drain(), vec![0xfa, 0x02]);
        r.kbc.write_data(0xf0);
        r.kbc.write_data(0x07);
        assert_eq!(r.drain(), vec![0xfe], "no scancode set 7");
        r.kbc.write_data(0xf5);
        assert_eq!(r.drain(), vec![0xfa]);
        assert!(!r.kbc.keyboard().scan_enabled());
        r.kbc.write_data(0xf4);
        assert_eq!(r.drain(), vec![0xfa]);
        assert!(r.kbc.keyboard().scan_enabled());
        r.kbc.write_data(0xee);
        assert_eq!(r.drain(), vec![0xee], "echo");
        r.kbc.write_data(0x99);
        assert_eq!(r.drain(), vec![0xfe], "unknown command: resend");
    }

    #[test]
    fn disabled_keyboard_interface_holds_its_data_back() {
        let mut r = rig();
        r.kbc.write_command(CCMD_KBD_DISABLE);
        r.kbc.write_command(CCMD_WRITE_MOUSE);
        r.kbc.write_data(0xf2);
        // Mouse reply is visible, on IRQ 12 with the mouse OBF bit.
        assert_eq!(r.kbc.read_status() & 0x21, 0x21);
        assert!(r.mouse_irq.level());
        assert_eq!(r.drain(), vec![0xfa, 0x00]);
        assert!(!r.mouse_irq.level());
    }

    #[test]
    fn mouse_answers_reset_and_unlocks_intellimouse() {
        let mut r = rig();
        let to_mouse = |r: &mut Rig, byte| {
            r.kbc.write_command(CCMD_WRITE_MOUSE);
            r.kbc.write_data(byte);
        };
        to_mouse(&mut r, 0xff);
        assert_eq!(r.drain(), vec![0xfa, 0xaa, 0x00]);
        for rate in [200, 100, 80] {
            to_mouse(&mut r, 0xf3);
            to_mouse(&mut r, rate);
        }
        assert_eq!(r.drain(), vec![0xfa; 6]);
        to_mouse(&mut r, 0xf2);
        assert_eq!(r.drain(), vec![0xfa, 0x03], "IntelliMouse id");
        to_mouse(&mut r, 0xf4);
        assert_eq!(r.drain(), vec![0xfa]);
        assert!(r.kbc.mouse().enabled());
        to_mouse(&mut r, 0xe9);
        // Status (enabled), resolution 2 and rate 80 after the reset above.
        assert_eq!(r.drain(), vec![0xfa, 0x20, 0x02, 80]);
    }

    #[test]
    fn controller_reply_takes_precedence_over_keyboard_bytes() {
        let mut r = rig();
        r.kbc.write_data(0xff); // keyboard queues fa aa
        r.kbc.write_command(CCMD_SELF_TEST);
        // The buffer already holds 0xfa; the 0x55 comes next, then 0xaa.
        assert_eq!(r.drain(), vec![0xfa, 0x55, 0xaa]);
    }

    #[test]
    fn injected_scancodes_raise_irq1_and_read_in_order() {
        let mut r = rig();
        // SeaBIOS and Linux turn translation on: set 1 codes for 'a'.
        r.kbc.write_command(CCMD_WRITE_MODE);
        r.kbc.write_data(0x47);
        assert!(r.kbc.keyboard().translation());
        assert_eq!(r.kbc.keyboard().scancode_set(), 2);
        let a = Qcode::from_name("a").unwrap();
        r.kbc.key_event(a, true);
        r.kbc.key_event(a, false);
        assert!(r.kbd_irq.level());
        assert_eq!(r.kbc.read_data(), 0x1e);
        assert!(r.kbd_irq.level(), "the next byte is loaded at once");
        assert_eq!(r.kbc.read_data(), 0x9e);
        assert!(!r.kbd_irq.level());
    }

    #[test]
    fn scancodes_are_dropped_while_scanning_is_disabled() {
        let mut r = rig();
        r.kbc.write_data(0xf5);
        assert_eq!(r.drain(), vec![0xfa]);
        let a = Qcode::from_name("a").unwrap();
        r.kbc.key_event(a, true);
        assert!(r.drain().is_empty());
        r.kbc.write_data(0xf4);
        r.kbc.key_event(a, true);
        // Set 2, untranslated.
        assert_eq!(r.drain(), vec![0xfa, 0x1c]);
    }

    #[test]
    fn a_disabled_keyboard_interface_holds_scancodes_until_enabled() {
        let mut r = rig();
        r.kbc.write_command(CCMD_KBD_DISABLE);
        r.kbc.key_event(Qcode::from_name("t").unwrap(), true);
        assert_eq!(r.kbc.read_status() & STAT_OBF, 0);
        assert!(!r.kbd_irq.level());
        r.kbc.write_command(CCMD_KBD_ENABLE);
        assert!(r.kbd_irq.level());
        assert_eq!(r.drain(), vec![0x2c]);
    }

    #[test]
    fn command_replies_go_ahead_of_scancodes_and_replace_unread_replies() {
        let mut r = rig();
        let (q, w) = (
            Qcode::from_name("q").unwrap(),
            Qcode::from_name("w").unwrap(),
        );
        r.kbc.key_event(q, true);
        r.kbc.key_event(q, false);
        r.kbc.key_event(w, true);
        r.kbc.write_data(0xf2);
        r.kbc.write_data(0xee);
        // The unread id reply was replaced by the echo, which is read first
        // (a keyboard byte leaves the queue only when port 0x60 is read);
        // the scancodes stay.
        assert_eq!(r.drain(), vec![0xee, 0x15, 0xf0, 0x15, 0x1d]);
    }

    #[test]
    fn write_aux_obuf_raises_irq12() {
        let mut r = rig();
        r.kbc.write_command(CCMD_WRITE_AUX_OBUF);
        r.kbc.write_data(0x42);
        assert!(r.mouse_irq.level());
        assert!(!r.kbd_irq.level());
        assert_eq!(r.kbc.read_status() & STAT_MOUSE_OBF, STAT_MOUSE_OBF);
        assert_eq!(r.kbc.read_data(), 0x42);
        assert!(!r.mouse_irq.level());
    }

    #[test]
    fn ports_share_one_controller() {
        let r = rig();
        let controller = Arc::new(Mutex::new(r.kbc));
        let mut data = I8042Port::data(controller.clone());
        let mut command = I8042Port::command(controller);
        command.write(0, &[CCMD_SELF_TEST]);
        let mut byte = [0u8];
        command.read(0, &mut byte);
        assert_eq!(byte[0] & STAT_OBF, STAT_OBF);
        data.read(0, &mut byte);
        assert_eq!(byte[0], 0x55);
    }
}

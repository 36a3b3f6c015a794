//! The PS/2 keyboard and mouse behind the i8042, as QEMU 7.2's ps2.c answers
//! the commands a BIOS or kernel sends them. Each device has an output queue
//! of bytes for the controller to read; the keyboard's replies to commands go
//! ahead of scancodes waiting there.

use std::collections::VecDeque;

/// Bytes a PS/2 device queues for the controller (QEMU's PS2_QUEUE_SIZE).
const QUEUE_CAPACITY: usize = 16;

const ACK: u8 = 0xfa;
const RESEND: u8 = 0xfe;

/// A device's output queue. Reading an empty queue repeats the last byte
/// read: QEMU does so because EMM386 depends on it.
#[derive(Debug, Default)]
struct OutputQueue {
    bytes: VecDeque<u8>,
    last_read: u8,
}

impl OutputQueue {
    /// Queue a reply of several bytes whole, or not at all when it does not
    /// fit.
    fn push(&mut self, reply: &[u8]) {
        if QUEUE_CAPACITY - self.bytes.len() >= reply.len() {
            self.bytes.extend(reply);
        }
    }

    /// Queue one byte, dropped when the queue is full.
    fn push_byte(&mut self, byte: u8) {
        if self.bytes.len() < QUEUE_CAPACITY {
            self.bytes.push_back(byte);
        }
    }

    fn pop(&mut self) -> u8 {
        if let Some(byte) = self.bytes.pop_front() {
            self.last_read = byte;
        }
        self.last_read
    }

    fn clear(&mut self) {
        self.bytes.clear();
    }

    fn has_data(&self) -> bool {
        !self.bytes.is_empty()
    }
}

// Keyboard commands.
const KBD_CMD_SET_LEDS: u8 = 0xed;
const KBD_CMD_ECHO: u8 = 0xee;
const KBD_CMD_SCANCODE: u8 = 0xf0;
const KBD_CMD_GET_ID: u8 = 0xf2;
const KBD_CMD_SET_RATE: u8 = 0xf3;
const KBD_CMD_ENABLE: u8 = 0xf4;
const KBD_CMD_RESET_DISABLE: u8 = 0xf5;
const KBD_CMD_RESET_ENABLE: u8 = 0xf6;
const KBD_CMD_SET_TYPEMATIC: u8 = 0xfa;
const KBD_CMD_SET_MAKE_BREAK: u8 = 0xfb;
const KBD_CMD_RESET: u8 = 0xff;

const KBD_REPLY_POR: u8 = 0xaa;
const KBD_REPLY_ID: u8 = 0xab;

/// Scancode set numbers as the keyboard reports them when the controller
/// translates to set 1 (index: the set in use).
const TRANSLATED_SET_ID: [u8; 4] = [0xff, 0x43, 0x41, 0x3f];

/// An MF2 AT keyboard.
#[derive(Debug)]
pub struct Ps2Keyboard {
    queue: OutputQueue,
    /// How many bytes at the front of the queue are a command reply.
    unread_reply: usize,
    /// A command waiting for its parameter byte.
    pending_command: Option<u8>,
    scan_enabled: bool,
    /// The controller translates scancodes to set 1 (command byte bit 6).
    translate: bool,
    scancode_set: u8,
    leds: u8,
}

impl Default for Ps2Keyboard {
    fn default() -> Self {
        Self {
            queue: OutputQueue::default(),
            unread_reply: 0,
            pending_command: None,
            scan_enabled: true,
            translate: false,
            scancode_set: 2,
            leds: 0,
        }
    }
}

impl Ps2Keyboard {
    /// Power-on state.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    pub fn has_data(&self) -> bool {
        self.queue.has_data()
    }

    pub fn read_data(&mut self) -> u8 {
        if self.queue.has_data() {
            self.unread_reply = self.unread_reply.saturating_sub(1);
        }
        self.queue.pop()
    }

    pub fn set_translation(&mut self, translate: bool) {
        self.translate = translate;
    }

    /// Whether the controller translates to set 1 (command byte bit 6).
    pub fn translation(&self) -> bool {
        self.translate
    }

    /// The scancode set the guest selected (2 by default).
    pub fn scancode_set(&self) -> u8 {
        self.scancode_set
    }

    /// Queue scancode bytes from a key event, exactly as the guest is to
    /// read them: the caller encodes keys in the set the guest expects
    /// (`scancode_set()`, translated to set 1 when `translation()`). Dropped
    /// while scanning is disabled, and bytes beyond the queue's room are
    /// lost, as in QEMU.
    pub fn put_scancodes(&mut self, scancodes: &[u8]) {
        if !self.scan_enabled {
            return;
        }
        for &byte in scancodes {
            self.queue.push_byte(byte);
        }
    }

    /// Put a command reply ahead of any scancodes, replacing what is left
    /// unread of the previous reply.
    fn reply(&mut self, reply: &[u8]) {
        self.queue.bytes.drain(..self.unread_reply);
        for &byte in reply.iter().rev() {
            self.queue.bytes.push_front(byte);
        }
        self.unread_reply = reply.len();
    }

    /// The keyboard LEDs last set (bit 0 scroll, 1 num, 2 caps lock).
    pub fn leds(&self) -> u8 {
        self.leds
    }

    pub fn scan_enabled(&self) -> bool {
        self.scan_enabled
    }

    /// The reset the keyboard does for 0xff, 0xf5 and 0xf6.
    fn reset_keyboard(&mut self) {
        self.scan_enabled = true;
        self.scancode_set = 2;
        self.queue.clear();
        self.unread_reply = 0;
        self.leds = 0;
    }

    /// A byte the controller passes on to the keyboard.
    pub fn write(&mut self, value: u8) {
        let reply: &[u8] = match self.pending_command.take() {
            Some(KBD_CMD_SCANCODE) => match value {
                0 => {
                    let set = if self.translate {
                        TRANSLATED_SET_ID[usize::from(self.scancode_set & 3)]
                    } else {
                        self.scancode_set
                    };
                    self.reply(&[ACK, set]);
                    return;
                }
                1..=3 => {
                    self.scancode_set = value;
                    &[ACK]
                }
                _ => &[RESEND],
            },
            Some(KBD_CMD_SET_LEDS) => {
                self.leds = value;
                &[ACK]
            }
            // Typematic rate and make/break settings are accepted and ignored.
            Some(_) => &[ACK],
            None => match value {
                0x00 => &[ACK],
                0x05 => &[RESEND],
                KBD_CMD_GET_ID => {
                    let id2 = if self.translate { 0x41 } else { 0x83 };
                    self.reply(&[ACK, KBD_REPLY_ID, id2]);
                    return;
                }
                KBD_CMD_ECHO => &[KBD_CMD_ECHO],
                KBD_CMD_ENABLE => {
                    self.scan_enabled = true;
                    &[ACK]
                }
                KBD_CMD_SCANCODE | KBD_CMD_SET_LEDS | KBD_CMD_SET_RATE | KBD_CMD_SET_MAKE_BREAK => {
                    self.pending_command = Some(value);
                    &[ACK]
                }
                KBD_CMD_RESET_DISABLE => {
                    self.reset_keyboard();
                    self.scan_enabled = false;
                    &[ACK]
                }
                KBD_CMD_RESET_ENABLE => {
                    self.reset_keyboard();
                    &[ACK]
                }
                KBD_CMD_RESET => {
                    self.reset_keyboard();
                    &[ACK, KBD_REPLY_POR]
                }
                KBD_CMD_SET_TYPEMATIC => &[ACK],
                _ => &[RESEND],
            },
        };
        self.reply(reply);
    }
}

// Mouse commands.
const AUX_SET_SCALE11: u8 = 0xe6;
const AUX_SET_SCALE21: u8 = 0xe7;
const AUX_SET_RES: u8 = 0xe8;
const AUX_GET_SCALE: u8 = 0xe9;
const AUX_SET_STREAM: u8 = 0xea;
const AUX_POLL: u8 = 0xeb;
const AUX_RESET_WRAP: u8 = 0xec;
const AUX_SET_WRAP: u8 = 0xee;
const AUX_SET_REMOTE: u8 = 0xf0;
const AUX_GET_TYPE: u8 = 0xf2;
const AUX_SET_SAMPLE: u8 = 0xf3;
const AUX_ENABLE_DEV: u8 = 0xf4;
const AUX_DISABLE_DEV: u8 = 0xf5;
const AUX_SET_DEFAULT: u8 = 0xf6;
const AUX_RESET: u8 = 0xff;

const MOUSE_STATUS_REMOTE: u8 = 0x40;
const MOUSE_STATUS_ENABLED: u8 = 0x20;
const MOUSE_STATUS_SCALE21: u8 = 0x10;

/// Device ids: a plain PS/2 mouse, an IntelliMouse (wheel) and an
/// IntelliMouse Explorer (wheel and five buttons).
const MOUSE_TYPE_PS2: u8 = 0;
const MOUSE_TYPE_IMPS2: u8 = 3;
const MOUSE_TYPE_IMEX: u8 = 4;

/// A PS/2 mouse, with the IntelliMouse extensions a driver unlocks by the
/// sample-rate sequences 200,100,80 and 200,200,80.
#[derive(Debug, Default)]
pub struct Ps2Mouse {
    queue: OutputQueue,
    pending_command: Option<u8>,
    status: u8,
    resolution: u8,
    sample_rate: u8,
    wrap: bool,
    mouse_type: u8,
    /// Progress through an IntelliMouse unlock sequence.
    detect_state: u8,
}

impl Ps2Mouse {
    /// Power-on state.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    pub fn has_data(&self) -> bool {
        self.queue.has_data()
    }

    pub fn read_data(&mut self) -> u8 {
        self.queue.pop()
    }

    /// Reporting enabled by 0xf4.
    pub fn enabled(&self) -> bool {
        self.status & MOUSE_STATUS_ENABLED != 0
    }

    /// A movement packet with no motion and no buttons, in the format of the
    /// mouse type (a fourth byte for the wheel types).
    fn queue_idle_packet(&mut self) {
        match self.mouse_type {
            MOUSE_TYPE_IMPS2 | MOUSE_TYPE_IMEX => self.queue.push(&[0x08, 0, 0, 0]),
            _ => self.queue.push(&[0x08, 0, 0]),
        }
    }

    fn set_sample_rate(&mut self, rate: u8) {
        self.sample_rate = rate;
        self.detect_state = match (self.detect_state, rate) {
            (0, 200) => 1,
            (1, 100) => 2,
            (1, 200) => 3,
            (2, 80) => {
                self.mouse_type = MOUSE_TYPE_IMPS2;
                0
            }
            (3, 80) => {
                self.mouse_type = MOUSE_TYPE_IMEX;
                0
            }
            _ => 0,
        };
    }

    /// A byte the controller passes on to the mouse (command 0xd4).
    pub fn write(&mut self, value: u8) {
        match self.pending_command.take() {
            Some(AUX_SET_SAMPLE) => {
                self.set_sample_rate(value);
                self.queue.push(&[ACK]);
                return;
            }
            Some(_) => {
                self.resolution = value;
                self.queue.push(&[ACK]);
                return;
            }
            None => {}
        }
        if self.wrap {
            // Wrap mode echoes everything but its own exit and a reset.
            if value == AUX_RESET_WRAP {
                self.wrap = false;
                self.queue.push(&[ACK]);
                return;
            }
            if value != AUX_RESET {
                self.queue.push(&[value]);
                return;
            }
        }
        match value {
            AUX_SET_SCALE11 => {
                self.status &= !MOUSE_STATUS_SCALE21;
                self.queue.push(&[ACK]);
            }
            AUX_SET_SCALE21 => {
                self.status |= MOUSE_STATUS_SCALE21;
                self.queue.push(&[ACK]);
            }
            AUX_SET_STREAM => {
                self.status &= !MOUSE_STATUS_REMOTE;
                self.queue.push(&[ACK]);
            }
            AUX_SET_WRAP => {
                self.wrap = true;
                self.queue.push(&[ACK]);
            }
            AUX_SET_REMOTE => {
                self.status |= MOUSE_STATUS_REMOTE;
                self.queue.push(&[ACK]);
            }
            AUX_GET_TYPE => self.queue.push(&[ACK, self.mouse_type]),
            AUX_SET_RES | AUX_SET_SAMPLE => {
                self.pending_command = Some(value);
                self.queue.push(&[ACK]);
            }
            AUX_GET_SCALE => {
                let reply = [ACK, self.status, self.resolution, self.sample_rate];
                self.queue.push(&reply);
            }
            AUX_POLL => {
                self.queue.push(&[ACK]);
                self.queue_idle_packet();
            }
            AUX_ENABLE_DEV => {
                self.status |= MOUSE_STATUS_ENABLED;
                self.queue.push(&[ACK]);
            }
            AUX_DISABLE_DEV => {
                self.status &= !MOUSE_STATUS_ENABLED;
                self.queue.push(&[ACK]);
            }
            AUX_SET_DEFAULT => {
                self.sample_rate = 100;
                self.resolution = 2;
                self.status = 0;
                self.queue.push(&[ACK]);
            }
            AUX_RESET => {
                self.sample_rate = 100;
                self.resolution = 2;
                self.status = 0;
                self.mouse_type = MOUSE_TYPE_PS2;
                self.queue.clear();
                self.queue.push(&[ACK, 0xaa, self.mouse_type]);
            }
            // Unknown commands get no answer, as in QEMU.
            _ => {}
        }
    }
}

//! The PS/2 keyboard and mouse behind the i8042, as QEMU 7.2's ps2.c answers
//! the commands a BIOS or kernel sends them. Each device has an output queue
//! of bytes for the controller to read; the keyboard's replies to commands go
//! ahead of scancodes waiting there.

use std::collections::VecDeque;

use super::keymap::{Qcode, SET2_TO_SET1};

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
    /// The modifier keys held down (`MOD_*`), which change what print
    /// screen and pause send.
    modifiers: u8,
    /// An 0xf0 went to the translator, which owes the next byte bit 7.
    break_pending: bool,
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
            modifiers: 0,
            break_pending: false,
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

    /// A key pressed (`down`) or released, queued as the scancodes QEMU's
    /// keyboard sends for it in the set in use, translated to set 1 byte
    /// by byte when the controller translates. Ignored while scanning is
    /// disabled; bytes beyond the queue's room are lost, as in QEMU.
    pub fn key_event(&mut self, key: Qcode, down: bool) {
        if !self.scan_enabled {
            return;
        }
        let modifier = modifier_bit(key);
        if down {
            self.modifiers |= modifier;
        } else {
            self.modifiers &= !modifier;
        }
        let mut bytes = Vec::with_capacity(8);
        match self.scancode_set {
            1 => encode_set1(key, down, self.modifiers, &mut bytes),
            2 => encode_set2(key, down, self.modifiers, &mut bytes),
            _ => encode_set3(key, down, &mut bytes),
        }
        for byte in bytes {
            self.put_scancode(byte);
        }
    }

    /// One byte of the keyboard's own set on its way to the controller.
    fn put_scancode(&mut self, byte: u8) {
        if !self.translate {
            self.queue.push_byte(byte);
        } else if byte == 0xf0 {
            // Set 1 has no break prefix: the next byte gets bit 7 instead.
            self.break_pending = true;
        } else {
            let mut translated = SET2_TO_SET1[usize::from(byte)];
            if std::mem::take(&mut self.break_pending) {
                translated |= 0x80;
            }
            self.queue.push_byte(translated);
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

// Modifier keys, as the keyboard tracks them.
const MOD_CTRL_L: u8 = 1 << 0;
const MOD_SHIFT_L: u8 = 1 << 1;
const MOD_ALT_L: u8 = 1 << 2;
const MOD_CTRL_R: u8 = 1 << 3;
const MOD_SHIFT_R: u8 = 1 << 4;
const MOD_ALT_R: u8 = 1 << 5;
const MOD_CTRL: u8 = MOD_CTRL_L | MOD_CTRL_R;
const MOD_SHIFT_OR_CTRL: u8 = MOD_SHIFT_L | MOD_SHIFT_R | MOD_CTRL;

fn modifier_bit(key: Qcode) -> u8 {
    match key {
        Qcode::CTRL => MOD_CTRL_L,
        Qcode::CTRL_R => MOD_CTRL_R,
        Qcode::SHIFT => MOD_SHIFT_L,
        Qcode::SHIFT_R => MOD_SHIFT_R,
        Qcode::ALT => MOD_ALT_L,
        Qcode::ALT_R => MOD_ALT_R,
        _ => 0,
    }
}

/// Set 1 (XT): a break code is the make code with bit 7 set. Pause sends
/// its whole sequence on press and nothing on release; print screen's
/// bytes depend on the modifiers held, as on a real keyboard.
fn encode_set1(key: Qcode, down: bool, modifiers: u8, out: &mut Vec<u8>) {
    match key {
        Qcode::PAUSE if down && modifiers & MOD_CTRL != 0 => {
            // Ctrl+Pause is Break.
            out.extend([0xe0, 0x46, 0xe0, 0xc6]);
        }
        Qcode::PAUSE if down => out.extend([0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]),
        Qcode::PAUSE => {}
        Qcode::PRINT if modifiers & MOD_ALT_L != 0 => {
            // Alt+Print Screen is SysRq.
            if down {
                out.extend([0xb8, 0x38, 0x54]);
            } else {
                out.extend([0xd4, 0xb8, 0x38]);
            }
        }
        Qcode::PRINT if modifiers & MOD_ALT_R != 0 => {
            if down {
                out.extend([0xe0, 0xb8, 0xe0, 0x38, 0x54]);
            } else {
                out.extend([0xd4, 0xe0, 0xb8, 0xe0, 0x38]);
            }
        }
        Qcode::PRINT if modifiers & MOD_SHIFT_OR_CTRL != 0 => {
            out.extend(if down { [0xe0, 0x37] } else { [0xe0, 0xb7] });
        }
        Qcode::PRINT if down => out.extend([0xe0, 0x2a, 0xe0, 0x37]),
        Qcode::PRINT => out.extend([0xe0, 0xb7, 0xe0, 0xaa]),
        _ => {
            let code = key.scancodes().set1;
            if code == 0 {
                return;
            }
            if code > 0xff {
                out.push((code >> 8) as u8);
            }
            let byte = code as u8;
            out.push(if down { byte } else { byte | 0x80 });
        }
    }
}

/// Set 2 (AT, the default): a break code is 0xf0 before the make code's
/// last byte. Pause and print screen as in set 1.
fn encode_set2(key: Qcode, down: bool, modifiers: u8, out: &mut Vec<u8>) {
    match key {
        Qcode::PAUSE if down && modifiers & MOD_CTRL != 0 => {
            out.extend([0xe0, 0x7e, 0xe0, 0xf0, 0x7e]);
        }
        Qcode::PAUSE if down => out.extend([0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77]),
        Qcode::PAUSE => {}
        Qcode::PRINT if modifiers & MOD_ALT_L != 0 => {
            if down {
                out.extend([0xf0, 0x11, 0x11, 0x84]);
            } else {
                out.extend([0xf0, 0x84, 0xf0, 0x11, 0x11]);
            }
        }
        Qcode::PRINT if modifiers & MOD_ALT_R != 0 => {
            if down {
                out.extend([0xe0, 0xf0, 0x11, 0xe0, 0x11, 0x84]);
            } else {
                out.extend([0xf0, 0x84, 0xe0, 0xf0, 0x11, 0xe0, 0x11]);
            }
        }
        Qcode::PRINT if modifiers & MOD_SHIFT_OR_CTRL != 0 => {
            if down {
                out.extend([0xe0, 0x7c]);
            } else {
                out.extend([0xe0, 0xf0, 0x7c]);
            }
        }
        Qcode::PRINT if down => out.extend([0xe0, 0x12, 0xe0, 0x7c]),
        Qcode::PRINT => out.extend([0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12]),
        _ => {
            let code = key.scancodes().set2;
            if code == 0 {
                return;
            }
            if code > 0xff {
                out.push((code >> 8) as u8);
            }
            if !down {
                out.push(0xf0);
            }
            out.push(code as u8);
        }
    }
}

/// Set 3: one byte per key, 0xf0 before it on release, for every key (QEMU
/// does not implement set 3's per-key make-only and typematic modes).
fn encode_set3(key: Qcode, down: bool, out: &mut Vec<u8>) {
    let code = key.scancodes().set3;
    if code == 0 {
        return;
    }
    if !down {
        out.push(0xf0);
    }
    out.push(code);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Qcode {
        Qcode::from_name(name).expect("a QEMU key name")
    }

    /// The bytes the keyboard queues for `events`, in `set`, translated or
    /// not.
    fn typed(set: u8, translate: bool, events: &[(&str, bool)]) -> Vec<u8> {
        let mut kbd = Ps2Keyboard::default();
        kbd.write(KBD_CMD_SCANCODE);
        kbd.write(set);
        kbd.set_translation(translate);
        while kbd.has_data() {
            kbd.read_data();
        }
        for &(name, down) in events {
            kbd.key_event(key(name), down);
        }
        let mut bytes = vec![];
        while kbd.has_data() {
            bytes.push(kbd.read_data());
        }
        bytes
    }

    const TAP_RIGHT: &[(&str, bool)] = &[("right", true), ("right", false)];

    #[test]
    fn an_extended_key_in_each_set() {
        assert_eq!(typed(1, false, TAP_RIGHT), [0xe0, 0x4d, 0xe0, 0xcd]);
        assert_eq!(typed(2, false, TAP_RIGHT), [0xe0, 0x74, 0xe0, 0xf0, 0x74]);
        assert_eq!(typed(3, false, TAP_RIGHT), [0x6a, 0xf0, 0x6a]);
        // Set 2 translated is set 1.
        assert_eq!(typed(2, true, TAP_RIGHT), typed(1, false, TAP_RIGHT));
    }

    #[test]
    fn translation_applies_to_whatever_set_is_in_use() {
        // Set 1 codes read as set 2 bytes: 'a' (0x1e) becomes 0x03.
        assert_eq!(typed(1, true, &[("a", true), ("a", false)]), [0x03, 0x9e]);
    }

    #[test]
    fn pause_sends_everything_on_press_and_break_with_ctrl() {
        let pause = &[("pause", true), ("pause", false)];
        assert_eq!(typed(1, false, pause), [0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]);
        assert_eq!(
            typed(2, false, pause),
            [0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77]
        );
        let ctrl_break = &[("ctrl_r", true), ("pause", true), ("pause", false)];
        assert_eq!(
            typed(1, false, ctrl_break),
            [0xe0, 0x1d, 0xe0, 0x46, 0xe0, 0xc6]
        );
        assert_eq!(typed(3, false, pause), [0x62, 0xf0, 0x62]);
    }

    #[test]
    fn print_screen_depends_on_the_modifiers_held() {
        let print = [("print", true), ("print", false)];
        assert_eq!(
            typed(1, false, &print),
            [0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa]
        );
        let alt_print = [("alt", true), print[0], print[1], ("alt", false)];
        assert_eq!(
            typed(2, false, &alt_print),
            [0x11, 0xf0, 0x11, 0x11, 0x84, 0xf0, 0x84, 0xf0, 0x11, 0x11, 0xf0, 0x11]
        );
        // Released modifiers no longer count.
        let after = [("shift", true), ("shift", false), print[0]];
        assert_eq!(typed(2, false, &after)[3..], [0xe0, 0x12, 0xe0, 0x7c]);
    }

    #[test]
    fn keys_without_a_code_in_the_set_send_nothing() {
        assert!(typed(2, false, &[("again", true), ("unmapped", true)]).is_empty());
        assert!(typed(3, false, &[("power", true)]).is_empty());
    }

    #[test]
    fn the_queue_keeps_sixteen_bytes() {
        let taps: Vec<(&str, bool)> = (0..10).flat_map(|_| TAP_RIGHT.iter().copied()).collect();
        assert_eq!(typed(2, false, &taps).len(), QUEUE_CAPACITY);
    }
}

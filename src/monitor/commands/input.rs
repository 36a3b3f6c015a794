//! `send-key`: keys to the guest's keyboard, by name or by number.

use hw::input::keymap::Qcode;
use qapi::types::{KeyValue, QKeyCode};

use crate::machine::Machine;

/// QMP `send-key` (and HMP `sendkey`, with its parsed keys): QEMU 7.2
/// accepts any list, even an empty one, and any numbers (unknown ones are
/// no key), so nothing here fails. A `hold_time` outside 32 bits wraps
/// as in QEMU, where it becomes an unsigned int.
pub fn send_key(machine: &mut Machine, keys: &[KeyValue], hold_time: Option<i64>) {
    let keys: Vec<Qcode> = keys.iter().map(key_qcode).collect();
    machine.send_keys(&keys, hold_time.unwrap_or(0) as u32);
}

fn key_qcode(key: &KeyValue) -> Qcode {
    match key {
        KeyValue::Number(number) => Qcode::from_number(number.data),
        KeyValue::Qcode(name) => qcode(name.data),
    }
}

/// The keyboard's number for a schema key name: the keymap knows every
/// name of QEMU 7.2's `QKeyCode` (checked below).
fn qcode(key: QKeyCode) -> Qcode {
    Qcode::from_name(key.as_str()).unwrap_or(Qcode::UNMAPPED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hw::input::keymap::KEYS;

    #[test]
    fn the_keymap_has_every_schema_key_in_qemu_order() {
        let schema: Vec<&str> = QKeyCode::ALL.iter().map(|k| k.as_str()).collect();
        let keymap: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        assert_eq!(schema, keymap);
    }
}

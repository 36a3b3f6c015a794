//! `isa-debug-exit`, as QEMU 7.2's: a write of value V ends the process with
//! status (V << 1) | 1, so a test guest can report success or failure and
//! never be mistaken for a normal exit (status 0).

use std::sync::Arc;

use crate::core::bus::BusDevice;
use crate::core::system::{SystemControl, SystemRequest};

/// Default `iobase` of `isa-debug-exit`.
pub const DEBUG_EXIT_DEFAULT_IOBASE: u16 = 0x501;
/// Default `iosize` of `isa-debug-exit`.
pub const DEBUG_EXIT_DEFAULT_IOSIZE: u64 = 2;

pub struct DebugExit {
    system: Arc<dyn SystemControl>,
}

impl DebugExit {
    pub fn new(system: Arc<dyn SystemControl>) -> Self {
        Self { system }
    }
}

impl BusDevice for DebugExit {
    /// Reads answer 0 (QEMU 7.2: `inb 0x501` and `inw 0x501` give 0).
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    /// Accesses of 1 to 4 bytes arrive whole, at any offset in the range:
    /// the value is the access's little-endian value, whatever its width.
    fn write(&mut self, _offset: u64, data: &[u8]) {
        let value = data
            .iter()
            .take(4)
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        // exit() takes an int: the value is truncated to 32 bits as in C.
        let status = ((value << 1) | 1) as u32 as i32;
        self.system.request(SystemRequest::Exit(status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingSystem;

    fn exit_status_of(data: &[u8], offset: u64) -> Vec<SystemRequest> {
        let system = Arc::new(RecordingSystem::default());
        let mut dev = DebugExit::new(system.clone());
        dev.write(offset, data);
        system.requests()
    }

    #[test]
    fn byte_write_exits_with_value_shifted_left_plus_one() {
        // The isa-debug-exit convention: writing 0 exits 1, writing 1 exits 3.
        assert_eq!(exit_status_of(&[0], 0), vec![SystemRequest::Exit(1)]);
        assert_eq!(exit_status_of(&[1], 0), vec![SystemRequest::Exit(3)]);
        assert_eq!(exit_status_of(&[0x10], 1), vec![SystemRequest::Exit(0x21)]);
    }

    #[test]
    fn wide_writes_use_the_whole_little_endian_value() {
        assert_eq!(
            exit_status_of(&[0x34, 0x12], 0),
            vec![SystemRequest::Exit(0x2469)]
        );
        assert_eq!(
            exit_status_of(&[0xff, 0xff, 0xff, 0xff], 0),
            vec![SystemRequest::Exit(-1)]
        );
    }

    #[test]
    fn reads_return_zero() {
        let mut dev = DebugExit::new(Arc::new(RecordingSystem::default()));
        let mut word = [0xaa; 2];
        dev.read(0, &mut word);
        assert_eq!(word, [0, 0]);
    }
}

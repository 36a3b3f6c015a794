//! `isa-debugcon`, the Bochs-style debug console ("port 0xe9"), as QEMU 7.2's.
//!
//! One port: a write sends its low byte to the character backend, a read
//! returns the `readback` property, by which a guest detects the console.

use std::sync::Arc;

use crate::core::bus::BusDevice;
use crate::core::chardev::{CharBackend, CharFrontend};

/// Default `iobase` of `isa-debugcon`.
pub const DEBUGCON_DEFAULT_IOBASE: u16 = 0xe9;
/// Default `readback` of `isa-debugcon`.
pub const DEBUGCON_DEFAULT_READBACK: u32 = 0xe9;
/// Bytes of I/O space the console decodes.
pub const DEBUGCON_IO_SIZE: u64 = 1;

pub struct DebugCon {
    backend: Arc<dyn CharBackend>,
    readback: u32,
}

impl DebugCon {
    pub fn new(backend: Arc<dyn CharBackend>, readback: u32) -> Self {
        Self { backend, readback }
    }
}

impl BusDevice for DebugCon {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        // The range is one byte long, so accesses are single bytes.
        data.fill(self.readback as u8);
    }

    fn write(&mut self, _offset: u64, data: &[u8]) {
        if let Some(&byte) = data.first() {
            self.backend.write(&[byte]);
        }
    }
}

/// The console takes no input: what arrives on its chardev stays unread,
/// as QEMU's debugcon has no read handler.
impl CharFrontend for DebugCon {
    fn can_receive(&self) -> usize {
        0
    }

    fn receive(&mut self, _data: &[u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingBackend;

    #[test]
    fn writes_reach_the_backend_and_reads_return_readback() {
        let backend = Arc::new(RecordingBackend::default());
        let mut con = DebugCon::new(backend.clone(), DEBUGCON_DEFAULT_READBACK);
        for &b in b"ok\n" {
            con.write(0, &[b]);
        }
        assert_eq!(backend.written(), b"ok\n");
        let mut byte = [0u8];
        con.read(0, &mut byte);
        // QEMU 7.2: `inb 0xe9` with isa-debugcon's defaults answers 0xe9.
        assert_eq!(byte[0], 0xe9);
    }

    #[test]
    fn readback_property_is_what_reads_return() {
        let mut con = DebugCon::new(Arc::new(RecordingBackend::default()), 0x42);
        let mut byte = [0u8];
        con.read(0, &mut byte);
        assert_eq!(byte[0], 0x42);
    }
}

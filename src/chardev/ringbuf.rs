//! `ringbuf` (alias `memory`) backend: keeps the last `size` bytes of output
//! for QMP's `ringbuf-read`.

use std::os::unix::io::RawFd;

use super::props::Props;
use super::{Chardev, ChardevError, ChardevRead};

const DEFAULT_SIZE: u64 = 64 * 1024;

/// A byte ring of a power-of-two size; when full, new bytes overwrite the
/// oldest ones.
pub struct Ringbuf {
    data: Vec<u8>,
    /// Total bytes ever written and ever read; their difference is the fill.
    produced: u64,
    consumed: u64,
}

impl Ringbuf {
    fn new(size: usize) -> Self {
        Ringbuf {
            data: vec![0; size],
            produced: 0,
            consumed: 0,
        }
    }

    fn mask(&self) -> u64 {
        self.data.len() as u64 - 1
    }

    // Read by QMP's ringbuf-read once the monitor exists.
    #[cfg(test)]
    /// Bytes waiting to be read.
    pub fn len(&self) -> usize {
        (self.produced - self.consumed) as usize
    }

    // Read by QMP's ringbuf-read once the monitor exists.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.produced == self.consumed
    }

    /// Appends output, dropping the oldest bytes when full.
    pub fn push(&mut self, bytes: &[u8]) {
        let mask = self.mask();
        for &byte in bytes {
            self.data[(self.produced & mask) as usize] = byte;
            self.produced += 1;
        }
        let size = self.data.len() as u64;
        if self.produced - self.consumed > size {
            self.consumed = self.produced - size;
        }
    }

    // Read by QMP's ringbuf-read once the monitor exists.
    #[cfg(test)]
    /// Removes and returns up to `max` of the oldest bytes.
    pub fn drain(&mut self, max: usize) -> Vec<u8> {
        let count = self.len().min(max);
        let mask = self.mask();
        let out = (0..count as u64)
            .map(|i| self.data[((self.consumed + i) & mask) as usize])
            .collect();
        self.consumed += count as u64;
        out
    }
}

pub(crate) struct RingbufChardev {
    ring: Ringbuf,
    /// `ringbuf` or `memory`: QEMU shows the name it was created by.
    backend: &'static str,
}

pub(crate) fn open(props: &Props, backend: &'static str) -> Result<Box<dyn Chardev>, ChardevError> {
    // size=0 means the default, as in QEMU.
    let size = match props.size("size")? {
        None | Some(0) => DEFAULT_SIZE,
        Some(size) => size,
    };
    if !size.is_power_of_two() {
        return Err(ChardevError::new(
            "size of ringbuf chardev must be power of two",
        ));
    }
    let size = usize::try_from(size)
        .map_err(|_| ChardevError::new("size of ringbuf chardev must be power of two"))?;
    Ok(Box::new(RingbufChardev {
        ring: Ringbuf::new(size),
        backend,
    }))
}

impl Chardev for RingbufChardev {
    fn input_fd(&self) -> Option<RawFd> {
        None
    }
    fn read_input(&mut self, _buf: &mut [u8]) -> ChardevRead {
        ChardevRead::WouldBlock
    }
    fn filename(&self) -> String {
        self.backend.to_string()
    }
    fn write(&mut self, data: &[u8]) {
        self.ring.push(data);
    }
    #[cfg(test)]
    fn ringbuf(&mut self) -> Option<&mut Ringbuf> {
        Some(&mut self.ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vl::description::Dict;

    fn open_with(size: &str) -> Result<Box<dyn Chardev>, ChardevError> {
        let mut dict = Dict::new();
        dict.insert("size".into(), size.into());
        open(&Props::new(&dict), "ringbuf")
    }

    #[test]
    fn keeps_the_newest_bytes_when_it_wraps() {
        let mut dev = open_with("4").unwrap();
        dev.write(b"abcdef");
        let ring = dev.ringbuf().unwrap();
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.drain(3), b"cde");
        ring.push(b"gh");
        assert_eq!(ring.drain(100), b"fgh");
        assert!(ring.is_empty());
    }

    #[test]
    fn size_errors_match_qemu() {
        // qemu-system-x86_64 -chardev ringbuf,id=c,size=1000
        assert_eq!(
            open_with("1000").err().unwrap().to_string(),
            "size of ringbuf chardev must be power of two"
        );
        // ... size=abc
        assert_eq!(
            open_with("abc").err().unwrap().to_string(),
            "Parameter 'size' expects a non-negative number below 2^64\n\
             Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n\
             and exabytes, respectively."
        );
        // size=0 is accepted (the default size) and size=2 too.
        assert!(open_with("0").is_ok());
        assert!(open_with("2").is_ok());
    }
}

//! An address-range bus: the only dispatch from vCPU exits to devices.
//!
//! A PC has two of them, the I/O port space and the memory-mapped space. Each
//! maps non-overlapping ranges to devices; a device sees offsets relative to
//! the start of its range, as QEMU's MemoryRegion callbacks do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

/// A device that answers reads and writes on a range of a bus.
pub trait BusDevice: Send {
    /// Fill `data` with the bytes at `offset` into the device's range.
    fn read(&mut self, offset: u64, data: &mut [u8]);
    /// Take the bytes of `data` written at `offset` into the device's range.
    fn write(&mut self, offset: u64, data: &[u8]);
    /// Return to the state of a machine reset (power-on state).
    fn reset(&mut self) {}
}

/// A device shared between the bus and whoever else drives it (the main loop
/// feeding it input, the machine resetting it).
pub type SharedDevice = Arc<Mutex<dyn BusDevice>>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusError {
    #[error("range {base:#x}+{len:#x} is empty or wraps around")]
    InvalidRange { base: u64, len: u64 },
    #[error("range {base:#x}+{len:#x} overlaps a device already on the bus")]
    Overlap { base: u64, len: u64 },
}

/// What QEMU calls the memory region(s) a mapping stands for: the names
/// `info mtree` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionName {
    /// One region over the whole range.
    Whole(&'static str),
    /// Several regions over parts of the range, where QEMU maps a device
    /// as several regions that one mapping here serves.
    Parts(&'static [RegionPart]),
}

impl From<&'static str> for RegionName {
    fn from(name: &'static str) -> Self {
        RegionName::Whole(name)
    }
}

/// One of the regions of [`RegionName::Parts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionPart {
    /// Where the region starts in the mapping's range.
    pub offset: u64,
    pub len: u64,
    pub name: &'static str,
    /// QEMU's priority of the region among its overlapping neighbours.
    pub priority: i32,
}

/// A region of a bus as `info mtree` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedRegion {
    pub base: u64,
    pub len: u64,
    pub name: &'static str,
    pub priority: i32,
}

struct Mapping {
    len: u64,
    name: RegionName,
    device: SharedDevice,
}

/// Ranges of one address space mapped to devices.
#[derive(Default)]
pub struct Bus {
    // Keyed by the start of each range; ranges never overlap.
    ranges: RwLock<BTreeMap<u64, Mapping>>,
}

impl Bus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Map `device` at `[base, base + len)`, as the QEMU memory region(s)
    /// `name` says.
    pub fn insert(
        &self,
        base: u64,
        len: u64,
        name: impl Into<RegionName>,
        device: SharedDevice,
    ) -> Result<(), BusError> {
        let end = base
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(BusError::InvalidRange { base, len })?;
        let mut ranges = self.ranges.write().unwrap_or_else(|e| e.into_inner());
        let overlaps_before = ranges
            .range(..end)
            .next_back()
            .is_some_and(|(start, m)| start + m.len > base);
        if overlaps_before {
            return Err(BusError::Overlap { base, len });
        }
        let name = name.into();
        ranges.insert(base, Mapping { len, name, device });
        Ok(())
    }

    /// Unmap the range that starts at `base`, returning whether one did.
    pub fn remove(&self, base: u64) -> bool {
        let mut ranges = self.ranges.write().unwrap_or_else(|e| e.into_inner());
        ranges.remove(&base).is_some()
    }

    /// The regions of the bus by address, each mapping's parts in the order
    /// given.
    pub fn regions(&self) -> Vec<NamedRegion> {
        let ranges = self.ranges.read().unwrap_or_else(|e| e.into_inner());
        let mut regions = Vec::new();
        for (&base, mapping) in ranges.iter() {
            match mapping.name {
                RegionName::Whole(name) => regions.push(NamedRegion {
                    base,
                    len: mapping.len,
                    name,
                    priority: 0,
                }),
                RegionName::Parts(parts) => regions.extend(parts.iter().map(|part| NamedRegion {
                    base: base + part.offset,
                    len: part.len,
                    name: part.name,
                    priority: part.priority,
                })),
            }
        }
        regions
    }

    /// Reset every device on the bus (machine reset).
    pub fn reset_devices(&self) {
        let ranges = self.ranges.read().unwrap_or_else(|e| e.into_inner());
        for mapping in ranges.values() {
            lock(&mapping.device).reset();
        }
    }

    /// The device covering `addr` and the offset of `addr` inside its range,
    /// provided the whole access of `size` bytes fits in that range.
    fn resolve(&self, addr: u64, size: usize) -> Option<(SharedDevice, u64)> {
        let ranges = self.ranges.read().unwrap_or_else(|e| e.into_inner());
        let (start, m) = ranges.range(..=addr).next_back()?;
        let offset = addr - start;
        let end = offset.checked_add(size as u64)?;
        (end <= m.len).then(|| (m.device.clone(), offset))
    }

    /// Read from the device at `addr`; false when nothing is mapped there, and
    /// the caller decides what an unassigned read returns.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.resolve(addr, data.len()) {
            Some((device, offset)) => {
                lock(&device).read(offset, data);
                true
            }
            None => false,
        }
    }

    /// Write to the device at `addr`; false when nothing is mapped there.
    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        match self.resolve(addr, data.len()) {
            Some((device, offset)) => {
                lock(&device).write(offset, data);
                true
            }
            None => false,
        }
    }
}

/// Lock a device; a device whose lock was poisoned by a panicking thread is
/// still used, since its state is plain data that a panic cannot tear.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serve a read of several bytes from a device whose registers are one byte
/// wide, one register after the other, least significant byte first: how
/// QEMU splits a wide access to a region with `impl.max_access_size = 1`.
pub fn read_bytewise(offset: u64, data: &mut [u8], mut read_byte: impl FnMut(u64) -> u8) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = read_byte(offset + i as u64);
    }
}

/// The write counterpart of `read_bytewise`.
pub fn write_bytewise(offset: u64, data: &[u8], mut write_byte: impl FnMut(u64, u8)) {
    for (i, &byte) in data.iter().enumerate() {
        write_byte(offset + i as u64, byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the offsets it is accessed at, answers reads with the offset.
    struct Probe(Vec<u64>);

    impl BusDevice for Probe {
        fn read(&mut self, offset: u64, data: &mut [u8]) {
            self.0.push(offset);
            data.fill(offset as u8);
        }
        fn write(&mut self, offset: u64, _data: &[u8]) {
            self.0.push(offset);
        }
    }

    #[test]
    fn dispatches_by_range_with_relative_offsets() {
        let bus = Bus::new();
        let a = Arc::new(Mutex::new(Probe(vec![])));
        let b = Arc::new(Mutex::new(Probe(vec![])));
        bus.insert(0x3f8, 8, "serial", a.clone()).unwrap();
        bus.insert(0x2f8, 8, "serial", b.clone()).unwrap();
        let mut byte = [0u8];
        assert!(bus.read(0x3fd, &mut byte));
        assert_eq!(byte[0], 5);
        assert!(bus.write(0x2f8, &[1]));
        assert!(!bus.read(0x400, &mut byte));
        assert!(!bus.read(0x300, &mut byte));
        assert_eq!(a.lock().unwrap().0, vec![5]);
        assert_eq!(b.lock().unwrap().0, vec![0]);
    }

    #[test]
    fn refuses_overlaps_and_empty_ranges() {
        let bus = Bus::new();
        let d = || Arc::new(Mutex::new(Probe(vec![])));
        bus.insert(0x60, 1, "probe", d()).unwrap();
        bus.insert(0x64, 1, "probe", d()).unwrap();
        assert!(matches!(
            bus.insert(0x5f, 2, "probe", d()),
            Err(BusError::Overlap { .. })
        ));
        assert!(matches!(
            bus.insert(0x64, 1, "probe", d()),
            Err(BusError::Overlap { .. })
        ));
        assert!(matches!(
            bus.insert(0x70, 0, "probe", d()),
            Err(BusError::InvalidRange { .. })
        ));
        assert!(matches!(
            bus.insert(u64::MAX, 2, "probe", d()),
            Err(BusError::InvalidRange { .. })
        ));
        bus.insert(0x61, 3, "probe", d()).unwrap();
    }

    #[test]
    fn access_straddling_the_end_of_a_range_is_unassigned() {
        let bus = Bus::new();
        bus.insert(0x80, 1, "ioport80", Arc::new(Mutex::new(Probe(vec![]))))
            .unwrap();
        let mut word = [0u8; 2];
        assert!(!bus.read(0x80, &mut word));
        assert!(!bus.read(u64::MAX, &mut word));
    }

    #[test]
    fn regions_list_names_and_parts_by_address() {
        const PARTS: &[RegionPart] = &[
            RegionPart {
                offset: 0,
                len: 4,
                name: "idx",
                priority: 0,
            },
            RegionPart {
                offset: 1,
                len: 1,
                name: "over",
                priority: 1,
            },
        ];
        let bus = Bus::new();
        let d = || Arc::new(Mutex::new(Probe(vec![])));
        bus.insert(0xcf8, 8, RegionName::Parts(PARTS), d()).unwrap();
        bus.insert(0x60, 1, "i8042-data", d()).unwrap();
        let region = |base, len, name, priority| NamedRegion {
            base,
            len,
            name,
            priority,
        };
        assert_eq!(
            bus.regions(),
            vec![
                region(0x60, 1, "i8042-data", 0),
                region(0xcf8, 4, "idx", 0),
                region(0xcf9, 1, "over", 1),
            ]
        );
        assert!(bus.remove(0x60));
        assert_eq!(bus.regions().len(), 2);
    }
}

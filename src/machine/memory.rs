//! Guest RAM: anonymous memory, or the memory backend object that
//! `-machine memory-backend=ID` names (`memory-backend-ram`, `-memfd`,
//! `-file`), mapped into the machine's RAM regions.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::FromRawFd;
use std::path::Path;

use serde_json::Value;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryMmap, GuestRegionMmap};

use crate::vl::description::ObjectOptions;
use crate::vl::qdict::{flag, parse_size};

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("Memory backend '{0}' not found")]
    BackendNotFound(String),
    #[error("Machine memory size does not match the size of the memory backend")]
    SizeMismatch,
    #[error("cannot set up guest memory '{name}': {reason}")]
    Allocation { name: String, reason: String },
}

/// How RAM is backed.
enum Backing {
    Anonymous { shared: bool },
    File { file: File, shared: bool },
}

/// mmap flags for the backend's sharing and `reserve` property. With
/// `reserve=on` (the default) the kernel accounts for the whole size up
/// front, so RAM the host cannot provide fails at start, as in QEMU.
fn mmap_flags(shared: bool, reserve: bool) -> i32 {
    let share = if shared {
        libc::MAP_SHARED
    } else {
        libc::MAP_PRIVATE
    };
    if reserve {
        share
    } else {
        share | libc::MAP_NORESERVE
    }
}

/// A property of a backend object as a size (JSON number or size text).
fn size_property(obj: &ObjectOptions, name: &str) -> Option<u64> {
    match obj.properties.get(name)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_size(s, 1).ok().map(|s| s.bytes),
        _ => None,
    }
}

fn strerror(e: &io::Error) -> String {
    crate::os::strerror(e)
}

/// The file behind a memory-backend-file: a regular file, or an unlinked
/// temporary file when `mem-path` is a directory (as QEMU does).
fn backend_file(path: &Path, size: u64) -> io::Result<File> {
    let file = if path.is_dir() {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .open(path)?
    } else {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?
    };
    if file.metadata()?.len() < size {
        file.set_len(size)?;
    }
    Ok(file)
}

fn memfd(name: &str, size: u64) -> io::Result<File> {
    let cname =
        std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a valid C string and flags; the fd returned is owned below.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and nothing else owns it.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(size)?;
    Ok(file)
}

fn backing_for(obj: &ObjectOptions, size: u64) -> io::Result<Backing> {
    Ok(match obj.qom_type.as_str() {
        "memory-backend-memfd" => Backing::File {
            file: memfd(&obj.qom_type, size)?,
            shared: flag(&obj.properties, "share", true),
        },
        "memory-backend-file" => {
            let path = match obj.properties.get("mem-path") {
                Some(Value::String(p)) => p.clone(),
                _ => String::new(),
            };
            Backing::File {
                file: backend_file(Path::new(&path), size)?,
                shared: flag(&obj.properties, "share", false),
            }
        }
        _ => Backing::Anonymous {
            shared: flag(&obj.properties, "share", false),
        },
    })
}

/// The name of the machine's RAM block: QEMU's `pc.ram`, or the id of the
/// memory backend object standing for it.
pub fn ram_block_name(backend_id: Option<&str>) -> &str {
    backend_id.unwrap_or("pc.ram")
}

/// Allocate `ram_size` bytes of guest RAM laid out as `regions` (address,
/// size), the regions taking consecutive parts of the backend.
pub fn allocate(
    ram_size: u64,
    regions: &[(GuestAddress, u64)],
    backend_id: Option<&str>,
    objects: &[ObjectOptions],
    machine_advice: MemoryAdvice,
) -> Result<GuestMemoryMmap, MemoryError> {
    let mut advice = machine_advice;
    let (name, backing, reserve) = match backend_id {
        Some(id) => {
            let obj = objects
                .iter()
                .find(|o| o.id == id && o.qom_type.starts_with("memory-backend-"))
                .ok_or_else(|| MemoryError::BackendNotFound(id.to_string()))?;
            if size_property(obj, "size") != Some(ram_size) {
                return Err(MemoryError::SizeMismatch);
            }
            let backing = backing_for(obj, ram_size).map_err(|e| MemoryError::Allocation {
                name: id.to_string(),
                reason: strerror(&e),
            })?;
            // A backend's own `merge` and `dump` win over the machine's.
            advice = MemoryAdvice {
                merge: flag(&obj.properties, "merge", advice.merge),
                dump: flag(&obj.properties, "dump", advice.dump),
            };
            (
                id.to_string(),
                backing,
                flag(&obj.properties, "reserve", true),
            )
        }
        None => (
            ram_block_name(None).to_string(),
            Backing::Anonymous { shared: false },
            true,
        ),
    };
    let alloc_error = |reason: String| MemoryError::Allocation {
        name: name.clone(),
        reason,
    };
    let mut mapped = Vec::new();
    let mut offset = 0u64;
    for &(addr, size) in regions {
        let len = usize::try_from(size)
            .map_err(|_| alloc_error(strerror(&io::Error::from_raw_os_error(libc::ENOMEM))))?;
        let (flags, file_offset) = match &backing {
            Backing::Anonymous { shared } => {
                (libc::MAP_ANONYMOUS | mmap_flags(*shared, reserve), None)
            }
            Backing::File { file, shared } => {
                let clone = file.try_clone().map_err(|e| alloc_error(strerror(&e)))?;
                (
                    mmap_flags(*shared, reserve),
                    Some(FileOffset::new(clone, offset)),
                )
            }
        };
        let mut builder = MmapRegionBuilder::new(len)
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_mmap_flags(flags);
        if let Some(fo) = file_offset {
            builder = builder.with_file_offset(fo);
        }
        let region = builder
            .build()
            .map_err(|_| alloc_error(strerror(&io::Error::from_raw_os_error(libc::ENOMEM))))?;
        advise(region.as_ptr(), len, advice);
        let region = GuestRegionMmap::new(region, addr)
            .ok_or_else(|| alloc_error(strerror(&io::Error::from_raw_os_error(libc::EINVAL))))?;
        mapped.push(region);
        offset += size;
    }
    GuestMemoryMmap::from_regions(mapped)
        .map_err(|_| alloc_error(strerror(&io::Error::from_raw_os_error(libc::EINVAL))))
}

/// What the kernel is told about guest RAM (`-machine mem-merge=`,
/// `dump-guest-core=`, a backend's `merge=`, `dump=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryAdvice {
    /// Offer the pages to KSM for merging.
    pub merge: bool,
    /// Keep the pages in a core dump of the process.
    pub dump: bool,
}

/// Advises the kernel on a guest RAM mapping, as QEMU does; a kernel
/// without KSM refuses MADV_MERGEABLE, which changes nothing for the guest.
fn advise(addr: *mut u8, len: usize, advice: MemoryAdvice) {
    let mut flags = Vec::new();
    if advice.merge {
        flags.push(libc::MADV_MERGEABLE);
    }
    if !advice.dump {
        flags.push(libc::MADV_DONTDUMP);
    }
    for flag in flags {
        // SAFETY: the range is a mapping this function's caller just made
        // and owns; madvise does not change its contents.
        unsafe { libc::madvise(addr.cast(), len, flag) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::{Bytes, GuestMemoryBackend};

    fn object(qom_type: &str, id: &str, props: serde_json::Value) -> ObjectOptions {
        ObjectOptions {
            qom_type: qom_type.into(),
            id: id.into(),
            properties: props.as_object().cloned().unwrap_or_default(),
            location: format!("-object {qom_type},id={id}"),
            json: false,
        }
    }

    const ADVICE: MemoryAdvice = MemoryAdvice {
        merge: true,
        dump: true,
    };

    const REGIONS: [(GuestAddress, u64); 2] =
        [(GuestAddress(0), 1 << 20), (GuestAddress(1 << 32), 1 << 20)];

    #[test]
    fn backend_must_exist_and_match_the_ram_size() {
        let objects = [object(
            "memory-backend-ram",
            "m0",
            serde_json::json!({"size": "1M"}),
        )];
        let err = allocate(2 << 20, &REGIONS, Some("nosuch"), &objects, ADVICE).unwrap_err();
        assert_eq!(err.to_string(), "Memory backend 'nosuch' not found");
        let err = allocate(2 << 20, &REGIONS, Some("m0"), &objects, ADVICE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Machine memory size does not match the size of the memory backend"
        );
    }

    /// A shared file backend holds the regions back to back: what the guest
    /// writes above 4 GiB lands right after the low region in the file.
    #[test]
    fn file_backend_maps_regions_consecutively() {
        let dir = std::env::temp_dir().join(format!("rqemu-mem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ram");
        let objects = [object(
            "memory-backend-file",
            "m0",
            serde_json::json!({"size": 2097152, "mem-path": path.to_str().unwrap(), "share": "on"}),
        )];
        let mem = allocate(2 << 20, &REGIONS, Some("m0"), &objects, ADVICE).unwrap();
        assert_eq!(mem.num_regions(), 2);
        mem.write_obj(0x1234_5678u32, GuestAddress(1 << 32))
            .unwrap();
        let contents = std::fs::read(&path).unwrap();
        assert_eq!(
            &contents[1 << 20..(1 << 20) + 4],
            &0x1234_5678u32.to_le_bytes()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

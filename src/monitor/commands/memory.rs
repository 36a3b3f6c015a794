//! Guest memory dumped to a file: `pmemsave`.

use std::fs::File;
use std::io::Write;

use qapi::QmpError;

use crate::machine::Machine;
use crate::os::strerror;

/// How much guest memory is read and written at a time.
const CHUNK: usize = 64 * 1024;

/// Opens `filename` for a dump, with QEMU's error.
fn create_dump(filename: &str) -> Result<File, QmpError> {
    File::create(filename)
        .map_err(|e| QmpError::generic(format!("Could not open '{filename}': {}", strerror(&e))))
}

/// `size` bytes of guest physical memory from `addr` into `filename`.
pub fn pmemsave(machine: &Machine, addr: i64, size: i64, filename: &str) -> Result<(), QmpError> {
    let mut file = create_dump(filename)?;
    // QEMU 7.2 crashes on a negative size; refuse it instead.
    let size = u64::try_from(size)
        .map_err(|_| QmpError::generic("Parameter 'size' expects a non-negative number"))?;
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < size {
        let len = (size - done).min(CHUNK as u64) as usize;
        machine.read_physical((addr as u64).wrapping_add(done), &mut buf[..len]);
        file.write_all(&buf[..len])
            .map_err(|_| QmpError::generic("An IO error has occurred"))?;
        done += len as u64;
    }
    Ok(())
}

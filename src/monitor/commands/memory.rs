//! Guest memory dumped to a file: `memsave` (virtual addresses, through a
//! vCPU's page tables) and `pmemsave` (physical addresses).

use std::fs::File;
use std::io::Write;

use qapi::QmpError;

use crate::cpu::paging::read_virtual;
use crate::machine::Machine;
use crate::os::strerror;

/// How much guest memory is read and written at a time: a page, so that
/// what cannot be read is found page by page.
const CHUNK: usize = 4096;

/// Opens `filename` for a dump, with QEMU's error.
fn create_dump(filename: &str) -> Result<File, QmpError> {
    File::create(filename)
        .map_err(|e| QmpError::generic(format!("Could not open '{filename}': {}", strerror(&e))))
}

/// Writes `size` bytes from `addr` on into `file`, a chunk at a time,
/// each read by `read` (which says whether it could).
fn dump(
    file: &mut File,
    addr: u64,
    size: u64,
    mut read: impl FnMut(u64, &mut [u8]) -> bool,
) -> Result<bool, QmpError> {
    let mut buf = [0u8; CHUNK];
    let mut done = 0u64;
    while done < size {
        let at = addr.wrapping_add(done);
        let len = (size - done).min(CHUNK as u64 - (at % CHUNK as u64)) as usize;
        if !read(at, &mut buf[..len]) {
            return Ok(false);
        }
        file.write_all(&buf[..len])
            .map_err(|_| QmpError::generic("An IO error has occurred"))?;
        done += len as u64;
    }
    Ok(true)
}

/// QEMU 7.2 crashes on a negative size; it is refused here.
fn dump_size(size: i64) -> Result<u64, QmpError> {
    u64::try_from(size)
        .map_err(|_| QmpError::generic("Parameter 'size' expects a non-negative number"))
}

/// `size` bytes of guest physical memory from `addr` into `filename`;
/// what is neither RAM nor a device reads as zeros, as in QEMU.
pub fn pmemsave(machine: &Machine, addr: i64, size: i64, filename: &str) -> Result<(), QmpError> {
    let mut file = create_dump(filename)?;
    let size = dump_size(size)?;
    dump(&mut file, addr as u64, size, |at, buf| {
        machine.physical_read(at, buf);
        true
    })?;
    Ok(())
}

/// `size` bytes of the virtual memory vCPU `cpu_index` (0 by default)
/// sees from `addr` into `filename`.
pub fn memsave(
    machine: &Machine,
    addr: i64,
    size: i64,
    filename: &str,
    cpu_index: Option<i64>,
) -> Result<(), QmpError> {
    let cpu = cpu_index.unwrap_or(0);
    let sregs = usize::try_from(cpu)
        .ok()
        .filter(|&i| i < machine.cpu_count())
        .and_then(|i| machine.vcpu_state(i))
        .map(|state| state.sregs)
        .ok_or_else(|| QmpError::generic("Parameter 'cpu-index' expects a CPU number"))?;
    let mut file = create_dump(filename)?;
    let length = dump_size(size)?;
    let whole = dump(&mut file, addr as u64, length, |at, buf| {
        read_virtual(machine, &sregs, at, buf)
    })?;
    if !whole {
        return Err(QmpError::generic(format!(
            "Invalid addr 0x{:016x}/size {size} specified",
            addr as u64
        )));
    }
    Ok(())
}

//! The fw_cfg DMA engine: one transfer described by an `FWCfgDmaAccess`
//! structure in guest memory, as QEMU 7.2's `fw_cfg_dma_transfer` does it.
//!
//! The structure is 16 bytes, all big-endian: `control` (32 bits: the
//! operation bits below, and the key to select in the high 16 bits),
//! `length` (32 bits) and `address` (64 bits). When the transfer is done the
//! device writes `control` back: 0 on success, [`DMA_CTL_ERROR`] on failure.
//!
//! Only guest RAM takes part: a descriptor or a buffer outside it makes the
//! transfer fail with the error bit, as QEMU's accesses to unassigned
//! memory fail.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::fw_cfg::FwCfg;

pub const DMA_CTL_ERROR: u32 = 0x01;
pub const DMA_CTL_READ: u32 = 0x02;
pub const DMA_CTL_SKIP: u32 = 0x04;
pub const DMA_CTL_SELECT: u32 = 0x08;
pub const DMA_CTL_WRITE: u32 = 0x10;

/// What a read of the DMA address register returns, byte by byte.
pub const DMA_SIGNATURE: [u8; 8] = *b"QEMU CFG";

/// Bytes of the `FWCfgDmaAccess` structure.
pub const DMA_DESCRIPTOR_SIZE: usize = 16;

/// What a transfer does with the bytes of the selected item.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    /// Item to guest memory.
    Read,
    /// Guest memory to item (writable items only).
    Write,
    /// Move the offset on.
    Skip,
}

/// Run the transfer whose descriptor is at `descriptor` in guest memory.
pub fn dma_transfer(fw_cfg: &mut FwCfg, mem: &GuestMemoryMmap, descriptor: GuestAddress) {
    let mut raw = [0u8; DMA_DESCRIPTOR_SIZE];
    if mem.read_slice(&mut raw, descriptor).is_err() {
        report(mem, descriptor, DMA_CTL_ERROR);
        return;
    }
    let control = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let mut length = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
    let mut address = u64::from_be_bytes([
        raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15],
    ]);

    if control & DMA_CTL_SELECT != 0 {
        fw_cfg.select((control >> 16) as u16);
    }
    // Read wins over write, write over skip; none of them moves nothing.
    let operation = if control & DMA_CTL_READ != 0 {
        Operation::Read
    } else if control & DMA_CTL_WRITE != 0 {
        Operation::Write
    } else if control & DMA_CTL_SKIP != 0 {
        Operation::Skip
    } else {
        length = 0;
        Operation::Skip
    };

    let mut failed = false;
    while length > 0 && !failed {
        let offset = fw_cfg.current_offset();
        let available = fw_cfg.current_item().map_or(0, |item| {
            (item.data.len() as u64).saturating_sub(u64::from(offset))
        });
        let chunk;
        if available == 0 {
            // Nothing (left) to transfer: reads see zeros, writes fail, and
            // the offset stays where it is.
            chunk = length;
            failed = match operation {
                Operation::Read => !fill_zero(mem, address, chunk),
                Operation::Write => true,
                Operation::Skip => false,
            };
        } else {
            chunk = length.min(available as u32);
            failed = match operation {
                Operation::Read => !copy_to_guest(fw_cfg, mem, address, chunk),
                Operation::Write => !copy_from_guest(fw_cfg, mem, address, chunk, length),
                Operation::Skip => false,
            };
            fw_cfg.advance(chunk);
        }
        address = address.wrapping_add(u64::from(chunk));
        length -= chunk;
    }
    report(mem, descriptor, if failed { DMA_CTL_ERROR } else { 0 });
}

/// Write the final `control` back; if even that fails the guest sees
/// nothing, as in QEMU.
fn report(mem: &GuestMemoryMmap, descriptor: GuestAddress, control: u32) {
    let _ = mem.write_slice(&control.to_be_bytes(), descriptor);
}

/// Whether `[address, address + len)` lies in RAM without wrapping.
fn in_range(address: u64, len: u32) -> bool {
    address.checked_add(u64::from(len)).is_some()
}

fn copy_to_guest(fw_cfg: &FwCfg, mem: &GuestMemoryMmap, address: u64, len: u32) -> bool {
    let offset = fw_cfg.current_offset() as usize;
    let Some(item) = fw_cfg.current_item() else {
        return false;
    };
    let Some(bytes) = item.data.get(offset..offset + len as usize) else {
        return false;
    };
    in_range(address, len) && mem.write_slice(bytes, GuestAddress(address)).is_ok()
}

/// Guest memory into the selected item: only into a writable item, and
/// only when the whole request fits in what is left of it.
fn copy_from_guest(
    fw_cfg: &mut FwCfg,
    mem: &GuestMemoryMmap,
    address: u64,
    len: u32,
    requested: u32,
) -> bool {
    let offset = fw_cfg.current_offset();
    let Some(item) = fw_cfg.current_item_mut() else {
        return false;
    };
    if !item.writable || len != requested || !in_range(address, len) {
        return false;
    }
    let start = offset as usize;
    let Some(bytes) = item.data.get_mut(start..start + len as usize) else {
        return false;
    };
    if mem.read_slice(bytes, GuestAddress(address)).is_err() {
        return false;
    }
    fw_cfg.written(offset, len);
    true
}

/// Zeros into guest memory, a page at a time so that a 4 GiB request
/// allocates nothing large.
fn fill_zero(mem: &GuestMemoryMmap, address: u64, len: u32) -> bool {
    const ZEROS: [u8; 4096] = [0; 4096];
    if !in_range(address, len) {
        return false;
    }
    let mut done = 0u64;
    let mut ok = true;
    while done < u64::from(len) {
        let chunk = (u64::from(len) - done).min(ZEROS.len() as u64) as usize;
        // Like QEMU, keep going past a failed piece so that whatever RAM
        // the range covers is cleared.
        ok &= mem
            .write_slice(&ZEROS[..chunk], GuestAddress(address + done))
            .is_ok();
        done += chunk as u64;
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nvram::fw_cfg::{keys, FileAccess};
    use std::sync::{Arc, Mutex};

    fn memory() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 0x10000)]).unwrap()
    }

    fn run(fw_cfg: &mut FwCfg, mem: &GuestMemoryMmap, control: u32, len: u32, addr: u64) -> u32 {
        let mut descriptor = [0u8; DMA_DESCRIPTOR_SIZE];
        descriptor[0..4].copy_from_slice(&control.to_be_bytes());
        descriptor[4..8].copy_from_slice(&len.to_be_bytes());
        descriptor[8..16].copy_from_slice(&addr.to_be_bytes());
        mem.write_slice(&descriptor, GuestAddress(0x100)).unwrap();
        dma_transfer(fw_cfg, mem, GuestAddress(0x100));
        mem.read_obj::<u32>(GuestAddress(0x100))
            .unwrap()
            .swap_bytes()
    }

    #[test]
    fn writes_reach_a_writable_file_and_its_callback() {
        let mem = memory();
        let mut fw_cfg = FwCfg::new(true);
        let writes = Arc::new(Mutex::new(Vec::new()));
        let log = writes.clone();
        let access = FileAccess {
            writable: true,
            on_write: Some(Box::new(move |data: &[u8], offset, len| {
                log.lock().unwrap().push((data.to_vec(), offset, len));
            })),
            ..FileAccess::default()
        };
        let key = fw_cfg
            .add_file_with_access("etc/addr", vec![0; 4], access)
            .unwrap();
        mem.write_slice(&[9, 8], GuestAddress(0x200)).unwrap();
        let select = (u32::from(key) << 16) | DMA_CTL_SELECT;
        assert_eq!(run(&mut fw_cfg, &mem, select | DMA_CTL_SKIP, 1, 0), 0);
        assert_eq!(run(&mut fw_cfg, &mem, DMA_CTL_WRITE, 2, 0x200), 0);
        assert_eq!(fw_cfg.file("etc/addr").unwrap(), [0, 9, 8, 0]);
        assert_eq!(*writes.lock().unwrap(), [(vec![0, 9, 8, 0], 1, 2)]);
    }

    #[test]
    fn huge_lengths_and_wrapping_addresses_fail_without_panicking() {
        let mem = memory();
        let mut fw_cfg = FwCfg::new(true);
        let select = (u32::from(keys::SIGNATURE) << 16) | DMA_CTL_SELECT;
        for (control, len, addr) in [
            (select | DMA_CTL_READ, u32::MAX, 0x1000),
            (select | DMA_CTL_READ, u32::MAX, u64::MAX),
            (DMA_CTL_READ, 16, u64::MAX - 1),
            (select | DMA_CTL_WRITE, u32::MAX, u64::MAX),
        ] {
            assert_eq!(run(&mut fw_cfg, &mem, control, len, addr), DMA_CTL_ERROR);
        }
        // The descriptor itself beyond RAM: nothing happens.
        dma_transfer(&mut fw_cfg, &mem, GuestAddress(u64::MAX - 3));
    }
}

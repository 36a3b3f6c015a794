//! QEMU's firmware configuration device (fw_cfg): numbered items and a
//! directory of named files that firmware (SeaBIOS, OVMF) and guest
//! drivers read through a selector and a data register, or by DMA.
//!
//! This file holds the device's contents and the selector/data semantics;
//! `fw_cfg_io` puts it on the PC's I/O ports, `fw_cfg_dma` is the DMA
//! engine, `fw_cfg_x86` fills in what QEMU's PC machines put there.
//!
//! Layout of the selector space, as in QEMU 7.2: keys below
//! [`keys::FILE_FIRST`] are well-known numbered items, keys from there on
//! are the files of the directory ([`keys::FILE_DIR`]), kept sorted by name
//! so that a file's key depends on the names around it. Bit 15
//! ([`keys::ARCH_LOCAL`]) selects a second, architecture-specific bank;
//! bit 14 ([`keys::WRITE_CHANNEL`]) is ignored when selecting.

/// Selector keys (QEMU's `include/standard-headers/linux/qemu_fw_cfg.h`
/// and `hw/i386/fw_cfg.h`).
pub mod keys {
    pub const SIGNATURE: u16 = 0x00;
    pub const ID: u16 = 0x01;
    pub const UUID: u16 = 0x02;
    pub const RAM_SIZE: u16 = 0x03;
    pub const NOGRAPHIC: u16 = 0x04;
    pub const NB_CPUS: u16 = 0x05;
    pub const MACHINE_ID: u16 = 0x06;
    pub const KERNEL_ADDR: u16 = 0x07;
    pub const KERNEL_SIZE: u16 = 0x08;
    pub const KERNEL_CMDLINE: u16 = 0x09;
    pub const INITRD_ADDR: u16 = 0x0a;
    pub const INITRD_SIZE: u16 = 0x0b;
    pub const BOOT_DEVICE: u16 = 0x0c;
    pub const NUMA: u16 = 0x0d;
    pub const BOOT_MENU: u16 = 0x0e;
    pub const MAX_CPUS: u16 = 0x0f;
    pub const KERNEL_ENTRY: u16 = 0x10;
    pub const KERNEL_DATA: u16 = 0x11;
    pub const INITRD_DATA: u16 = 0x12;
    pub const CMDLINE_ADDR: u16 = 0x13;
    pub const CMDLINE_SIZE: u16 = 0x14;
    pub const CMDLINE_DATA: u16 = 0x15;
    pub const SETUP_ADDR: u16 = 0x16;
    pub const SETUP_SIZE: u16 = 0x17;
    pub const SETUP_DATA: u16 = 0x18;
    pub const FILE_DIR: u16 = 0x19;
    /// The key of the first file of the directory.
    pub const FILE_FIRST: u16 = 0x20;

    pub const WRITE_CHANNEL: u16 = 0x4000;
    pub const ARCH_LOCAL: u16 = 0x8000;
    pub const ENTRY_MASK: u16 = !(WRITE_CHANNEL | ARCH_LOCAL);
    /// What the current selection is after selecting a key out of range.
    pub const INVALID: u16 = 0xffff;

    /// x86: tables given with `-acpitable` (empty without).
    pub const ACPI_TABLES: u16 = ARCH_LOCAL;
    /// x86: legacy SMBIOS entries (machines older than QEMU 2.1 only).
    pub const SMBIOS_ENTRIES: u16 = ARCH_LOCAL + 1;
    /// x86: the timer interrupt is routed to IOAPIC pin 2.
    pub const IRQ0_OVERRIDE: u16 = ARCH_LOCAL + 2;
    /// x86: the legacy e820 reservations table (no longer set by QEMU 7.2).
    pub const E820_TABLE: u16 = ARCH_LOCAL + 3;
    /// x86: HPET blocks for the firmware's ACPI tables.
    pub const HPET: u16 = ARCH_LOCAL + 4;
}

/// The ID item's bit for the traditional (port or MMIO) interface.
pub const FEATURE_TRADITIONAL: u32 = 0x01;
/// The ID item's bit for the DMA interface.
pub const FEATURE_DMA: u32 = 0x02;

/// Files the directory has room for: QEMU's default `x-file-slots` for
/// the machine types of 2.9 and later.
pub const FILE_SLOTS: u16 = 0x20;
/// Bytes of a file name in the directory, the terminating NUL included.
pub const MAX_FILE_PATH: usize = 56;
/// Bytes of one directory entry: size (BE32), select (BE16), reserved
/// (16 bits), name.
const DIR_ENTRY_SIZE: usize = 4 + 2 + 2 + MAX_FILE_PATH;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FwCfgError {
    /// A file name already in the directory (QEMU's words).
    #[error("duplicate fw_cfg file name: {0}")]
    DuplicateFile(String),
    /// More files than the directory has slots (QEMU asserts instead).
    #[error("fw_cfg file directory is full ({FILE_SLOTS} files)")]
    DirectoryFull,
    /// A numbered item set twice (QEMU asserts instead).
    #[error("fw_cfg item {0:#06x} is already set")]
    KeyInUse(u16),
    /// A key outside the numbered items (QEMU asserts instead).
    #[error("fw_cfg key {0:#06x} is not a numbered item")]
    InvalidKey(u16),
    /// Items are at most 4 GiB - 2 bytes long (QEMU asserts instead).
    #[error("fw_cfg item of {0} bytes is too large")]
    TooLarge(usize),
    /// `-boot splash-time` out of range (QEMU's words, missing space
    /// included).
    #[error("splash-time is invalid,it should be a value between 0 and 65535")]
    InvalidSplashTime,
    /// `-boot reboot-timeout` out of range (QEMU's words).
    #[error("reboot timeout is invalid,it should be a value between -1 and 65535")]
    InvalidRebootTimeout,
}

/// Runs when the guest selects an item, before it reads it; may change the
/// item's bytes in place (QEMU's `FWCfgCallback`).
pub type SelectCallback = Box<dyn FnMut(&mut [u8]) + Send>;
/// Runs after the guest wrote `len` bytes at `offset` into a writable item
/// by DMA; gets the whole item (QEMU's `FWCfgWriteCallback`).
pub type WriteCallback = Box<dyn FnMut(&[u8], u32, u32) + Send>;

/// One item: its bytes and what happens when the guest touches it.
#[derive(Default)]
pub(crate) struct Item {
    pub(crate) data: Vec<u8>,
    pub(crate) writable: bool,
    on_select: Option<SelectCallback>,
    pub(crate) on_write: Option<WriteCallback>,
}

impl Item {
    fn read_only(data: Vec<u8>) -> Self {
        Item {
            data,
            ..Item::default()
        }
    }
}

/// How a file behaves beyond being read: QEMU's `fw_cfg_add_file_callback`
/// arguments.
#[derive(Default)]
pub struct FileAccess {
    /// The guest may write the file by DMA.
    pub writable: bool,
    pub on_select: Option<SelectCallback>,
    pub on_write: Option<WriteCallback>,
}

/// What fw_cfg takes from the machine configuration when it is created
/// (QEMU's `fw_cfg_common_realize`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineItems {
    /// `-uuid`, in the order it is written (zeros without `-uuid`).
    pub uuid: [u8; 16],
    /// `-nographic` or `-machine graphics=off`.
    pub nographic: bool,
    /// `-boot menu=on`.
    pub boot_menu: bool,
    /// `-boot splash-time=`, in milliseconds.
    pub splash_time: Option<i64>,
    /// `-boot reboot-timeout=`, in milliseconds (-1: never).
    pub reboot_timeout: Option<i64>,
}

/// The contents of the device and its selection.
pub struct FwCfg {
    /// Numbered items: `[generic, arch-local]`, indexed by key & ENTRY_MASK
    /// below FILE_FIRST.
    numbered: [Vec<Option<Item>>; 2],
    /// Files in directory order: file `i` has key `FILE_FIRST + i`.
    files: Vec<(Vec<u8>, Item)>,
    dma_enabled: bool,
    /// The selected key as written (INVALID when out of range).
    current_key: u16,
    /// Where the next data register read or DMA transfer starts.
    current_offset: u32,
}

impl FwCfg {
    /// A device with the items every fw_cfg has from its creation: the
    /// signature, the interface ID, and the (empty) file directory.
    pub fn new(dma_enabled: bool) -> Self {
        let mut fw_cfg = FwCfg {
            numbered: [
                (0..keys::FILE_FIRST).map(|_| None).collect(),
                (0..keys::FILE_FIRST).map(|_| None).collect(),
            ],
            files: Vec::new(),
            dma_enabled,
            current_key: keys::SIGNATURE,
            current_offset: 0,
        };
        let mut id = FEATURE_TRADITIONAL;
        if dma_enabled {
            id |= FEATURE_DMA;
        }
        fw_cfg.numbered[0][keys::SIGNATURE as usize] = Some(Item::read_only(b"QEMU".to_vec()));
        fw_cfg.numbered[0][keys::ID as usize] = Some(Item::read_only(id.to_le_bytes().to_vec()));
        fw_cfg.numbered[0][keys::FILE_DIR as usize] = Some(Item::read_only(Vec::new()));
        fw_cfg.rebuild_directory();
        fw_cfg
    }

    /// A device with what every machine's fw_cfg holds: the items of
    /// [`FwCfg::new`], the UUID, NOGRAPHIC and BOOT_MENU items,
    /// `etc/boot-menu-wait` when a splash time is given and
    /// `etc/boot-fail-wait` (-1, never, unless a reboot timeout is given).
    pub fn for_machine(dma_enabled: bool, machine: &MachineItems) -> Result<Self, FwCfgError> {
        let mut fw_cfg = FwCfg::new(dma_enabled);
        fw_cfg.add_bytes(keys::UUID, machine.uuid.to_vec())?;
        fw_cfg.add_i16(keys::NOGRAPHIC, u16::from(machine.nographic))?;
        fw_cfg.add_i16(keys::BOOT_MENU, u16::from(machine.boot_menu))?;
        if let Some(time) = machine.splash_time {
            let time = u16::try_from(time).map_err(|_| FwCfgError::InvalidSplashTime)?;
            fw_cfg.add_file("etc/boot-menu-wait", time.to_le_bytes().to_vec())?;
        }
        let reboot_timeout = match machine.reboot_timeout {
            None | Some(-1) => u32::MAX,
            Some(time @ 0..=0xffff) => time as u32,
            Some(_) => return Err(FwCfgError::InvalidRebootTimeout),
        };
        fw_cfg.add_file("etc/boot-fail-wait", reboot_timeout.to_le_bytes().to_vec())?;
        Ok(fw_cfg)
    }

    /// What QEMU refreshes at every machine reset: `bootorder` from the
    /// firmware paths of the devices with a boot index, in boot order
    /// (with `HALT` last under `-boot strict=on`), and `bios-geometry`,
    /// the disks' logical CHS geometries (empty: no disk model here
    /// reports one).
    pub fn update_boot_files(
        &mut self,
        boot_paths: &[String],
        strict: bool,
    ) -> Result<(), FwCfgError> {
        self.modify_file("bootorder", boot_order_file(boot_paths, strict))?;
        self.modify_file("bios-geometry", Vec::new())
    }

    /// Whether the DMA interface is offered (the ID item says so).
    pub fn dma_enabled(&self) -> bool {
        self.dma_enabled
    }

    // ---- filling the device -------------------------------------------

    /// Set numbered item `key` to `data` (`fw_cfg_add_bytes`).
    pub fn add_bytes(&mut self, key: u16, data: Vec<u8>) -> Result<(), FwCfgError> {
        check_len(data.len())?;
        let slot = self.numbered_slot(key)?;
        if slot.is_some() {
            return Err(FwCfgError::KeyInUse(key));
        }
        *slot = Some(Item::read_only(data));
        Ok(())
    }

    /// A string item: its bytes and a terminating NUL (`fw_cfg_add_string`).
    pub fn add_string(&mut self, key: u16, value: &str) -> Result<(), FwCfgError> {
        self.add_bytes(key, nul_terminated(value))
    }

    /// A 16-bit little-endian item (`fw_cfg_add_i16`).
    pub fn add_i16(&mut self, key: u16, value: u16) -> Result<(), FwCfgError> {
        self.add_bytes(key, value.to_le_bytes().to_vec())
    }

    /// A 32-bit little-endian item (`fw_cfg_add_i32`).
    pub fn add_i32(&mut self, key: u16, value: u32) -> Result<(), FwCfgError> {
        self.add_bytes(key, value.to_le_bytes().to_vec())
    }

    /// A 64-bit little-endian item (`fw_cfg_add_i64`).
    pub fn add_i64(&mut self, key: u16, value: u64) -> Result<(), FwCfgError> {
        self.add_bytes(key, value.to_le_bytes().to_vec())
    }

    /// Replace numbered item `key`, whether set before or not; the new item
    /// is read-only and has no callbacks (`fw_cfg_modify_bytes_read`).
    pub fn modify_bytes(&mut self, key: u16, data: Vec<u8>) -> Result<(), FwCfgError> {
        check_len(data.len())?;
        *self.numbered_slot(key)? = Some(Item::read_only(data));
        Ok(())
    }

    /// `fw_cfg_modify_i16`: e.g. the CPU count once `-device` CPUs exist.
    pub fn modify_i16(&mut self, key: u16, value: u16) -> Result<(), FwCfgError> {
        self.modify_bytes(key, value.to_le_bytes().to_vec())
    }

    /// `fw_cfg_modify_i32`.
    pub fn modify_i32(&mut self, key: u16, value: u32) -> Result<(), FwCfgError> {
        self.modify_bytes(key, value.to_le_bytes().to_vec())
    }

    /// `fw_cfg_modify_i64`.
    pub fn modify_i64(&mut self, key: u16, value: u64) -> Result<(), FwCfgError> {
        self.modify_bytes(key, value.to_le_bytes().to_vec())
    }

    /// `fw_cfg_modify_string`.
    pub fn modify_string(&mut self, key: u16, value: &str) -> Result<(), FwCfgError> {
        self.modify_bytes(key, nul_terminated(value))
    }

    /// Add a read-only file to the directory (`fw_cfg_add_file`); returns
    /// its key at the time it was added (later files sorting before it move
    /// it up).
    pub fn add_file(&mut self, name: &str, data: Vec<u8>) -> Result<u16, FwCfgError> {
        self.add_file_with_access(name, data, FileAccess::default())
    }

    /// Add a file that may be writable or have callbacks
    /// (`fw_cfg_add_file_callback`).
    ///
    /// Names longer than 55 bytes are cut to 55, as QEMU stores them. Files
    /// are kept sorted by name (byte order, as `strcmp`), as QEMU does for
    /// machine types that are not in legacy order (every 7.2 type but
    /// `pc-i440fx-2.x` and older).
    pub fn add_file_with_access(
        &mut self,
        name: &str,
        data: Vec<u8>,
        access: FileAccess,
    ) -> Result<u16, FwCfgError> {
        check_len(data.len())?;
        let stored = directory_name(name);
        if self.files.iter().any(|(n, _)| *n == stored) {
            return Err(FwCfgError::DuplicateFile(lossy(&stored)));
        }
        if self.files.len() >= FILE_SLOTS as usize {
            return Err(FwCfgError::DirectoryFull);
        }
        // QEMU walks back from the end while the new (uncut) name sorts
        // before the stored one.
        let index = self
            .files
            .iter()
            .rposition(|(n, _)| n.as_slice() <= name.as_bytes())
            .map_or(0, |i| i + 1);
        let item = Item {
            data,
            writable: access.writable,
            on_select: access.on_select,
            on_write: access.on_write,
        };
        self.files.insert(index, (stored, item));
        self.rebuild_directory();
        Ok(keys::FILE_FIRST + index as u16)
    }

    /// Replace the contents of file `name`, or add it if absent
    /// (`fw_cfg_modify_file`); the file becomes read-only without callbacks.
    pub fn modify_file(&mut self, name: &str, data: Vec<u8>) -> Result<(), FwCfgError> {
        check_len(data.len())?;
        let stored = directory_name(name);
        match self.files.iter_mut().find(|(n, _)| *n == stored) {
            Some((_, item)) => {
                *item = Item::read_only(data);
                self.rebuild_directory();
                Ok(())
            }
            None => self.add_file(name, data).map(|_| ()),
        }
    }

    /// The bytes of file `name`, as the guest would read them.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        let stored = directory_name(name);
        self.files
            .iter()
            .find(|(n, _)| *n == stored)
            .map(|(_, item)| item.data.as_slice())
    }

    /// The bytes of numbered item `key`, if set.
    pub fn item(&self, key: u16) -> Option<&[u8]> {
        let bank = usize::from(key & keys::ARCH_LOCAL != 0);
        let index = usize::from(key & keys::ENTRY_MASK);
        self.numbered[bank]
            .get(index)?
            .as_ref()
            .map(|item| item.data.as_slice())
    }

    /// File names in directory order (file `i` has key `FILE_FIRST + i`).
    pub fn file_names(&self) -> Vec<String> {
        self.files.iter().map(|(n, _)| lossy(n)).collect()
    }

    fn numbered_slot(&mut self, key: u16) -> Result<&mut Option<Item>, FwCfgError> {
        let bank = usize::from(key & keys::ARCH_LOCAL != 0);
        let index = key & keys::ENTRY_MASK;
        if index >= keys::FILE_FIRST || (bank == 0 && index == keys::FILE_DIR) {
            return Err(FwCfgError::InvalidKey(key));
        }
        Ok(&mut self.numbered[bank][usize::from(index)])
    }

    /// The directory item: a big-endian count, then one entry per slot
    /// (unused slots zero), so its size is fixed by the slot count.
    fn rebuild_directory(&mut self) {
        let mut dir = vec![0u8; 4 + DIR_ENTRY_SIZE * FILE_SLOTS as usize];
        dir[..4].copy_from_slice(&(self.files.len() as u32).to_be_bytes());
        for (i, (name, item)) in self.files.iter().enumerate() {
            let entry = &mut dir[4 + i * DIR_ENTRY_SIZE..][..DIR_ENTRY_SIZE];
            entry[0..4].copy_from_slice(&(item.data.len() as u32).to_be_bytes());
            entry[4..6].copy_from_slice(&(keys::FILE_FIRST + i as u16).to_be_bytes());
            entry[8..8 + name.len()].copy_from_slice(name);
        }
        if let Some(item) = &mut self.numbered[0][usize::from(keys::FILE_DIR)] {
            item.data = dir;
        }
    }

    // ---- the guest's side -----------------------------------------------

    /// Select `key` (a 16-bit write to the selector): the offset goes back
    /// to 0, a key beyond the last file slot selects nothing, and a select
    /// callback runs. Returns whether a valid key was selected.
    pub fn select(&mut self, key: u16) -> bool {
        self.current_offset = 0;
        let index = key & keys::ENTRY_MASK;
        if index >= keys::FILE_FIRST + FILE_SLOTS {
            self.current_key = keys::INVALID;
            return false;
        }
        self.current_key = key;
        if let Some(item) = self.current_item_mut() {
            if let Some(callback) = &mut item.on_select {
                callback(&mut item.data);
            }
        }
        true
    }

    /// The next byte of the selected item (a read of the data register);
    /// 0 past its end or when nothing is selected.
    pub fn read_data_byte(&mut self) -> u8 {
        let offset = self.current_offset as usize;
        let byte = self
            .current_item()
            .and_then(|item| item.data.get(offset).copied());
        match byte {
            Some(byte) => {
                self.current_offset += 1;
                byte
            }
            None => 0,
        }
    }

    /// Return to the power-on selection (the signature).
    pub fn reset(&mut self) {
        self.select(keys::SIGNATURE);
    }

    /// The selected key, INVALID when none.
    pub fn current_key(&self) -> u16 {
        self.current_key
    }

    pub(crate) fn current_offset(&self) -> u32 {
        self.current_offset
    }

    pub(crate) fn advance(&mut self, len: u32) {
        self.current_offset = self.current_offset.saturating_add(len);
    }

    pub(crate) fn current_item(&self) -> Option<&Item> {
        let key = self.current_key;
        if key == keys::INVALID {
            return None;
        }
        let index = usize::from(key & keys::ENTRY_MASK);
        if key & keys::ARCH_LOCAL != 0 {
            // The arch bank has no files: its keys from FILE_FIRST up are
            // valid selections with no data.
            return self.numbered[1].get(index)?.as_ref();
        }
        match index.checked_sub(usize::from(keys::FILE_FIRST)) {
            Some(file) => self.files.get(file).map(|(_, item)| item),
            None => self.numbered[0][index].as_ref(),
        }
    }

    pub(crate) fn current_item_mut(&mut self) -> Option<&mut Item> {
        let key = self.current_key;
        if key == keys::INVALID {
            return None;
        }
        let index = usize::from(key & keys::ENTRY_MASK);
        if key & keys::ARCH_LOCAL != 0 {
            return self.numbered[1].get_mut(index)?.as_mut();
        }
        match index.checked_sub(usize::from(keys::FILE_FIRST)) {
            Some(file) => self.files.get_mut(file).map(|(_, item)| item),
            None => self.numbered[0][index].as_mut(),
        }
    }

    /// The guest wrote `len` bytes at `offset` of the selected item: run
    /// its write callback.
    pub(crate) fn written(&mut self, offset: u32, len: u32) {
        if let Some(item) = self.current_item_mut() {
            if let Some(callback) = &mut item.on_write {
                callback(&item.data, offset, len);
            }
        }
    }
}

/// The `bootorder` file: one path a line, NUL-terminated, and nothing at
/// all when no device has a boot index (QEMU's `get_boot_devices_list`).
pub fn boot_order_file(boot_paths: &[String], strict: bool) -> Vec<u8> {
    if boot_paths.is_empty() {
        return Vec::new();
    }
    let mut lines: Vec<&str> = boot_paths.iter().map(String::as_str).collect();
    if strict {
        lines.push("HALT");
    }
    nul_terminated(&lines.join("\n"))
}

/// QEMU asserts that an item is shorter than `UINT32_MAX` bytes.
fn check_len(len: usize) -> Result<(), FwCfgError> {
    if len >= u32::MAX as usize {
        return Err(FwCfgError::TooLarge(len));
    }
    Ok(())
}

fn nul_terminated(value: &str) -> Vec<u8> {
    let mut bytes = value.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

/// A name as the directory stores it: cut to 55 bytes (QEMU's `pstrcpy`
/// into 56), and at a NUL, since the directory holds C strings.
fn directory_name(name: &str) -> Vec<u8> {
    let bytes = name.as_bytes();
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(bytes.len())
        .min(MAX_FILE_PATH - 1);
    bytes[..end].to_vec()
}

fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn read_selected(fw_cfg: &mut FwCfg, len: usize) -> Vec<u8> {
        (0..len).map(|_| fw_cfg.read_data_byte()).collect()
    }

    #[test]
    fn files_stay_sorted_and_their_keys_move() {
        let mut fw_cfg = FwCfg::new(true);
        assert_eq!(fw_cfg.add_file("opt/b", vec![2]).unwrap(), 0x20);
        assert_eq!(fw_cfg.add_file("opt/c", vec![3]).unwrap(), 0x21);
        // Sorts before both: takes 0x20, the others move up.
        assert_eq!(fw_cfg.add_file("opt/a", vec![1]).unwrap(), 0x20);
        assert_eq!(fw_cfg.file_names(), ["opt/a", "opt/b", "opt/c"]);
        fw_cfg.select(0x22);
        assert_eq!(read_selected(&mut fw_cfg, 2), [3, 0]);
        fw_cfg.select(keys::FILE_DIR);
        let dir = read_selected(&mut fw_cfg, 4 + 64 * 2);
        assert_eq!(&dir[..4], &3u32.to_be_bytes());
        assert_eq!(&dir[4..8], &1u32.to_be_bytes());
        assert_eq!(&dir[8..10], &0x20u16.to_be_bytes());
        assert_eq!(&dir[12..17], b"opt/a");
        assert_eq!(&dir[72..74], &0x21u16.to_be_bytes());
    }

    #[test]
    fn duplicate_and_overlong_names() {
        let mut fw_cfg = FwCfg::new(true);
        fw_cfg.add_file("opt/x", vec![]).unwrap();
        assert_eq!(
            fw_cfg.add_file("opt/x", vec![1]).unwrap_err().to_string(),
            "duplicate fw_cfg file name: opt/x"
        );
        // Names are cut to 55 bytes, so two that differ later clash.
        let long = "n".repeat(60);
        fw_cfg.add_file(&long, vec![]).unwrap();
        assert!(fw_cfg.file_names().contains(&"n".repeat(55)));
        let err = fw_cfg.add_file(&format!("{long}x"), vec![]).unwrap_err();
        assert_eq!(err, FwCfgError::DuplicateFile("n".repeat(55)));
        // A name cut inside a multi-byte character does not break the
        // directory.
        fw_cfg
            .add_file(&format!("{}é", "m".repeat(54)), vec![7])
            .unwrap();
        assert_eq!(fw_cfg.file(&"m".repeat(54)), None);
    }

    #[test]
    fn the_directory_has_a_fixed_number_of_slots() {
        let mut fw_cfg = FwCfg::new(true);
        for i in 0..FILE_SLOTS {
            fw_cfg.add_file(&format!("opt/{i:02}"), vec![]).unwrap();
        }
        assert_eq!(
            fw_cfg.add_file("opt/more", vec![]),
            Err(FwCfgError::DirectoryFull)
        );
        assert_eq!(
            fw_cfg.item(keys::FILE_DIR).unwrap().len(),
            4 + 64 * FILE_SLOTS as usize
        );
        // The last file's key is the last one selectable.
        assert!(fw_cfg.select(keys::FILE_FIRST + FILE_SLOTS - 1));
        assert!(!fw_cfg.select(keys::FILE_FIRST + FILE_SLOTS));
    }

    #[test]
    fn numbered_items_are_set_once_and_modified_in_place() {
        let mut fw_cfg = FwCfg::new(false);
        assert_eq!(fw_cfg.item(keys::ID).unwrap(), &1u32.to_le_bytes());
        fw_cfg.add_i16(keys::NB_CPUS, 1).unwrap();
        assert_eq!(
            fw_cfg.add_i16(keys::NB_CPUS, 2),
            Err(FwCfgError::KeyInUse(keys::NB_CPUS))
        );
        fw_cfg.modify_i16(keys::NB_CPUS, 4).unwrap();
        assert_eq!(fw_cfg.item(keys::NB_CPUS).unwrap(), &[4, 0]);
        fw_cfg.add_string(keys::KERNEL_CMDLINE, "quiet").unwrap();
        assert_eq!(fw_cfg.item(keys::KERNEL_CMDLINE).unwrap(), b"quiet\0");
        assert_eq!(
            fw_cfg.add_i32(keys::FILE_FIRST, 0),
            Err(FwCfgError::InvalidKey(keys::FILE_FIRST))
        );
        assert_eq!(
            fw_cfg.add_i32(keys::FILE_DIR, 0),
            Err(FwCfgError::InvalidKey(keys::FILE_DIR))
        );
        fw_cfg.add_i64(keys::HPET, 5).unwrap();
        assert_eq!(fw_cfg.item(keys::HPET).unwrap(), &5u64.to_le_bytes());
    }

    #[test]
    fn modify_file_replaces_or_adds_and_updates_the_size() {
        let mut fw_cfg = FwCfg::new(true);
        fw_cfg.add_file("bootorder", vec![]).unwrap();
        fw_cfg.modify_file("bootorder", b"/a\0".to_vec()).unwrap();
        fw_cfg.modify_file("bios-geometry", vec![]).unwrap();
        assert_eq!(fw_cfg.file_names(), ["bios-geometry", "bootorder"]);
        let dir = fw_cfg.item(keys::FILE_DIR).unwrap();
        assert_eq!(&dir[68..72], &3u32.to_be_bytes());
    }

    #[test]
    fn select_callback_runs_on_selection() {
        let mut fw_cfg = FwCfg::new(true);
        let selections = Arc::new(Mutex::new(0));
        let counter = selections.clone();
        let access = FileAccess {
            on_select: Some(Box::new(move |data: &mut [u8]| {
                *counter.lock().unwrap() += 1;
                data[0] = 1;
            })),
            ..FileAccess::default()
        };
        let key = fw_cfg
            .add_file_with_access("etc/ok", vec![0], access)
            .unwrap();
        fw_cfg.select(key);
        assert_eq!(fw_cfg.read_data_byte(), 1);
        assert_eq!(*selections.lock().unwrap(), 1);
    }

    #[test]
    fn bootorder_form() {
        assert_eq!(boot_order_file(&[], true), b"");
        let paths = ["/a@1".to_string(), "/b@2".to_string()];
        assert_eq!(boot_order_file(&paths, false), b"/a@1\n/b@2\0");
        assert_eq!(boot_order_file(&paths, true), b"/a@1\n/b@2\nHALT\0");
    }
}

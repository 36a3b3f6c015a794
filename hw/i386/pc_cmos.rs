//! The PC's CMOS configuration bytes, as QEMU 7.2's `pc_cmos_init`, the
//! floppy part of `pc_cmos_init_late` and the CPU count set when the machine
//! is done: what SeaBIOS reads to size memory, count CPUs and choose the boot
//! order.
//!
//! QEMU writes no CMOS checksum (bytes 0x2e/0x2f stay 0) and neither do we.
//! The hard-disk bytes (0x12, 0x19..0x2c, 0x39) belong to whoever attaches
//! IDE disks; with none they stay 0, as in QEMU.

use crate::rtc::mc146818::Mc146818Rtc;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

const REG_BASE_MEMORY: u8 = 0x15;
const REG_EXTENDED_MEMORY: u8 = 0x17;
const REG_EXTENDED_MEMORY_COPY: u8 = 0x30;
const REG_MEMORY_ABOVE_16M: u8 = 0x34;
const REG_MEMORY_ABOVE_4G: u8 = 0x5b;
const REG_CPU_COUNT: u8 = 0x5f;
const REG_FLOPPY_TYPES: u8 = 0x10;
const REG_EQUIPMENT: u8 = 0x14;
const REG_BOOT_DEVICES_1_2: u8 = 0x3d;
const REG_BOOT_DEVICE_3: u8 = 0x38;

const EQUIPMENT_FPU: u8 = 0x02;
const EQUIPMENT_PS2_MOUSE: u8 = 0x04;

/// The most boot devices the CMOS can name.
const PC_MAX_BOOT_DEVICES: usize = 3;

/// A floppy drive type as the CMOS encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FloppyDriveType {
    #[default]
    None,
    /// 3.5" 1.44 MB
    Type144,
    /// 3.5" 2.88 MB (QEMU's fallback for a drive without media)
    Type288,
    /// 5.25" 1.2 MB
    Type120,
}

impl FloppyDriveType {
    fn cmos_code(self) -> u8 {
        match self {
            FloppyDriveType::None => 0,
            FloppyDriveType::Type120 => 2,
            FloppyDriveType::Type144 => 4,
            FloppyDriveType::Type288 => 5,
        }
    }
}

/// What the CMOS describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcCmosConfig {
    /// RAM below 4 GiB, in bytes.
    pub below_4g_mem_size: u64,
    /// RAM above 4 GiB, in bytes.
    pub above_4g_mem_size: u64,
    /// CPUs present at boot (`-smp`).
    pub boot_cpus: u32,
    /// `-boot order=`, QEMU's default being "cad".
    pub boot_order: String,
    /// Whether the BIOS checks the floppy boot signature (`-no-fd-bootchk`
    /// turns it off).
    pub fd_bootchk: bool,
    /// Drives 0 and 1 of the floppy controller at 0x3f0, if any.
    pub floppy_drives: [FloppyDriveType; 2],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcCmosError {
    #[error("Too many boot devices for PC")]
    TooManyBootDevices,
    #[error("Invalid boot device for PC: '{0}'")]
    InvalidBootDevice(char),
}

fn set_u16(rtc: &mut Mc146818Rtc, index: u8, value: u64) {
    rtc.set_cmos_byte(index, value as u8);
    rtc.set_cmos_byte(index + 1, (value >> 8) as u8);
}

/// Fill the configuration bytes of `rtc`'s CMOS for `config`.
pub fn pc_cmos_init(rtc: &mut Mc146818Rtc, config: &PcCmosConfig) -> Result<(), PcCmosError> {
    let below_4g = config.below_4g_mem_size;

    // Base memory: the first 640 KiB at most.
    set_u16(rtc, REG_BASE_MEMORY, (below_4g / KIB).min(640));
    // Extended memory above 1 MiB in KiB, capped at 64 MiB's worth.
    let extended = (below_4g.saturating_sub(MIB) / KIB).min(65535);
    set_u16(rtc, REG_EXTENDED_MEMORY, extended);
    set_u16(rtc, REG_EXTENDED_MEMORY_COPY, extended);
    // Memory from 16 MiB to 4 GiB in 64 KiB units.
    let above_16m = (below_4g.saturating_sub(16 * MIB) / (64 * KIB)).min(65535);
    set_u16(rtc, REG_MEMORY_ABOVE_16M, above_16m);
    // Memory above 4 GiB in 64 KiB units, three bytes.
    let above_4g = config.above_4g_mem_size / (64 * KIB);
    rtc.set_cmos_byte(REG_MEMORY_ABOVE_4G, above_4g as u8);
    rtc.set_cmos_byte(REG_MEMORY_ABOVE_4G + 1, (above_4g >> 8) as u8);
    rtc.set_cmos_byte(REG_MEMORY_ABOVE_4G + 2, (above_4g >> 16) as u8);

    set_boot_devices(rtc, &config.boot_order, config.fd_bootchk)?;

    // CPUs minus one; more than fit in a byte leaves 0 so that old BIOSes
    // fail predictably (new ones read the count from fw_cfg).
    let cpu_count = match u8::try_from(config.boot_cpus) {
        Ok(n) if n > 0 => n - 1,
        _ => 0,
    };
    rtc.set_cmos_byte(REG_CPU_COUNT, cpu_count);

    let [fd0, fd1] = config.floppy_drives;
    rtc.set_cmos_byte(REG_FLOPPY_TYPES, (fd0.cmos_code() << 4) | fd1.cmos_code());
    let drives = config
        .floppy_drives
        .iter()
        .filter(|d| **d != FloppyDriveType::None)
        .count();
    let floppy_equipment = match drives {
        0 => 0x00,
        1 => 0x01, // one drive, ready for boot
        _ => 0x41, // two drives, ready for boot
    };
    rtc.set_cmos_byte(
        REG_EQUIPMENT,
        EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE | floppy_equipment,
    );
    Ok(())
}

/// Write the boot device bytes for a boot order such as "cad" (also what a
/// change of boot order at run time does).
pub fn set_boot_devices(
    rtc: &mut Mc146818Rtc,
    boot_order: &str,
    fd_bootchk: bool,
) -> Result<(), PcCmosError> {
    let mut devices = [0u8; PC_MAX_BOOT_DEVICES];
    if boot_order.chars().count() > PC_MAX_BOOT_DEVICES {
        return Err(PcCmosError::TooManyBootDevices);
    }
    for (slot, device) in devices.iter_mut().zip(boot_order.chars()) {
        *slot = match device {
            'a' | 'b' => 0x01, // floppy
            'c' => 0x02,       // hard disk
            'd' => 0x03,       // CD-ROM
            'n' => 0x04,       // network
            other => return Err(PcCmosError::InvalidBootDevice(other)),
        };
    }
    rtc.set_cmos_byte(REG_BOOT_DEVICES_1_2, (devices[1] << 4) | devices[0]);
    rtc.set_cmos_byte(REG_BOOT_DEVICE_3, (devices[2] << 4) | u8::from(!fd_bootchk));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bus::BusDevice;
    use crate::core::testing::{ManualClock, RecordingLine};
    use std::sync::Arc;
    use std::time::Duration;

    const GIB: u64 = 1024 * MIB;

    fn cmos_for(config: &PcCmosConfig) -> [u8; 128] {
        let mut rtc = Mc146818Rtc::new(
            Arc::new(RecordingLine::default()),
            Arc::new(ManualClock::at(Duration::from_secs(1_795_614_330))),
        );
        pc_cmos_init(&mut rtc, config).unwrap();
        // Read as the guest (and QEMU's qtest) does, through ports 0x70/0x71.
        std::array::from_fn(|i| {
            let mut byte = [0u8];
            rtc.write(0, &[i as u8]);
            rtc.read(1, &mut byte);
            byte[0]
        })
    }

    fn config(below_4g: u64, above_4g: u64) -> PcCmosConfig {
        PcCmosConfig {
            below_4g_mem_size: below_4g,
            above_4g_mem_size: above_4g,
            boot_cpus: 1,
            boot_order: "cad".into(),
            fd_bootchk: true,
            floppy_drives: [FloppyDriveType::None; 2],
        }
    }

    /// The CMOS bytes 0x10..0x7f that QEMU 7.2 shows (read through its qtest
    /// port I/O after `-S`), for the given command line. The clock bytes
    /// 0x00..0x0d differ by date and are checked by the RTC's own tests.
    fn assert_config_bytes(cmos: &[u8; 128], qemu_rows: [&str; 7]) {
        let expected: Vec<u8> = qemu_rows
            .iter()
            .flat_map(|row| row.split_whitespace())
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        for (i, &want) in expected.iter().enumerate() {
            let index = 0x10 + i;
            assert_eq!(cmos[index], want, "CMOS byte {index:#04x}");
        }
    }

    #[test]
    fn pc_128m_nodefaults() {
        // qemu-system-x86_64 -M pc -m 128 -nodefaults
        let cmos = cmos_for(&config(128 * MIB, 0));
        assert_config_bytes(
            &cmos,
            [
                "00 00 00 00 06 80 02 ff ff 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "ff ff 20 00 00 07 00 20 30 00 00 00 00 12 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            ],
        );
    }

    #[test]
    fn pc_128m_with_default_floppy_drive() {
        // qemu-system-x86_64 -M pc -m 128: the default empty floppy drive
        // is a 2.88 MB one, and the equipment byte counts it.
        let mut c = config(128 * MIB, 0);
        c.floppy_drives = [FloppyDriveType::Type288, FloppyDriveType::None];
        let cmos = cmos_for(&c);
        assert_eq!(cmos[0x10], 0x50);
        assert_eq!(cmos[0x14], 0x07);
    }

    #[test]
    fn pc_3g_four_cpus() {
        // qemu-system-x86_64 -M pc -m 3G -nodefaults -smp 4
        let mut c = config(3 * GIB, 0);
        c.boot_cpus = 4;
        let cmos = cmos_for(&c);
        assert_config_bytes(
            &cmos,
            [
                "00 00 00 00 06 80 02 ff ff 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "ff ff 20 00 00 bf 00 20 30 00 00 00 00 12 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            ],
        );
    }

    #[test]
    fn pc_5g_network_boot_first() {
        // qemu-system-x86_64 -M pc -m 5G -nodefaults -boot order=ndc:
        // 3 GiB below 4G, 2 GiB above.
        let mut c = config(3 * GIB, 2 * GIB);
        c.boot_order = "ndc".into();
        let cmos = cmos_for(&c);
        assert_config_bytes(
            &cmos,
            [
                "00 00 00 00 06 80 02 ff ff 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "ff ff 20 00 00 bf 00 20 20 00 00 00 00 34 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 80 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            ],
        );
    }

    #[test]
    fn q35_5g_two_cpus() {
        // qemu-system-x86_64 -M q35 -m 5G -nodefaults -smp 2: 2 GiB below
        // 4G, 3 GiB above.
        let mut c = config(2 * GIB, 3 * GIB);
        c.boot_cpus = 2;
        let cmos = cmos_for(&c);
        assert_eq!(&cmos[0x34..0x36], &[0x00, 0x7f]);
        assert_eq!(&cmos[0x5b..0x60], &[0x00, 0xc0, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn small_memory_sizes() {
        // -m 1M: 640 KiB base, nothing extended.
        let cmos = cmos_for(&config(MIB, 0));
        assert_eq!(&cmos[0x15..0x19], &[0x80, 0x02, 0x00, 0x00]);
        assert_eq!(&cmos[0x30..0x32], &[0x00, 0x00]);
        assert_eq!(&cmos[0x34..0x36], &[0x00, 0x00]);
        // -m 8M: 7168 KiB extended.
        let cmos = cmos_for(&config(8 * MIB, 0));
        assert_eq!(&cmos[0x17..0x19], &[0x00, 0x1c]);
        assert_eq!(&cmos[0x30..0x32], &[0x00, 0x1c]);
    }

    #[test]
    fn boot_order_bytes_and_fd_bootchk() {
        // -no-fd-bootchk -boot order=a: 0x3d = 0x01, 0x38 = 0x01.
        let mut c = config(128 * MIB, 0);
        c.boot_order = "a".into();
        c.fd_bootchk = false;
        let cmos = cmos_for(&c);
        assert_eq!((cmos[0x3d], cmos[0x38]), (0x01, 0x01));
        // -boot order=dn: 0x3d = 0x43, 0x38 = 0x00.
        c.boot_order = "dn".into();
        c.fd_bootchk = true;
        let cmos = cmos_for(&c);
        assert_eq!((cmos[0x3d], cmos[0x38]), (0x43, 0x00));
    }

    #[test]
    fn bad_boot_orders_get_qemus_errors() {
        let mut rtc = Mc146818Rtc::new(
            Arc::new(RecordingLine::default()),
            Arc::new(ManualClock::at(Duration::ZERO)),
        );
        assert_eq!(
            set_boot_devices(&mut rtc, "cdna", true)
                .unwrap_err()
                .to_string(),
            "Too many boot devices for PC"
        );
        assert_eq!(
            set_boot_devices(&mut rtc, "cz", true)
                .unwrap_err()
                .to_string(),
            "Invalid boot device for PC: 'z'"
        );
    }

    #[test]
    fn cpu_count_beyond_a_byte_reads_zero() {
        let mut c = config(128 * MIB, 0);
        c.boot_cpus = 288;
        assert_eq!(cmos_for(&c)[0x5f], 0);
        c.boot_cpus = 255;
        assert_eq!(cmos_for(&c)[0x5f], 254);
    }
}

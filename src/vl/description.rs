//! The machine description: everything the command line asked for, as one
//! plain data value. `vl` builds it from argv; the machine is built from it
//! and nothing else. `{:#?}` prints it for debugging.

use std::path::PathBuf;

/// A dictionary of option values, as QEMU's QDict: keyval and QemuOpts
/// bodies give strings (nested for dotted keys), the JSON form gives typed
/// values. Consumers convert with the accessors of `vl::qdict`.
pub type Dict = serde_json::Map<String, serde_json::Value>;

/// QEMU's RAM size when `-m` does not say: 128 MiB.
pub const DEFAULT_RAM_SIZE: u64 = 128 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct MachineDescription {
    pub machine: MachineOptions,
    /// The accelerator to use, with its properties (`-accel`,
    /// `-machine accel=`, `-enable-kvm`). QEMU takes the first one that
    /// exists; unknown ones before it were reported as warnings. Empty
    /// means none was asked for (the default).
    pub accelerators: Vec<AccelOptions>,
    pub cpu: CpuOptions,
    pub memory: MemoryOptions,
    pub smp: SmpTopology,
    pub boot: BootOptions,
    /// Every chardev: `-chardev`, and those made for `-serial`,
    /// `-parallel`, `-debugcon`, `-monitor`, `-qmp` and the defaults.
    pub chardevs: Vec<ChardevOptions>,
    /// `-serial` ports in order as the chardev ids they use. QEMU gives
    /// `-serial none` no port, so entries are always `Some`.
    pub serials: Vec<Option<String>>,
    /// `-debugcon`: the chardev id (QEMU allows one).
    pub debugcons: Vec<String>,
    /// `-parallel` ports in order as the chardev ids they use.
    pub parallels: Vec<String>,
    /// `-mon`, `-qmp`, `-monitor`, `mon:` chardevs and the default
    /// monitor: which chardev (always one of `chardevs`), which mode.
    pub monitors: Vec<MonitorOptions>,
    /// `-device`, every one as given (checked against the device types
    /// implemented with `vl::validate_device` when the machine is built).
    pub devices: Vec<DeviceOptions>,
    pub objects: Vec<ObjectOptions>,
    /// `-blockdev` (keyval or JSON).
    pub blockdevs: Vec<LocatedDict>,
    /// `-drive`, and `-hda`..`-hdd`, `-cdrom` and disk images given as
    /// plain arguments, converted to `-drive` form as QEMU does.
    pub drives: Vec<LocatedDict>,
    /// `-netdev` (`type` and `id` included). In the `key=value` form the
    /// repeatable members of `user` (`hostfwd`, `guestfwd`, `dnssearch`)
    /// are lists of strings.
    pub netdevs: Vec<LocatedDict>,
    /// `-nic`, and the default `user` NIC QEMU adds (with an empty
    /// location) when no network option and no `-nodefaults` is given.
    pub nics: Vec<LocatedDict>,
    /// `-audiodev` (`driver` and `id` included).
    pub audiodevs: Vec<LocatedDict>,
    /// `-global driver.prop=value`.
    pub globals: Vec<GlobalProperty>,
    pub display: DisplayOptions,
    pub lifecycle: LifecycleOptions,
    pub name: Option<NameOptions>,
    pub uuid: Option<String>,
    /// `-nodefaults`: no default serial, monitor, parallel port, NIC, VGA.
    pub nodefaults: bool,
    /// Options parsed and accepted whose effect is not modelled by this
    /// description (e.g. `-sandbox`, `-msg`, `-overcommit`), kept so that
    /// nothing on the command line is lost.
    pub other: Vec<(String, Dict)>,
    /// Warnings QEMU prints while parsing and goes on (short-form
    /// booleans, deprecated syntax), complete lines for stderr.
    pub warnings: Vec<String>,
    /// `-no-user-config`.
    pub no_user_config: bool,
    /// `-L`: directories to search for firmware, in order.
    pub firmware_dirs: Vec<PathBuf>,
    /// `-rtc` properties (`base=`, `clock=`, `driftfix=`).
    pub rtc: Dict,
    /// `-add-fd`: inherited file descriptors put into fd sets.
    pub add_fds: Vec<AddFdOptions>,
    /// `-qtest CHARDEV` and `-qtest-log FILE`: the test protocol server.
    pub qtest: Option<QtestOptions>,
}

/// The qtest protocol server (`-qtest`, `-qtest-log`).
#[derive(Debug, Clone, PartialEq)]
pub struct QtestOptions {
    /// The chardev it speaks on (`qtest`, made from the legacy string).
    pub chardev: String,
    /// `-qtest-log`: where the conversation is logged; `None` is stderr,
    /// QEMU's default, and `none` logs nothing.
    pub log: Option<PathBuf>,
}

/// What QEMU does when the command line says nothing: the default
/// machine type's settings, one CPU, 128 MiB.
impl Default for MachineDescription {
    fn default() -> Self {
        MachineDescription {
            machine: MachineOptions::default(),
            accelerators: Vec::new(),
            cpu: CpuOptions {
                model: "qemu64".to_owned(),
                features: Vec::new(),
            },
            memory: MemoryOptions {
                size: DEFAULT_RAM_SIZE,
                slots: 0,
                max_size: None,
            },
            smp: SmpTopology {
                cpus: 1,
                max_cpus: 1,
                sockets: 1,
                dies: 1,
                clusters: 1,
                cores: 1,
                threads: 1,
            },
            boot: BootOptions::default(),
            chardevs: Vec::new(),
            serials: Vec::new(),
            debugcons: Vec::new(),
            parallels: Vec::new(),
            monitors: Vec::new(),
            devices: Vec::new(),
            objects: Vec::new(),
            blockdevs: Vec::new(),
            drives: Vec::new(),
            netdevs: Vec::new(),
            nics: Vec::new(),
            audiodevs: Vec::new(),
            globals: Vec::new(),
            display: DisplayOptions::default(),
            lifecycle: LifecycleOptions::default(),
            name: None,
            uuid: None,
            nodefaults: false,
            other: Vec::new(),
            warnings: Vec::new(),
            no_user_config: false,
            firmware_dirs: Vec::new(),
            rtc: Dict::new(),
            add_fds: Vec::new(),
            qtest: None,
        }
    }
}

/// `-add-fd fd=N,set=N[,opaque=TEXT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddFdOptions {
    pub fd: i32,
    pub set: i64,
    pub opaque: Option<String>,
}

/// Options of a backend given as a dictionary, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedDict {
    /// The option and argument as written, e.g. `-netdev user,id=n0`,
    /// for messages about this entry found after parsing.
    pub location: String,
    /// The argument was JSON: values are typed (numbers, booleans, null)
    /// instead of strings.
    pub json: bool,
    pub properties: Dict,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MachineOptions {
    /// Canonical machine type name (`pc-i440fx-7.2`, `pc-q35-7.2`, `none`).
    pub type_name: String,
    /// The other properties (`usb=off`, `memory-backend=pc.ram`, ...),
    /// checked against the type's; `type` and `accel` are taken out, and
    /// `kernel-irqchip`/`kvm-shadow-mem` moved to the kvm accelerator.
    pub properties: Dict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccelOptions {
    /// An implemented accelerator (`kvm`).
    pub name: String,
    /// Checked against the accelerator's properties.
    pub properties: Dict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CpuOptions {
    /// `qemu64`, `host`, `max`, ... (checked by the CPU code).
    pub model: String,
    /// `+feat`/`-feat`/`feat=on|off`, in command-line order.
    pub features: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryOptions {
    /// Initial RAM size in bytes.
    pub size: u64,
    /// Hotplug slots (`slots=`), 0 without.
    pub slots: u64,
    /// `maxmem=`, at least `size` (more than it when there are slots).
    pub max_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmpTopology {
    pub cpus: u32,
    pub max_cpus: u32,
    pub sockets: u32,
    pub dies: u32,
    pub clusters: u32,
    pub cores: u32,
    pub threads: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BootOptions {
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    pub firmware: Option<PathBuf>,
    /// `-boot` properties (`order=`, `menu=`, `strict=`, ...), checked.
    pub boot_order: Dict,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChardevOptions {
    pub id: String,
    /// `stdio`, `file`, `null`, `socket`, `pty`, `pipe`, `ringbuf`; `vc`
    /// for the text consoles of the default ports when a display is used.
    pub backend: String,
    /// Backend options as strings (`path`, `server`, `wait`, `fd`, `mux`,
    /// ...), checked to be parameters QEMU knows, booleans readable.
    pub properties: Dict,
    /// The option as written (`-chardev pty,id=c0`, `-serial stdio`), or
    /// empty for chardevs QEMU creates by default.
    pub location: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    Readline,
    Control,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonitorOptions {
    /// `-mon id=`.
    pub id: Option<String>,
    pub chardev: String,
    pub mode: MonitorMode,
    /// `-qmp-pretty`, `-mon pretty=on`: indented JSON.
    pub pretty: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceOptions {
    pub driver: String,
    pub id: Option<String>,
    /// Every other property, as given.
    pub properties: Dict,
    /// The option as written, e.g. `-device nosuchdev`.
    pub location: String,
    /// Given as JSON: values are typed rather than strings.
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectOptions {
    pub qom_type: String,
    pub id: String,
    /// Checked against the type's members.
    pub properties: Dict,
    /// The option as written, e.g. `-object secret,id=s0,data=x`.
    pub location: String,
    /// Given as JSON: values are typed rather than strings.
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GlobalProperty {
    pub driver: String,
    pub property: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DisplayOptions {
    /// `none`, `curses`, ... as `-display` gives it; `-nographic` is `none`
    /// plus the serial and monitor defaults on stdio.
    pub display_type: Option<String>,
    pub nographic: bool,
    /// `-vga` type, or `std` by default on PC machines; `None` without a
    /// VGA (`-nodefaults`, machine `none`).
    pub vga: Option<String>,
    /// The VGA is QEMU's default one, not asked for with `-vga`.
    pub default_vga: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LifecycleOptions {
    /// `-S`: do not start the vCPUs until told to.
    pub start_paused: bool,
    pub no_reboot: bool,
    pub no_shutdown: bool,
    pub daemonize: bool,
    pub pidfile: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NameOptions {
    pub guest: Option<String>,
    pub process: Option<String>,
    /// `debug-threads=on`: name vCPU threads `CPU n/KVM`.
    pub debug_threads: bool,
}

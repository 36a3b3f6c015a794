//! Checks of single options, in QEMU's words.

use serde_json::Value;

use super::super::description::DEFAULT_RAM_SIZE;
use super::super::description::{
    AddFdOptions, CpuOptions, Dict, LocatedDict, MachineDescription, MemoryOptions,
};
use super::super::error::{warning, CliError};
use super::super::keyval::QemuOpts;
use super::super::netdev::check_netdev_members;
use super::super::qdict::{
    hex_suffix_warning, parse_bool, parse_size, parse_u64, size_error_message,
};
use super::MIB;

/// The allow/deny parameters of `-sandbox`.
pub(super) fn check_sandbox_choices(opts: &QemuOpts) -> Result<(), String> {
    let choices: [(&str, &[&str]); 4] = [
        ("obsolete", &["allow", "deny"]),
        ("elevateprivileges", &["allow", "deny", "children"]),
        ("spawn", &["allow", "deny"]),
        ("resourcecontrol", &["allow", "deny"]),
    ];
    for (key, allowed) in choices {
        if opts.get(key).is_some_and(|v| !allowed.contains(&v)) {
            return Err(format!("invalid argument for {key}"));
        }
    }
    Ok(())
}

pub(super) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `2006-06-17T16:01:21` or `2006-06-17`.
fn is_datetime(text: &str) -> bool {
    let numbers = |s: &str, sep: char, count: usize| {
        let parts: Vec<&str> = s.split(sep).collect();
        parts.len() == count
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    match text.split_once('T') {
        Some((date, time)) => numbers(date, '-', 3) && numbers(time, ':', 3),
        None => numbers(text, '-', 3),
    }
}

pub(super) fn memory_options(
    opts: &QemuOpts,
    location: &str,
    warnings: &mut Vec<String>,
) -> Result<MemoryOptions, CliError> {
    let mut size = None;
    if let Some(text) = opts.get("size").filter(|t| !t.is_empty()) {
        let parsed = parse_size(text, 1)
            .map_err(|e| CliError::at(location, size_error_message("size", text, e)))?;
        if parsed.hex_with_suffix {
            warnings.push(warning(None, hex_suffix_warning(text)));
        }
        // A number without suffix counts MiB.
        let bytes = if text.ends_with(|c: char| c.is_ascii_digit()) {
            parsed
                .bytes
                .checked_mul(MIB)
                .ok_or_else(|| CliError::plain("Parameter 'memory.size' expects size"))?
        } else {
            parsed.bytes
        };
        size = Some(bytes);
    }
    let slots = opts.get("slots").and_then(parse_u64).unwrap_or(0);
    let max_size = match opts.get("maxmem") {
        Some(text) => Some(
            parse_size(text, 1)
                .map_err(|e| CliError::at(location, size_error_message("maxmem", text, e)))?
                .bytes,
        ),
        None => None,
    };
    memory_limits(size, slots, max_size)
}

/// `-machine memory.size=,memory.max-size=,memory.slots=` (without `-m`).
pub(super) fn machine_memory_options(memory: &Dict) -> Result<MemoryOptions, CliError> {
    let bad = |message: String| CliError::plain(message);
    let size_of = |key: &str| -> Result<Option<u64>, CliError> {
        match memory.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_str()
                .and_then(|text| parse_size(text, 1).ok())
                .map(|size| Some(size.bytes))
                .ok_or_else(|| bad(format!("Parameter 'memory.{key}' expects size"))),
        }
    };
    let size = size_of("size")?;
    let max_size = size_of("max-size")?;
    let slots = match memory.get("slots") {
        None => 0,
        Some(value) => value
            .as_str()
            .and_then(parse_u64)
            .ok_or_else(|| bad("Parameter 'memory.slots' expects integer".to_owned()))?,
    };
    if let Some(key) = memory
        .keys()
        .find(|k| !["size", "max-size", "slots"].contains(&k.as_str()))
    {
        return Err(bad(format!("Parameter 'memory.{key}' is unexpected")));
    }
    memory_limits(size, slots, max_size)
}

/// QEMU's rules for the RAM size, hotplug slots and the maximum size.
fn memory_limits(
    size: Option<u64>,
    slots: u64,
    max_size: Option<u64>,
) -> Result<MemoryOptions, CliError> {
    // `-m 0` means the default.
    let size = size.filter(|size| *size != 0).unwrap_or(DEFAULT_RAM_SIZE);
    match max_size {
        Some(max) if max < size => {
            return Err(CliError::plain(format!(
                "invalid value of maxmem: maximum memory size (0x{max:x}) must be at least the initial memory size (0x{size:x})"
            )))
        }
        Some(max) if slots > 0 && max == size => {
            return Err(CliError::plain(format!(
                "invalid value of maxmem: memory slots were specified but maximum memory size (0x{max:x}) is equal to the initial memory size (0x{size:x})"
            )))
        }
        None if slots > 0 => return Err(CliError::plain("slots specified but no max-size")),
        _ => {}
    }
    Ok(MemoryOptions {
        size,
        slots,
        max_size,
    })
}

/// `model,+feat,-feat,feat=on`. Features are not checked here; the CPU
/// code knows them.
pub(super) fn cpu_options(text: &str) -> CpuOptions {
    let mut parts = text.split(',');
    let model = parts.next().unwrap_or_default().to_owned();
    let features = parts
        .filter(|p| !p.is_empty())
        .map(|part| {
            if let Some(name) = part.strip_prefix('+') {
                (name.to_owned(), true)
            } else if let Some(name) = part.strip_prefix('-') {
                (name.to_owned(), false)
            } else if let Some((name, value)) = part.split_once('=') {
                (name.to_owned(), parse_bool(value).unwrap_or(true))
            } else {
                (part.to_owned(), true)
            }
        })
        .collect();
    CpuOptions { model, features }
}

/// Devices are created last: one without a driver or whose id is taken
/// is refused then.
pub(super) fn check_devices(desc: &MachineDescription) -> Result<(), CliError> {
    for (index, device) in desc.devices.iter().enumerate() {
        if device.driver.is_empty() {
            return Err(CliError::at(
                &device.location,
                "Parameter 'driver' is missing",
            ));
        }
        let Some(id) = &device.id else { continue };
        if desc.devices[..index]
            .iter()
            .any(|d| d.id.as_ref() == Some(id))
        {
            return Err(CliError::at(
                &device.location,
                format!("Duplicate device ID '{id}'"),
            ));
        }
    }
    Ok(())
}

/// `-add-fd fd=N,set=N[,opaque=TEXT]`; the descriptor must be open and
/// inheritable (not close-on-exec), as QEMU requires.
pub(super) fn add_fd(opts: &QemuOpts) -> Result<AddFdOptions, String> {
    // Values were checked to be numbers; a negative one wraps and is refused
    // like a missing one.
    let number = |key: &str| {
        opts.get(key)
            .and_then(parse_u64)
            .and_then(|n| i64::try_from(n).ok())
    };
    let fd = number("fd")
        .and_then(|fd| i32::try_from(fd).ok())
        .ok_or("fd option is required and must be non-negative")?;
    if fd <= libc::STDERR_FILENO {
        return Err("fd cannot be a standard I/O stream".to_owned());
    }
    // SAFETY: F_GETFD only reads the descriptor flags of `fd`.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags == -1 || flags & libc::FD_CLOEXEC != 0 {
        return Err("fd is not valid or already in use".to_owned());
    }
    let set = number("set").ok_or("set option is required and must be non-negative")?;
    Ok(AddFdOptions {
        fd,
        set,
        opaque: opts.get("opaque").map(str::to_owned),
    })
}

/// `-boot` as QEMU reads it into the machine's boot configuration.
pub(super) fn check_boot_options(boot: &Dict) -> Result<(), CliError> {
    const KNOWN: &[&str] = &[
        "order",
        "once",
        "menu",
        "splash",
        "splash-time",
        "reboot-timeout",
        "strict",
    ];
    if let Some(key) = boot.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(CliError::plain(format!(
            "Parameter 'boot.{key}' is unexpected"
        )));
    }
    let text = |key: &str| boot.get(key).and_then(Value::as_str);
    for key in ["menu", "strict"] {
        if text(key).is_some_and(|v| parse_bool(v).is_none()) {
            return Err(CliError::plain(format!(
                "Parameter 'boot.{key}' expects 'on' or 'off'"
            )));
        }
    }
    for key in ["splash-time", "reboot-timeout"] {
        if text(key).is_some_and(|v| parse_u64(v).is_none()) {
            return Err(CliError::plain(format!(
                "Parameter 'boot.{key}' expects integer"
            )));
        }
    }
    for key in ["order", "once"] {
        if let Some(order) = text(key) {
            check_boot_devices(order)?;
        }
    }
    Ok(())
}

/// Boot devices: drives `a` to `p`, each at most once.
fn check_boot_devices(order: &str) -> Result<(), CliError> {
    let mut seen = Vec::new();
    for device in order.chars() {
        if !('a'..='p').contains(&device) {
            return Err(CliError::plain(format!("Invalid boot device '{device}'")));
        }
        if seen.contains(&device) {
            return Err(CliError::plain(format!(
                "Boot device '{device}' was given twice"
            )));
        }
        seen.push(device);
    }
    Ok(())
}

/// `-audiodev`: an id and one of QEMU's audio drivers.
pub(super) fn check_audiodev(properties: &Dict, json: bool) -> Result<(), String> {
    const DRIVERS: &[&str] = &[
        "none",
        "alsa",
        "coreaudio",
        "dbus",
        "dsound",
        "jack",
        "oss",
        "pa",
        "sdl",
        "sndio",
        "spice",
        "wav",
    ];
    if !properties.contains_key("id") {
        return Err("Parameter 'id' is missing".to_owned());
    }
    match properties.get("driver") {
        Some(Value::String(driver)) if driver == "none" => check_audiodev_none(properties, json),
        Some(Value::String(driver)) if DRIVERS.contains(&driver.as_str()) => Ok(()),
        Some(Value::String(driver)) => Err(format!(
            "Parameter 'driver' does not accept value '{driver}'"
        )),
        Some(_) => Err("Invalid parameter type for 'driver', expected: string".to_owned()),
        None => Err("Parameter 'driver' is missing".to_owned()),
    }
}

/// The members of `-audiodev none`, as QEMU's keyval visitor reads them.
fn check_audiodev_none(properties: &Dict, json: bool) -> Result<(), String> {
    const DIRECTION: &[&str] = &[
        "mixing-engine",
        "fixed-settings",
        "frequency",
        "channels",
        "voices",
        "format",
        "buffer-length",
    ];
    let integer = |name: &str, value: &Value| match value {
        Value::Number(n) if n.is_u64() => Ok(()),
        Value::String(text) if !json && parse_u64(text).is_some() => Ok(()),
        Value::String(_) if !json => Err(format!("Parameter '{name}' expects integer")),
        _ => Err(format!("Parameter '{name}' expects uint64")),
    };
    let boolean = |name: &str, value: &Value| match value {
        Value::Bool(_) => Ok(()),
        Value::String(text) if !json && parse_bool(text).is_some() => Ok(()),
        Value::String(_) if !json => Err(format!("Parameter '{name}' expects 'on' or 'off'")),
        _ => Err(format!(
            "Invalid parameter type for '{name}', expected: boolean"
        )),
    };
    if let Some(value) = properties.get("timer-period") {
        integer("timer-period", value)?;
    }
    for direction in ["in", "out"] {
        let Some(value) = properties.get(direction) else {
            continue;
        };
        let Value::Object(members) = value else {
            return Err(format!(
                "Invalid parameter type for '{direction}', expected: object"
            ));
        };
        for (key, value) in members {
            let name = format!("{direction}.{key}");
            match key.as_str() {
                "mixing-engine" | "fixed-settings" => boolean(&name, value)?,
                "format" => {}
                _ if DIRECTION.contains(&key.as_str()) => integer(&name, value)?,
                _ => return Err(format!("Parameter '{name}' is unexpected")),
            }
        }
    }
    const MEMBERS: &[&str] = &["id", "driver", "timer-period", "in", "out"];
    match properties.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        Some(key) => Err(format!("Parameter '{key}' is unexpected")),
        None => Ok(()),
    }
}

pub(super) fn check_drive(drive: &LocatedDict) -> Result<(), CliError> {
    let get = |key: &str| drive.properties.get(key).and_then(Value::as_str);
    let at = |message: String| CliError::at(&drive.location, message);
    if let Some(interface) = get("if") {
        const INTERFACES: &[&str] = &[
            "none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen",
        ];
        if !INTERFACES.contains(&interface) {
            return Err(at(format!("unsupported bus type '{interface}'")));
        }
    }
    if let Some(media) = get("media").filter(|m| !matches!(*m, "disk" | "cdrom")) {
        return Err(at(format!("'{media}' invalid media")));
    }
    if get("aio").is_some_and(|aio| !matches!(aio, "threads" | "native" | "io_uring")) {
        return Err(at("invalid aio option".to_owned()));
    }
    if get("readonly").is_some_and(|v| parse_bool(v).is_none()) {
        return Err(at("Parameter 'read-only' expects 'on' or 'off'".to_owned()));
    }
    if let Some(cache) = get("cache") {
        if !matches!(
            cache,
            "none" | "writeback" | "unsafe" | "directsync" | "writethrough"
        ) {
            return Err(at("invalid cache option".to_owned()));
        }
    }
    Ok(())
}

/// The network backend types of QEMU 7.2.
pub(super) const NETDEV_TYPES: &[&str] = &[
    "socket",
    "stream",
    "dgram",
    "hubport",
    "tap",
    "user",
    "l2tpv3",
    "vde",
    "bridge",
    "vhost-user",
    "vhost-vdpa",
];

pub(super) fn check_netdev(netdev: &LocatedDict) -> Result<(), CliError> {
    let at = |message: String| CliError::at(&netdev.location, message);
    match netdev.properties.get("id") {
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(at(
                "Invalid parameter type for 'id', expected: string".into()
            ))
        }
        None => return Err(at("Parameter 'id' is missing".into())),
    }
    match netdev.properties.get("type") {
        Some(Value::String(t)) if NETDEV_TYPES.contains(&t.as_str()) => {
            check_netdev_members(t, &netdev.properties, netdev.json).map_err(at)
        }
        Some(Value::String(t)) => Err(at(format!("Parameter 'type' does not accept value '{t}'"))),
        Some(_) => Err(at(
            "Invalid parameter type for 'type', expected: string".into()
        )),
        None => Err(at("Parameter 'type' is missing".into())),
    }
}

/// `-rtc`: the clock base, the clock and the drift fix.
pub(super) fn check_rtc(rtc: &Dict) -> Result<(), CliError> {
    let get = |key: &str| rtc.get(key).and_then(Value::as_str);
    if let Some(base) = get("base") {
        if !matches!(base, "utc" | "localtime") && !is_datetime(base) {
            return Err(CliError::plain(
                "invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'",
            ));
        }
    }
    let valid = |key: &str, allowed: &[&str]| get(key).is_none_or(|v| allowed.contains(&v));
    for (key, allowed) in [
        ("clock", &["host", "rt", "vm"][..]),
        ("driftfix", &["none", "slew"][..]),
    ] {
        if !valid(key, allowed) {
            let value = get(key).unwrap_or_default();
            return Err(CliError::plain(format!("invalid option value '{value}'")));
        }
    }
    Ok(())
}

//! The option loop: each option in command-line order, then the steps QEMU
//! takes after the loop (help requests, machine, memory, topology,
//! accelerator, chardevs, default devices, ports and monitors).

use std::path::PathBuf;

use serde_json::Value;

use super::chardev::{chardev_from_opts, is_valid_id, parse_compat, CompatError, INVALID_ID};
use super::description::*;
use super::error::{warning, CliError};
use super::json::parse_object;
use super::keyval::{is_help, parse_keyval, parse_qemu_opts, ImpliedValue, QemuOpts};
use super::machine::{self, find_machine_type, MachineType};
use super::objects::{check_object_creation, check_object_properties, OBJECT_TYPES};
use super::options::Token;
use super::qdict::{hex_suffix_warning, parse_bool, parse_size, parse_u64, size_error_message};
use super::smp::{self, SmpConfig, SmpLimits};
use super::{help, Command};

const MIB: u64 = 1 << 20;
const DEFAULT_RAM_SIZE: u64 = 128 * MIB;

/// What the loop collects before the steps after it.
#[derive(Default)]
struct State {
    warnings: Vec<String>,
    machine: Dict,
    accels: Vec<(String, QemuOpts)>,
    cpu: Option<String>,
    memory: Option<(String, QemuOpts)>,
    smp: QemuOpts,
    /// `-chardev`, and the chardevs `-monitor`/`-qmp` make, in order.
    chardev_sources: Vec<ChardevSource>,
    serials: Vec<(String, String)>,
    parallels: Vec<(String, String)>,
    debugcons: Vec<(String, String)>,
    monitors: Vec<(String, MonitorOptions)>,
    monitor_index: usize,
    add_fds: Vec<(String, QemuOpts)>,
    /// `-machine kernel-irqchip=`/`kvm-shadow-mem=`: kvm-accel defaults.
    kvm_defaults: Dict,
    default_serial: bool,
    default_parallel: bool,
    default_monitor: bool,
    default_vga: bool,
    default_net: bool,
    description: Option<MachineDescription>,
}

fn empty_description() -> MachineDescription {
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
    }
}

/// Outcome of one option: go on, or stop with a command (help, version).
type Step = Result<Option<Command>, CliError>;

pub fn run(tokens: Vec<Token>) -> Result<Command, CliError> {
    let mut state = State {
        default_serial: true,
        default_parallel: true,
        default_monitor: true,
        default_vga: true,
        default_net: true,
        description: Some(empty_description()),
        ..State::default()
    };
    for token in &tokens {
        let location = token.location();
        let step = match token {
            Token::DiskImage(path) => state
                .add_drive(
                    &location,
                    &format!("index=0,media=disk,file={}", path.replace(',', ",,")),
                )
                .map(|()| None),
            Token::Option { name, argument, .. } => {
                state.option(name, argument.as_deref().unwrap_or(""), &location)
            }
        };
        match step {
            Ok(None) => {}
            Ok(Some(command)) => return Ok(command),
            Err(error) => return Err(error.with_warnings_before(&state.warnings)),
        }
    }
    match state.after_loop() {
        Ok(command) => Ok(command),
        Err(error) => Err(error.with_warnings_before(&state.warnings)),
    }
}

fn refuse(location: &str) -> CliError {
    CliError::at(location, "Option not supported for this target")
}

impl State {
    fn desc(&mut self) -> &mut MachineDescription {
        // Present from construction until after_loop takes it.
        self.description.get_or_insert_with(empty_description)
    }

    fn exit(&self, stdout: String) -> Step {
        Ok(Some(Command::Exit {
            stdout,
            warnings: self.warnings.clone(),
            code: 0,
        }))
    }

    fn qemu_opts(&mut self, body: &str, implied: Option<&str>, location: &str) -> QemuOpts {
        let opts = parse_qemu_opts(body, implied, true);
        for message in &opts.warnings {
            self.warnings.push(warning(Some(location), message));
        }
        opts
    }

    fn option(&mut self, name: &str, arg: &str, location: &str) -> Step {
        match name {
            "h" | "help" => return self.exit(help::usage()),
            "version" => return self.exit(help::version()),
            "machine" | "M" => return self.machine_option(arg, location),
            "accel" => {
                let opts = self.qemu_opts(arg, Some("accel"), location);
                match opts.get("accel") {
                    Some(accel) if !is_help(accel) => self.accels.push((location.to_owned(), opts)),
                    _ => return self.exit(machine::accel_help()),
                }
            }
            // QEMU 7.2 turns -enable-kvm into `-machine accel=kvm`.
            "enable-kvm" => {
                self.machine.insert("accel".into(), "kvm".into());
            }
            "cpu" => self.cpu = Some(arg.to_owned()),
            "m" => self.memory_option(arg, location)?,
            "smp" => {
                let opts = self.qemu_opts(arg, Some("cpus"), location);
                self.smp.entries.extend(opts.entries);
            }
            "name" => self.name_option(arg, location)?,
            "S" => self.desc().lifecycle.start_paused = true,
            "no-shutdown" => self.desc().lifecycle.no_shutdown = true,
            "no-reboot" => self.desc().lifecycle.no_reboot = true,
            "daemonize" => self.desc().lifecycle.daemonize = true,
            "pidfile" => self.desc().lifecycle.pidfile = Some(PathBuf::from(arg)),
            "nodefaults" => self.desc().nodefaults = true,
            "no-user-config" => self.desc().no_user_config = true,
            "nographic" => self.desc().display.nographic = true,
            "kernel" => self.desc().boot.kernel = Some(PathBuf::from(arg)),
            "initrd" => self.desc().boot.initrd = Some(PathBuf::from(arg)),
            "append" => self.desc().boot.append = Some(arg.to_owned()),
            "bios" => self.desc().boot.firmware = Some(PathBuf::from(arg)),
            "L" => self.desc().firmware_dirs.push(PathBuf::from(arg)),
            "uuid" => {
                if !is_uuid(arg) {
                    return Err(CliError::at(
                        location,
                        "failed to parse UUID string: wrong format",
                    ));
                }
                self.desc().uuid = Some(arg.to_owned());
            }
            "display" => return self.display_option(arg, location),
            "vga" => {
                self.default_vga = false;
                self.desc().display.vga = (arg != "none").then(|| arg.to_owned());
            }
            "chardev" => {
                let opts = self.qemu_opts(arg, Some("backend"), location);
                self.check_new_id(&opts, "chardev", location)?;
                self.chardev_sources.push(ChardevSource::Options {
                    location: location.to_owned(),
                    opts,
                });
            }
            "serial" => {
                self.default_serial = false;
                if arg.starts_with("mon:") {
                    self.default_monitor = false;
                }
                self.serials.push((location.to_owned(), arg.to_owned()));
            }
            "parallel" => {
                self.default_parallel = false;
                self.parallels.push((location.to_owned(), arg.to_owned()));
            }
            "debugcon" => self.debugcons.push((location.to_owned(), arg.to_owned())),
            "monitor" => {
                self.default_monitor = false;
                if !arg.starts_with("none") {
                    self.legacy_monitor(arg, MonitorMode::Readline, false, location)?;
                }
            }
            "qmp" | "qmp-pretty" => {
                self.default_monitor = false;
                self.legacy_monitor(arg, MonitorMode::Control, name == "qmp-pretty", location)?;
            }
            "mon" => {
                self.default_monitor = false;
                let opts = self.qemu_opts(arg, Some("chardev"), location);
                opts.check_known(&["id", "mode", "chardev", "pretty"])
                    .map_err(|m| CliError::at(location, m))?;
                let mode = match opts.get("mode") {
                    None | Some("readline") => MonitorMode::Readline,
                    Some("control") => MonitorMode::Control,
                    Some(other) => {
                        return Err(CliError::at(
                            location,
                            format!("Parameter 'mode' does not accept value '{other}'"),
                        ))
                    }
                };
                let pretty = match opts.get("pretty") {
                    None => false,
                    Some(text) => parse_bool(text).ok_or_else(|| {
                        CliError::at(location, "Parameter 'pretty' expects 'on' or 'off'")
                    })?,
                };
                if let Some(id) = opts.get("id") {
                    if self
                        .monitors
                        .iter()
                        .any(|(_, m)| m.id.as_deref() == Some(id))
                    {
                        return Err(CliError::at(
                            location,
                            format!("Duplicate ID '{id}' for mon"),
                        ));
                    }
                }
                let monitor = MonitorOptions {
                    id: opts.get("id").map(str::to_owned),
                    chardev: opts.get("chardev").unwrap_or_default().to_owned(),
                    mode,
                    pretty,
                };
                self.monitors.push((location.to_owned(), monitor));
            }
            "rtc" => {
                let opts = self.qemu_opts(arg, None, location);
                opts.check_known(&["base", "clock", "driftfix"])
                    .map_err(|m| CliError::at(location, m))?;
                if let Some(base) = opts.get("base") {
                    if !matches!(base, "utc" | "localtime") && !is_datetime(base) {
                        return Err(CliError::plain(
                            "invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'",
                        ));
                    }
                }
                if let Some(clock) = opts
                    .get("clock")
                    .filter(|c| !matches!(*c, "host" | "rt" | "vm"))
                {
                    return Err(CliError::plain(format!("invalid option value '{clock}'")));
                }
                if let Some(drift) = opts
                    .get("driftfix")
                    .filter(|d| !matches!(*d, "none" | "slew"))
                {
                    return Err(CliError::plain(format!("invalid option value '{drift}'")));
                }
                self.desc().rtc.extend(opts.to_dict(&[]));
            }
            "boot" => {
                let opts = self.qemu_opts(arg, Some("order"), location);
                self.desc().boot.boot_order.extend(opts.to_dict(&[]));
            }
            "device" => self.device_option(arg, location)?,
            "object" => return self.object_option(arg, location),
            "blockdev" => {
                let (properties, json) = keyval_or_json(arg, Some("driver"), location)?;
                self.desc()
                    .blockdevs
                    .push(located(location, json, properties));
            }
            "drive" => self.add_drive(location, arg)?,
            "hda" | "hdb" | "hdc" | "hdd" => {
                let index = ["hda", "hdb", "hdc", "hdd"]
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or(0);
                self.add_drive(
                    location,
                    &format!("index={index},media=disk,file={}", arg.replace(',', ",,")),
                )?;
            }
            "cdrom" => self.add_drive(
                location,
                &format!("index=2,media=cdrom,file={}", arg.replace(',', ",,")),
            )?,
            "netdev" => {
                self.default_net = false;
                let (properties, json) = if arg.starts_with('{') {
                    (
                        parse_object(arg).map_err(|m| CliError::at(location, m))?,
                        true,
                    )
                } else {
                    let opts = self.qemu_opts(arg, Some("type"), location);
                    self.check_new_id(&opts, "netdev", location)?;
                    (opts.to_dict(&[]), false)
                };
                self.desc()
                    .netdevs
                    .push(located(location, json, properties));
            }
            "nic" => {
                self.default_net = false;
                let properties = self.qemu_opts(arg, Some("type"), location).to_dict(&[]);
                self.desc().nics.push(located(location, false, properties));
            }
            "audiodev" => {
                let (properties, json) = keyval_or_json(arg, Some("driver"), location)?;
                check_audiodev(&properties).map_err(|m| CliError::at(location, m))?;
                self.desc()
                    .audiodevs
                    .push(located(location, json, properties));
            }
            "global" => self.global_option(arg, location)?,
            "add-fd" => {
                let opts = self.qemu_opts(arg, None, location);
                opts.check_known(&["fd", "set", "opaque"])
                    .map_err(|m| CliError::at(location, m))?;
                for key in ["fd", "set"] {
                    if opts.get(key).is_some_and(|v| parse_u64(v).is_none()) {
                        return Err(CliError::at(
                            location,
                            format!("Parameter '{key}' expects a number"),
                        ));
                    }
                }
                self.add_fds.push((location.to_owned(), opts));
            }
            "no-acpi" => {
                self.machine.insert("acpi".into(), "off".into());
            }
            "no-hpet" => {
                self.machine.insert("hpet".into(), "off".into());
            }
            "usb" => {
                self.machine.insert("usb".into(), "on".into());
            }
            "overcommit" | "sandbox" | "msg" => {
                let implied = (name == "sandbox").then_some("enable");
                let opts = self.qemu_opts(arg, implied, location);
                let known: &[&str] = match name {
                    "overcommit" => &["mem-lock", "cpu-pm"],
                    "msg" => &["timestamp", "guest-name"],
                    _ => &[
                        "enable",
                        "obsolete",
                        "elevateprivileges",
                        "spawn",
                        "resourcecontrol",
                    ],
                };
                opts.check_known(known)
                    .map_err(|m| CliError::at(location, m))?;
                check_switches(name, &opts).map_err(|m| CliError::at(location, m))?;
                self.desc().other.push((name.to_owned(), opts.to_dict(&[])));
            }
            _ => return Err(refuse(location)),
        }
        Ok(None)
    }

    fn machine_option(&mut self, arg: &str, location: &str) -> Step {
        let parsed = parse_keyval(arg, Some("type"), ImpliedValue::UpToComma)
            .map_err(|m| CliError::at(location, m))?;
        let type_help = parsed
            .dict
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(is_help);
        if parsed.help || type_help {
            if parsed.dict.contains_key("type") && !type_help {
                // Listing one type's properties is not implemented.
                return Err(refuse(location));
            }
            return self.exit(machine::machine_help());
        }
        merge_dict(&mut self.machine, parsed.dict);
        Ok(None)
    }

    fn memory_option(&mut self, arg: &str, location: &str) -> Result<(), CliError> {
        let opts = self.qemu_opts(arg, Some("size"), location);
        opts.check_known(&["size", "slots", "maxmem"])
            .map_err(|m| CliError::at(location, m))?;
        for key in ["size", "maxmem"] {
            if let Some(value) = opts.get(key) {
                if key == "size" && value.is_empty() {
                    continue;
                }
                let size = parse_size(value, 1)
                    .map_err(|e| CliError::at(location, size_error_message(key, value, e)))?;
                if size.hex_with_suffix {
                    self.warnings
                        .push(warning(Some(location), hex_suffix_warning(value)));
                }
            }
        }
        if let Some(slots) = opts.get("slots") {
            if parse_u64(slots).is_none() {
                return Err(CliError::at(location, "Parameter 'slots' expects a number"));
            }
        }
        let merged = match self.memory.take() {
            Some((_, mut previous)) => {
                previous.entries.extend(opts.entries);
                previous
            }
            None => opts,
        };
        self.memory = Some((location.to_owned(), merged));
        Ok(())
    }

    fn name_option(&mut self, arg: &str, location: &str) -> Result<(), CliError> {
        let opts = self.qemu_opts(arg, Some("guest"), location);
        opts.check_known(&["guest", "process", "debug-threads"])
            .map_err(|m| CliError::at(location, m))?;
        let debug_threads = match opts.get("debug-threads") {
            None => false,
            Some(text) => parse_bool(text).ok_or_else(|| {
                CliError::at(location, "Parameter 'debug-threads' expects 'on' or 'off'")
            })?,
        };
        self.desc().name = Some(NameOptions {
            guest: opts.get("guest").map(str::to_owned),
            process: opts.get("process").map(str::to_owned),
            debug_threads,
        });
        Ok(())
    }

    fn display_option(&mut self, arg: &str, location: &str) -> Step {
        let display_type = if arg.starts_with('{') {
            let map = parse_object(arg).map_err(|m| CliError::at(location, m))?;
            match map.get("type") {
                Some(Value::String(t)) => t.clone(),
                Some(_) => {
                    return Err(CliError::at(
                        location,
                        "Invalid parameter type for 'type', expected: string",
                    ))
                }
                None => return Err(CliError::at(location, "Parameter 'type' is missing")),
            }
        } else {
            arg.split(',').next().unwrap_or_default().to_owned()
        };
        if display_type.is_empty() {
            return Err(CliError::at(location, "Parameter 'type' is missing"));
        }
        if is_help(&display_type) {
            return self.exit(help::display_help());
        }
        const QEMU_DISPLAYS: &[&str] = &[
            "none",
            "gtk",
            "sdl",
            "egl-headless",
            "curses",
            "cocoa",
            "spice-app",
            "dbus",
            "vnc",
        ];
        let known = QEMU_DISPLAYS.contains(&display_type.as_str())
            || (!arg.starts_with('{') && display_type.starts_with("vnc="));
        if !known {
            return Err(CliError::at(
                location,
                format!("Parameter 'type' does not accept value '{display_type}'"),
            ));
        }
        let gl = arg.split(',').skip(1).find_map(|p| p.strip_prefix("gl="));
        if display_type == "none" && gl.is_some_and(|gl| gl != "off") {
            return Err(CliError::plain("OpenGL is not supported by the display"));
        }
        if display_type != "none" {
            return Err(CliError::plain(format!(
                "Display '{display_type}' is not available."
            )));
        }
        self.desc().display.display_type = Some(display_type);
        Ok(None)
    }

    /// QEMU refuses a second `-chardev` or `-device` with the same id while
    /// parsing.
    fn check_new_id(&self, opts: &QemuOpts, kind: &str, location: &str) -> Result<(), CliError> {
        let Some(id) = opts.get("id") else {
            return Ok(());
        };
        if !is_valid_id(id) {
            return Err(CliError::at(location, INVALID_ID));
        }
        let duplicate = match kind {
            "chardev" => self.chardev_ids().any(|known| known == id),
            "netdev" => self.description.as_ref().is_some_and(|d| {
                d.netdevs
                    .iter()
                    .any(|n| !n.json && n.properties.get("id").and_then(Value::as_str) == Some(id))
            }),
            _ => self.description.as_ref().is_some_and(|d| {
                d.devices
                    .iter()
                    .any(|dev| !dev.json && dev.id.as_deref() == Some(id))
            }),
        };
        if duplicate {
            return Err(CliError::at(
                location,
                format!("Duplicate ID '{id}' for {kind}"),
            ));
        }
        Ok(())
    }

    fn chardev_ids(&self) -> impl Iterator<Item = &str> {
        self.chardev_sources
            .iter()
            .filter_map(|source| match source {
                ChardevSource::Options { opts, .. } => opts.get("id"),
                ChardevSource::Legacy(chardev) => Some(chardev.id.as_str()),
            })
    }

    fn legacy_monitor(
        &mut self,
        spec: &str,
        mode: MonitorMode,
        pretty: bool,
        location: &str,
    ) -> Result<(), CliError> {
        let chardev = match spec.strip_prefix("chardev:") {
            Some(id) => id.to_owned(),
            None => {
                let id = format!("compat_monitor{}", self.monitor_index);
                let parse_error = CliError::at(location, format!("parse error: {spec}"));
                if self.chardev_ids().any(|known| known == id) {
                    let duplicate =
                        CliError::at(location, format!("Duplicate ID '{id}' for chardev"));
                    return Err(CliError::after(duplicate, parse_error));
                }
                match parse_compat(spec, &id, location, true) {
                    Ok(chardev) => self.chardev_sources.push(ChardevSource::Legacy(chardev)),
                    Err(CompatError(first)) => {
                        return Err(match first {
                            Some(message) => {
                                CliError::after(CliError::at(location, message), parse_error)
                            }
                            None => parse_error,
                        });
                    }
                }
                id
            }
        };
        self.monitor_index += 1;
        self.monitors.push((
            location.to_owned(),
            MonitorOptions {
                id: None,
                chardev,
                mode,
                pretty,
            },
        ));
        Ok(())
    }

    fn device_option(&mut self, arg: &str, location: &str) -> Result<(), CliError> {
        let (mut properties, json) = if arg.starts_with('{') {
            (
                parse_object(arg).map_err(|m| CliError::at(location, m))?,
                true,
            )
        } else {
            let opts = self.qemu_opts(arg, Some("driver"), location);
            self.check_new_id(&opts, "device", location)?;
            let mut dict = opts.to_dict(&[]);
            if opts.help {
                dict.insert("help".into(), Value::Bool(true));
            }
            (dict, false)
        };
        let Some(Value::String(driver)) = properties.remove("driver") else {
            return Err(CliError::at(location, "Parameter 'driver' is missing"));
        };
        let id = match properties.remove("id") {
            Some(Value::String(id)) => Some(id),
            Some(_) => {
                return Err(CliError::at(
                    location,
                    "Invalid parameter type for 'id', expected: string",
                ))
            }
            None => None,
        };
        self.desc().devices.push(DeviceOptions {
            driver,
            id,
            properties,
            location: location.to_owned(),
            json,
        });
        Ok(())
    }

    fn object_option(&mut self, arg: &str, location: &str) -> Step {
        let (mut properties, json) = if arg.starts_with('{') {
            (
                parse_object(arg).map_err(|m| CliError::at(location, m))?,
                true,
            )
        } else {
            let parsed = parse_keyval(arg, Some("qom-type"), ImpliedValue::Escaped)
                .map_err(|m| CliError::at(location, m))?;
            let qom_type = parsed.dict.get("qom-type").and_then(Value::as_str);
            if qom_type.is_some_and(is_help) || (parsed.help && qom_type.is_none()) {
                return self.exit(help::object_help());
            }
            if parsed.help {
                // Listing one type's properties is not implemented.
                return Err(refuse(location));
            }
            (parsed.dict, false)
        };
        let at = |message: String| CliError::at(location, message);
        let qom_type = match properties.remove("qom-type") {
            Some(Value::String(t)) => t,
            Some(_) => {
                return Err(at(
                    "Invalid parameter type for 'qom-type', expected: string".into(),
                ))
            }
            None => return Err(at("Parameter 'qom-type' is missing".into())),
        };
        if is_help(&qom_type) {
            return self.exit(help::object_help());
        }
        if !OBJECT_TYPES.contains(&qom_type.as_str()) {
            return Err(at(format!(
                "Parameter 'qom-type' does not accept value '{qom_type}'"
            )));
        }
        let id = match properties.remove("id") {
            Some(Value::String(id)) => id,
            Some(_) => {
                return Err(at(
                    "Invalid parameter type for 'id', expected: string".into()
                ))
            }
            None => return Err(at("Parameter 'id' is missing".into())),
        };
        check_object_properties(&qom_type, &properties, json).map_err(at)?;
        self.desc().objects.push(ObjectOptions {
            qom_type,
            id,
            properties,
            location: location.to_owned(),
            json,
        });
        Ok(None)
    }

    fn add_drive(&mut self, location: &str, body: &str) -> Result<(), CliError> {
        let opts = self.qemu_opts(body, None, location);
        if let Some(id) = opts.get("id") {
            if !is_valid_id(id) {
                return Err(CliError::at(location, INVALID_ID));
            }
            let taken = self.description.as_ref().is_some_and(|d| {
                d.drives
                    .iter()
                    .any(|drive| drive.properties.get("id").and_then(Value::as_str) == Some(id))
            });
            if taken {
                return Err(CliError::at(
                    location,
                    format!("Duplicate ID '{id}' for drive"),
                ));
            }
        }
        let properties = opts.to_dict(&[]);
        self.desc()
            .drives
            .push(located(location, false, properties));
        Ok(())
    }

    /// `-global DRIVER.PROP=VALUE` or `-global driver=D,property=P,value=V`.
    fn global_option(&mut self, arg: &str, location: &str) -> Result<(), CliError> {
        let short_form = arg.split_once('=').and_then(|(key, value)| {
            let (driver, property) = key.split_once('.')?;
            let valid = !driver.is_empty() && !property.is_empty() && !property.contains('.');
            valid.then(|| (driver.to_owned(), property.to_owned(), value.to_owned()))
        });
        let (driver, property, value) = match short_form {
            Some(parts) => parts,
            None => {
                let opts = self.qemu_opts(arg, None, location);
                opts.check_known(&["driver", "property", "value"])
                    .map_err(|m| CliError::at(location, m))?;
                match (opts.get("driver"), opts.get("property"), opts.get("value")) {
                    (Some(driver), Some(property), Some(value)) => {
                        (driver.to_owned(), property.to_owned(), value.to_owned())
                    }
                    _ => {
                        return Err(CliError::at(
                            location,
                            "options 'driver', 'property', and 'value' are required",
                        ))
                    }
                }
            }
        };
        self.desc().globals.push(GlobalProperty {
            driver,
            property,
            value,
        });
        Ok(())
    }
}

/// The on/off parameters of `-overcommit`, `-msg` and `-sandbox`, and the
/// allow/deny ones of `-sandbox`.
fn check_switches(option: &str, opts: &QemuOpts) -> Result<(), String> {
    let switches: &[&str] = match option {
        "overcommit" => &["mem-lock", "cpu-pm"],
        "msg" => &["timestamp", "guest-name"],
        _ => &["enable"],
    };
    for key in switches {
        if opts.get(key).is_some_and(|v| parse_bool(v).is_none()) {
            return Err(format!("Parameter '{key}' expects 'on' or 'off'"));
        }
    }
    if option == "sandbox" {
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
    }
    Ok(())
}

fn located(location: &str, json: bool, properties: Dict) -> LocatedDict {
    LocatedDict {
        location: location.to_owned(),
        json,
        properties,
    }
}

fn keyval_or_json(
    arg: &str,
    implied: Option<&str>,
    location: &str,
) -> Result<(Dict, bool), CliError> {
    if arg.starts_with('{') {
        return parse_object(arg)
            .map(|d| (d, true))
            .map_err(|m| CliError::at(location, m));
    }
    let parsed = parse_keyval(arg, implied, ImpliedValue::UpToComma)
        .map_err(|m| CliError::at(location, m))?;
    if parsed.help {
        return Err(refuse(location));
    }
    Ok((parsed.dict, false))
}

/// Merges a later `-machine` into the earlier ones, key by key.
fn merge_dict(into: &mut Dict, from: Dict) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(nested)) => merge_dict(existing, nested),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn is_uuid(text: &str) -> bool {
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

impl State {
    /// The steps QEMU takes once every option is read, in its order (which
    /// decides which error is reported when there are several).
    fn after_loop(&mut self) -> Result<Command, CliError> {
        let mut desc = self.description.take().unwrap_or_else(empty_description);
        if desc.boot.kernel.is_none() {
            if desc.boot.append.is_some() {
                return Err(CliError::plain("-append only allowed with -kernel option"));
            }
            if desc.boot.initrd.is_some() {
                return Err(CliError::plain("-initrd only allowed with -kernel option"));
            }
        }
        for (location, opts) in &self.add_fds {
            desc.add_fds
                .push(add_fd(opts).map_err(|m| CliError::at(location, m))?);
        }
        if let Some(command) = self.help_requests(&desc)? {
            return Ok(command);
        }
        let machine_type = self.select_machine()?;
        if self.cpu.as_deref() == Some("") {
            return Err(CliError::plain("-cpu option cannot be empty"));
        }
        self.default_devices(&mut desc, machine_type)?;
        if let Some(vga) = &desc.display.vga {
            const VGA_TYPES: &[&str] = &[
                "std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio",
            ];
            if !VGA_TYPES.contains(&vga.as_str()) {
                return Err(CliError::plain(format!("unknown vga type: {vga}")));
            }
        }
        if let Some(command) = self.chardevs(&mut desc)? {
            return Ok(command);
        }
        for blockdev in &desc.blockdevs {
            if !blockdev.properties.contains_key("driver") {
                return Err(CliError::at(
                    &blockdev.location,
                    "Parameter 'driver' is missing",
                ));
            }
            if !blockdev.properties.contains_key("node-name") {
                return Err(CliError::at(
                    &blockdev.location,
                    "'node-name' must be specified for the root node",
                ));
            }
        }
        for drive in &desc.drives {
            check_drive(drive)?;
        }
        check_boot_options(&desc.boot.boot_order)?;
        self.machine_properties(&mut desc, machine_type)?;
        if let Some((location, opts)) = &self.memory {
            desc.memory = memory_options(opts, location, &mut self.warnings)?;
        }
        if let Some(cpu) = &self.cpu {
            desc.cpu = cpu_options(cpu);
        }
        self.accelerators(&mut desc)?;
        for netdev in &desc.netdevs {
            let netdev_type = netdev.properties.get("type").and_then(Value::as_str);
            if netdev_type.is_some_and(is_help) {
                return Ok(self.exit_with(help::netdev_help()));
            }
            check_netdev(netdev)?;
        }
        for nic in desc.nics.iter().filter(|nic| !nic.location.is_empty()) {
            let nic_type = nic.properties.get("type").and_then(Value::as_str);
            if let Some(nic_type) = nic_type.filter(|t| *t != "none" && !NETDEV_TYPES.contains(t)) {
                return Err(CliError::at(
                    &nic.location,
                    format!("Parameter 'type' does not accept value '{nic_type}'"),
                ));
            }
        }
        self.monitors_and_ports(&mut desc)?;
        check_device_ids(&desc)?;
        desc.warnings = std::mem::take(&mut self.warnings);
        Ok(Command::Run(Box::new(desc)))
    }

    fn exit_with(&self, stdout: String) -> Command {
        Command::Exit {
            stdout,
            warnings: self.warnings.clone(),
            code: 0,
        }
    }

    /// `-cpu help`, `-device help`, `-device TYPE,help`.
    fn help_requests(&self, desc: &MachineDescription) -> Result<Option<Command>, CliError> {
        if self.cpu.as_deref().is_some_and(is_help) {
            return Ok(Some(Command::CpuHelp {
                warnings: self.warnings.clone(),
            }));
        }
        for device in &desc.devices {
            if is_help(&device.driver) {
                return Ok(Some(self.exit_with(help::device_list())));
            }
            if device.properties.contains_key("help") && !device.json {
                let Some(info) = hw::core::qdev::find_device_type(&device.driver) else {
                    return Err(CliError::at(
                        &device.location,
                        format!("'{}' is not a valid device model name", device.driver),
                    ));
                };
                return Ok(Some(self.exit_with(hw::core::qdev::property_help(info))));
            }
        }
        Ok(None)
    }

    fn select_machine(&mut self) -> Result<&'static MachineType, CliError> {
        match self.machine.remove("type") {
            Some(Value::String(name)) => find_machine_type(&name).ok_or_else(|| {
                CliError::plain(
                    "unsupported machine type\nUse -machine help to list supported machines",
                )
            }),
            Some(_) => Err(CliError::plain("Parameters 'type.*' used inconsistently")),
            None => Ok(machine::default_machine_type()),
        }
    }

    /// The serial port, parallel port, monitor, VGA and NIC QEMU adds
    /// unless told otherwise.
    fn default_devices(
        &mut self,
        desc: &mut MachineDescription,
        machine_type: &MachineType,
    ) -> Result<(), CliError> {
        if desc.display.nographic && desc.display.display_type.is_none() {
            desc.display.display_type = Some("none".to_owned());
        }
        let defaults = !desc.nodefaults && machine_type.has_default_devices;
        let default_serial = self.default_serial && defaults;
        let default_parallel = self.default_parallel && defaults;
        let default_monitor = self.default_monitor && !desc.nodefaults;
        if desc.lifecycle.daemonize
            && desc.display.nographic
            && (default_serial || default_parallel || default_monitor)
        {
            return Err(CliError::plain("-nographic cannot be used with -daemonize"));
        }
        let (serial, parallel, monitor) = if desc.display.nographic {
            if default_serial && default_monitor {
                ("mon:stdio", "null", None)
            } else {
                ("stdio", "null", Some("stdio"))
            }
        } else {
            ("vc:80Cx24C", "vc:80Cx24C", Some("vc:80Cx24C"))
        };
        if default_serial {
            self.serials.push((String::new(), serial.to_owned()));
        }
        if default_parallel {
            self.parallels.push((String::new(), parallel.to_owned()));
        }
        if let Some(monitor) = monitor.filter(|_| default_monitor) {
            self.add_default_monitor(desc, monitor)?;
        }
        if self.default_vga && defaults && desc.display.vga.is_none() {
            desc.display.vga = Some("std".to_owned());
        }
        if self.default_net && defaults {
            let mut properties = Dict::new();
            properties.insert("type".into(), "user".into());
            desc.nics.push(located("", false, properties));
        }
        Ok(())
    }

    /// `-chardev` and the chardevs of `-monitor`/`-qmp`, in order.
    fn chardevs(&mut self, desc: &mut MachineDescription) -> Result<Option<Command>, CliError> {
        for object in &desc.objects {
            check_object_creation(&object.qom_type, &object.properties).map_err(CliError::plain)?;
        }
        for source in std::mem::take(&mut self.chardev_sources) {
            let chardev = match source {
                ChardevSource::Options { location, opts } => {
                    if opts.get("backend").is_some_and(is_help) {
                        return Ok(Some(self.exit_with(help::chardev_help())));
                    }
                    chardev_from_opts(&opts, None, &location)
                        .map_err(|m| CliError::at(&location, m))?
                }
                ChardevSource::Legacy(chardev) => chardev,
            };
            check_stdio_unused(desc, &chardev).map_err(|m| CliError::at(&chardev.location, m))?;
            desc.chardevs.push(chardev);
        }
        Ok(None)
    }

    /// The CPU topology first, then the other `-machine` properties.
    fn machine_properties(
        &mut self,
        desc: &mut MachineDescription,
        machine_type: &MachineType,
    ) -> Result<(), CliError> {
        let config = SmpConfig::from_opts(&self.smp).map_err(CliError::plain)?;
        let limits = SmpLimits {
            machine: machine_type.name,
            max_cpus: machine_type.max_cpus,
            dies_supported: machine_type.name != "none",
        };
        let (topology, smp_warnings) = smp::compute(&config, &limits).map_err(CliError::plain)?;
        self.warnings.extend(smp_warnings);
        desc.smp = topology;
        let accel = self.machine.remove("accel");
        // Old machine options that QEMU passes on as defaults for kvm-accel.
        for key in ["kernel-irqchip", "kvm-shadow-mem"] {
            if let Some(value) = self.machine.remove(key) {
                self.kvm_defaults.insert(key.to_owned(), value);
            }
        }
        machine::check_machine_properties(machine_type, &self.machine).map_err(CliError::plain)?;
        desc.machine = MachineOptions {
            type_name: machine_type.name.to_owned(),
            properties: std::mem::take(&mut self.machine),
        };
        if let Some(accel) = accel {
            if !self.accels.is_empty() {
                return Err(CliError::plain(
                    "The -accel and \"-machine accel=\" options are incompatible",
                ));
            }
            let names = accel.as_str().unwrap_or_default().to_owned();
            for name in names.split(':') {
                let opts =
                    parse_qemu_opts(&format!("accel={}", name.replace(',', ",,")), None, false);
                self.accels.push((String::new(), opts));
            }
        }
        Ok(())
    }

    /// QEMU tries the accelerators in order and stops at the first that
    /// exists; unknown ones before it are reported and skipped. The
    /// description lists the usable ones in order.
    fn accelerators(&mut self, desc: &mut MachineDescription) -> Result<(), CliError> {
        let mut skipped = Vec::new();
        for (location, opts) in &self.accels {
            let location = Some(location.as_str()).filter(|l| !l.is_empty());
            let name = opts.get("accel").unwrap_or_default();
            if !machine::ACCELERATORS.contains(&name) {
                skipped.push(CliError::located(
                    location,
                    format!("invalid accelerator {name}"),
                ));
                continue;
            }
            let mut properties = self.kvm_defaults.clone();
            properties.extend(opts.to_dict(&["accel"]));
            machine::check_kvm_properties(&properties)
                .map_err(|m| CliError::located(location, m))?;
            desc.accelerators.push(AccelOptions {
                name: name.to_owned(),
                properties,
            });
            break;
        }
        let Some(accel) = desc.accelerators.first() else {
            // Nothing usable: every name given was unknown (or none given).
            return match skipped.into_iter().reduce(CliError::after) {
                Some(error) => Err(error),
                None => Ok(()),
            };
        };
        if !skipped.is_empty() {
            for error in skipped {
                self.warnings.push(error.to_string());
            }
            self.warnings.push(format!(
                "{}: falling back to {}",
                super::error::PROGRAM,
                accel.name.to_uppercase()
            ));
        }
        Ok(())
    }

    /// `-mon` and the legacy monitors, then serial ports, parallel ports
    /// and the debug console.
    fn monitors_and_ports(&mut self, desc: &mut MachineDescription) -> Result<(), CliError> {
        for (location, monitor) in &self.monitors {
            if monitor.chardev.is_empty() {
                return Err(CliError::at(location, "Parameter 'chardev' is missing"));
            }
            if !desc.chardevs.iter().any(|c| c.id == monitor.chardev) {
                return Err(CliError::located(
                    Some(location.as_str()).filter(|l| !l.is_empty()),
                    format!("chardev \"{}\" not found", monitor.chardev),
                ));
            }
        }
        desc.monitors
            .extend(self.monitors.drain(..).map(|(_, monitor)| monitor));
        let serials = std::mem::take(&mut self.serials);
        for (index, (location, spec)) in serials.iter().filter(|(_, s)| s != "none").enumerate() {
            let id = format!("serial{index}");
            let id = port_chardev(desc, location, spec, &id, &connect_failure("serial", spec))?;
            desc.serials.push(Some(id));
        }
        let parallels = std::mem::take(&mut self.parallels);
        for (index, (location, spec)) in parallels.iter().filter(|(_, s)| s != "none").enumerate() {
            let id = format!("parallel{index}");
            let id = port_chardev(
                desc,
                location,
                spec,
                &id,
                &connect_failure("parallel", spec),
            )?;
            desc.parallels.push(id);
        }
        let debugcons = std::mem::take(&mut self.debugcons);
        for (number, (location, spec)) in debugcons.iter().enumerate() {
            if number > 0 {
                return Err(CliError::after(
                    CliError::at(
                        location,
                        "attempt to add duplicate property 'debugcon' to object (type 'container')",
                    ),
                    CliError::at(location, format!("invalid character backend '{spec}'")),
                ));
            }
            let id = port_chardev(
                desc,
                location,
                spec,
                "debugcon",
                &format!("invalid character backend '{spec}'"),
            )?;
            desc.debugcons.push(id);
        }
        Ok(())
    }

    fn add_default_monitor(
        &mut self,
        desc: &mut MachineDescription,
        spec: &str,
    ) -> Result<(), CliError> {
        let id = format!("compat_monitor{}", self.monitor_index);
        let chardev = default_chardev(spec, &id)
            .map_err(|CompatError(m)| CliError::plain(m.unwrap_or_default()))?;
        desc.chardevs.push(chardev);
        self.monitor_index += 1;
        self.monitors.push((
            String::new(),
            MonitorOptions {
                id: None,
                chardev: id,
                mode: MonitorMode::Readline,
                pretty: false,
            },
        ));
        Ok(())
    }
}

/// Where a chardev comes from.
enum ChardevSource {
    /// `-chardev`, checked when chardevs are created.
    Options { location: String, opts: QemuOpts },
    /// A legacy string of `-monitor`/`-qmp`, checked while parsing.
    Legacy(ChardevOptions),
}

/// Only one chardev may use stdio.
fn check_stdio_unused(desc: &MachineDescription, chardev: &ChardevOptions) -> Result<(), String> {
    if chardev.backend == "stdio" && desc.chardevs.iter().any(|c| c.backend == "stdio") {
        return Err("cannot use stdio by multiple character devices".to_owned());
    }
    Ok(())
}

fn connect_failure(port: &str, spec: &str) -> String {
    format!("could not connect {port} device to character backend '{spec}'")
}

/// The chardev a `-serial`/`-parallel`/`-debugcon` port uses, created
/// from its legacy string; a multiplexed `mon:` one also gets a monitor.
fn port_chardev(
    desc: &mut MachineDescription,
    location: &str,
    spec: &str,
    id: &str,
    failure: &str,
) -> Result<String, CliError> {
    let failed = || CliError::located(Some(location).filter(|l| !l.is_empty()), failure);
    if let Some(existing) = spec.strip_prefix("chardev:") {
        return if desc.chardevs.iter().any(|c| c.id == existing) {
            Ok(existing.to_owned())
        } else {
            Err(failed())
        };
    }
    let chardev = default_chardev(spec, id).map_err(|CompatError(first)| match first {
        Some(message) => CliError::after(
            CliError::located(Some(location).filter(|l| !l.is_empty()), message),
            failed(),
        ),
        None => failed(),
    })?;
    let chardev = ChardevOptions {
        location: location.to_owned(),
        ..chardev
    };
    let taken = desc
        .chardevs
        .iter()
        .any(|c| c.id == chardev.id)
        .then(|| format!("Duplicate ID '{id}' for chardev"));
    if let Some(message) = taken.or_else(|| check_stdio_unused(desc, &chardev).err()) {
        let location = Some(location).filter(|l| !l.is_empty());
        return Err(CliError::after(
            CliError::located(location, message),
            failed(),
        ));
    }
    if chardev.properties.get("mux").and_then(Value::as_str) == Some("on") {
        desc.monitors.push(MonitorOptions {
            id: None,
            chardev: id.to_owned(),
            mode: MonitorMode::Readline,
            pretty: false,
        });
    }
    desc.chardevs.push(chardev);
    Ok(id.to_owned())
}

/// A legacy chardev string, including the `vc` text console QEMU uses for
/// its default ports when a display is shown (kept as such in the
/// description; what to do with it is the machine's business).
fn default_chardev(spec: &str, id: &str) -> Result<ChardevOptions, CompatError> {
    if let Some(size) = spec.strip_prefix("vc") {
        let mut properties = Dict::new();
        if let Some((cols, rows)) = size.strip_prefix(':').and_then(|s| s.split_once('x')) {
            if let (Some(cols), Some(rows)) = (cols.strip_suffix('C'), rows.strip_suffix('C')) {
                properties.insert("cols".into(), cols.into());
                properties.insert("rows".into(), rows.into());
            } else {
                properties.insert("width".into(), cols.into());
                properties.insert("height".into(), rows.into());
            }
        }
        return Ok(ChardevOptions {
            id: id.to_owned(),
            backend: "vc".to_owned(),
            properties,
            location: String::new(),
        });
    }
    parse_compat(spec, id, "", true)
}

fn memory_options(
    opts: &QemuOpts,
    location: &str,
    warnings: &mut Vec<String>,
) -> Result<MemoryOptions, CliError> {
    let mut size = DEFAULT_RAM_SIZE;
    if let Some(text) = opts.get("size").filter(|t| !t.is_empty()) {
        let parsed = parse_size(text, 1)
            .map_err(|e| CliError::at(location, size_error_message("size", text, e)))?;
        if parsed.hex_with_suffix {
            warnings.push(warning(None, hex_suffix_warning(text)));
        }
        size = parsed.bytes;
        // A number without suffix counts MiB.
        if text.ends_with(|c: char| c.is_ascii_digit()) {
            size = size
                .checked_mul(MIB)
                .ok_or_else(|| CliError::plain("Parameter 'memory.size' expects size"))?;
        }
        if size == 0 {
            size = DEFAULT_RAM_SIZE;
        }
    }
    let slots = opts.get("slots").and_then(parse_u64).unwrap_or(0);
    let max_size = match opts.get("maxmem") {
        Some(text) => {
            let max = parse_size(text, 1)
                .map_err(|e| CliError::at(location, size_error_message("maxmem", text, e)))?
                .bytes;
            if max < size {
                return Err(CliError::plain(format!(
                    "invalid value of maxmem: maximum memory size (0x{max:x}) must be at least the initial memory size (0x{size:x})"
                )));
            }
            if slots > 0 && max == size {
                return Err(CliError::plain(format!(
                    "invalid value of maxmem: memory slots were specified but maximum memory size (0x{max:x}) is equal to the initial memory size (0x{size:x})"
                )));
            }
            Some(max)
        }
        None if slots > 0 => return Err(CliError::plain("slots specified but no max-size")),
        None => None,
    };
    Ok(MemoryOptions {
        size,
        slots,
        max_size,
    })
}

/// `model,+feat,-feat,feat=on`. Features are not checked here; the CPU
/// code knows them.
fn cpu_options(text: &str) -> CpuOptions {
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

/// Devices are created last; one whose id is taken is refused then.
fn check_device_ids(desc: &MachineDescription) -> Result<(), CliError> {
    for (index, device) in desc.devices.iter().enumerate() {
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
fn add_fd(opts: &QemuOpts) -> Result<AddFdOptions, String> {
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
fn check_boot_options(boot: &Dict) -> Result<(), CliError> {
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
fn check_audiodev(properties: &Dict) -> Result<(), String> {
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
        Some(Value::String(driver)) if DRIVERS.contains(&driver.as_str()) => Ok(()),
        Some(Value::String(driver)) => Err(format!(
            "Parameter 'driver' does not accept value '{driver}'"
        )),
        Some(_) => Err("Invalid parameter type for 'driver', expected: string".to_owned()),
        None => Err("Parameter 'driver' is missing".to_owned()),
    }
}

fn check_drive(drive: &LocatedDict) -> Result<(), CliError> {
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
const NETDEV_TYPES: &[&str] = &[
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

fn check_netdev(netdev: &LocatedDict) -> Result<(), CliError> {
    let at = |message: String| CliError::at(&netdev.location, message);
    if !netdev.properties.contains_key("id") {
        return Err(at("Parameter 'id' is missing".into()));
    }
    match netdev.properties.get("type") {
        Some(Value::String(t)) if NETDEV_TYPES.contains(&t.as_str()) => Ok(()),
        Some(Value::String(t)) => Err(at(format!("Parameter 'type' does not accept value '{t}'"))),
        Some(_) => Err(at(
            "Invalid parameter type for 'type', expected: string".into()
        )),
        None => Err(at("Parameter 'type' is missing".into())),
    }
}

/// The options this parser accepts: name, argument synopsis (empty for
/// none) and a line for `-help`. Every other QEMU option is refused.
pub const IMPLEMENTED_OPTIONS: &[(&str, &str, &str)] = &[
    ("h", "", "display this help and exit"),
    ("help", "", "display this help and exit"),
    ("version", "", "display version information and exit"),
    (
        "machine",
        "[type=]name[,prop=value[,...]]",
        "select the machine type ('-machine help' lists them)",
    ),
    ("M", "[type=]name[,prop=value[,...]]", "same as -machine"),
    (
        "cpu",
        "model[,+feat|-feat|feat=on|off...]",
        "select the CPU model ('-cpu help' lists them)",
    ),
    (
        "accel",
        "[accel=]name[,prop=value[,...]]",
        "select the accelerator ('-accel help' lists them)",
    ),
    ("enable-kvm", "", "use KVM (same as -machine accel=kvm)"),
    (
        "smp",
        "[[cpus=]n][,maxcpus=n][,sockets=n][,dies=n][,cores=n][,threads=n]",
        "set the number of CPUs and their topology",
    ),
    (
        "m",
        "[size=]megs[,slots=n,maxmem=size]",
        "set the guest RAM size (MiB without a suffix)",
    ),
    (
        "name",
        "[guest=]name[,process=name][,debug-threads=on|off]",
        "name the guest",
    ),
    ("uuid", "%08x-%04x-%04x-%04x-%012x", "set the machine UUID"),
    (
        "boot",
        "[order=drives][,once=drives][,menu=on|off][,strict=on|off]",
        "set the boot order",
    ),
    (
        "rtc",
        "[base=utc|localtime|datetime][,clock=host|rt|vm][,driftfix=none|slew]",
        "configure the real-time clock",
    ),
    (
        "add-fd",
        "fd=fd,set=set[,opaque=opaque]",
        "put the inherited descriptor 'fd' into fd set 'set'",
    ),
    (
        "object",
        "TYPE,id=id[,prop=value[,...]]",
        "create an object ('-object help' lists the types)",
    ),
    (
        "device",
        "driver[,prop=value[,...]]",
        "add a device ('-device help' lists them)",
    ),
    (
        "global",
        "driver.property=value",
        "set a default for a device property",
    ),
    (
        "blockdev",
        "[driver=]driver,node-name=name[,...]",
        "define a block node",
    ),
    (
        "drive",
        "[file=file][,if=type][,index=i][,media=disk|cdrom][,...]",
        "define a drive",
    ),
    ("hda", "file", "use 'file' as IDE hard disk 0"),
    ("hdb", "file", "use 'file' as IDE hard disk 1"),
    ("hdc", "file", "use 'file' as IDE hard disk 2"),
    ("hdd", "file", "use 'file' as IDE hard disk 3"),
    ("cdrom", "file", "use 'file' as the CD-ROM image"),
    ("netdev", "type,id=id[,...]", "define a network backend"),
    ("nic", "[type][,...]", "add a network card with its backend"),
    (
        "audiodev",
        "[driver=]driver,id=id[,...]",
        "define an audio backend",
    ),
    (
        "chardev",
        "backend,id=id[,...]",
        "define a character device ('-chardev help' lists the backends)",
    ),
    ("serial", "dev", "connect the next serial port to 'dev'"),
    ("parallel", "dev", "connect the next parallel port to 'dev'"),
    ("debugcon", "dev", "connect the debug console to 'dev'"),
    ("monitor", "dev", "put a human monitor on 'dev'"),
    ("qmp", "dev", "put a QMP monitor on 'dev'"),
    (
        "qmp-pretty",
        "dev",
        "put a QMP monitor with indented JSON on 'dev'",
    ),
    (
        "mon",
        "[chardev=]name[,mode=readline|control][,pretty=on|off]",
        "put a monitor on a chardev",
    ),
    (
        "display",
        "none",
        "select the display ('-display help' lists them)",
    ),
    (
        "nographic",
        "",
        "no display; serial port and monitor on stdio",
    ),
    ("vga", "type", "select the video card"),
    ("kernel", "bzImage", "boot this Linux kernel"),
    ("append", "cmdline", "the kernel command line"),
    ("initrd", "file", "the initial RAM disk"),
    ("bios", "file", "use 'file' as the firmware"),
    ("L", "path", "look for firmware in 'path'"),
    ("S", "", "do not start the CPUs until told to"),
    ("no-reboot", "", "exit when the guest reboots"),
    (
        "no-shutdown",
        "",
        "stop, do not exit, when the guest powers off",
    ),
    ("daemonize", "", "run in the background once initialised"),
    ("pidfile", "file", "write the process id to 'file'"),
    ("nodefaults", "", "create no default devices"),
    ("no-user-config", "", "read no configuration files"),
    ("no-acpi", "", "disable ACPI (same as -machine acpi=off)"),
    (
        "no-hpet",
        "",
        "disable the HPET (same as -machine hpet=off)",
    ),
    (
        "usb",
        "",
        "enable the on-board USB controller (same as -machine usb=on)",
    ),
    (
        "overcommit",
        "[mem-lock=on|off][,cpu-pm=on|off]",
        "control memory locking and CPU power management",
    ),
    (
        "sandbox",
        "on|off[,obsolete=allow|deny][,...]",
        "filter system calls",
    ),
    (
        "msg",
        "[timestamp=on|off][,guest-name=on|off]",
        "control the format of messages",
    ),
];

//! The option loop: each option in command-line order, as QEMU's loop
//! reads it; then (in `steps`) what QEMU does once all are read.

mod checks;
mod steps;

use std::path::PathBuf;

use serde_json::Value;

use super::chardev::{is_valid_id, parse_compat, CompatError, INVALID_ID};
use super::description::*;
use super::error::{warning, CliError};
use super::json::parse_object;
use super::keyval::{is_help, parse_keyval, parse_qemu_opts, ImpliedValue, QemuOpts};
use super::machine;
use super::netdev::LIST_MEMBERS;
use super::objects::{check_object_properties, OBJECT_TYPES};
use super::options::Token;
use super::opts_list::{
    OptsList, ADD_FD, CHARDEV, GLOBAL, MEMORY, MON, MSG, NAME, OVERCOMMIT, RTC, SANDBOX,
};
use super::qdict::{hex_suffix_warning, parse_bool, parse_size};
use super::{help, Command};
use checks::{check_audiodev, is_uuid};

const MIB: u64 = 1 << 20;

/// Where a chardev comes from.
enum ChardevSource {
    /// `-chardev`, checked when chardevs are created.
    Options { location: String, opts: QemuOpts },
    /// A legacy string of `-monitor`/`-qmp`, checked while parsing.
    Legacy(ChardevOptions),
}

/// A monitor as given; QEMU checks it when monitors are created.
struct PendingMonitor {
    location: String,
    monitor: MonitorOptions,
    /// A `-mon mode=` that is neither `readline` nor `control`.
    bad_mode: Option<String>,
}

/// What the loop collects before the steps after it.
#[derive(Default)]
struct State {
    warnings: Vec<String>,
    machine: Dict,
    accels: Vec<(String, QemuOpts)>,
    cpu: Option<String>,
    memory: Option<(String, QemuOpts)>,
    /// `-chardev`, and the chardevs `-monitor`/`-qmp` make, in order.
    chardev_sources: Vec<ChardevSource>,
    serials: Vec<(String, String)>,
    parallels: Vec<(String, String)>,
    debugcons: Vec<(String, String)>,
    /// `-qtest`'s legacy chardev string and `-qtest-log`'s file.
    qtest: Option<String>,
    qtest_log: Option<String>,
    monitors: Vec<PendingMonitor>,
    monitor_index: usize,
    add_fds: Vec<(String, QemuOpts)>,
    /// `-sandbox`, whose choices QEMU checks after the loop.
    sandboxes: Vec<(String, QemuOpts)>,
    /// `-machine accel=` (and `-enable-kvm`), used after the machine.
    machine_accel: Option<Value>,
    /// `-machine kernel-irqchip=`/`kvm-shadow-mem=`: kvm-accel defaults.
    kvm_defaults: Dict,
    default_serial: bool,
    default_parallel: bool,
    default_monitor: bool,
    default_vga: bool,
    default_net: bool,
    /// `-display ...,gl=on`: refused after the loop.
    display_gl: bool,
    /// What is known so far; complete after the steps.
    desc: MachineDescription,
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

    /// A QemuOpts body checked against its parameter list; `None` when
    /// `help` was among the parameters (the caller then stops with the
    /// list's help, see `list_help`).
    fn checked_opts(
        &mut self,
        body: &str,
        implied: Option<&str>,
        list: &OptsList,
        location: &str,
    ) -> Result<Option<QemuOpts>, CliError> {
        let opts = self.qemu_opts(body, implied, location);
        if opts.help {
            return Ok(None);
        }
        list.check(&opts).map_err(|m| CliError::at(location, m))?;
        Ok(Some(opts))
    }

    /// QEMU prints a QemuOpts list's help, then exits with status 1.
    fn list_help(&self, list: &OptsList) -> Step {
        Ok(Some(Command::Exit {
            stdout: list.help(),
            warnings: self.warnings.clone(),
            code: 1,
        }))
    }

    fn option(&mut self, name: &str, arg: &str, location: &str) -> Step {
        match name {
            "h" | "help" => return self.exit(help::usage()),
            "version" => return self.exit(help::version()),
            "machine" | "M" => return self.machine_option(arg, location),
            "accel" => {
                let mut opts = self.qemu_opts(arg, Some("accel"), location);
                // A bare `help` is an accelerator property like any other.
                if opts.help {
                    opts.entries.push(("help".to_owned(), "on".to_owned()));
                }
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
            "m" => {
                let Some(opts) = self.checked_opts(arg, Some("size"), &MEMORY, location)? else {
                    return self.list_help(&MEMORY);
                };
                self.memory_option(opts, location);
            }
            // QEMU 7.2 reads -smp as keyval into the machine's `smp`.
            "smp" => {
                let parsed = parse_keyval(arg, Some("cpus"), ImpliedValue::UpToComma)
                    .map_err(|m| CliError::at(location, m))?;
                if parsed.help {
                    return self.exit(super::smp::smp_help());
                }
                let mut smp = Dict::new();
                smp.insert("smp".to_owned(), Value::Object(parsed.dict));
                merge_dict(&mut self.machine, smp, Clash::Merge, "")
                    .map_err(|m| CliError::at(location, m))?;
            }
            "name" => return self.name_option(arg, location),
            "S" => self.desc.lifecycle.start_paused = true,
            "no-shutdown" => self.desc.lifecycle.no_shutdown = true,
            "no-reboot" => self.desc.lifecycle.no_reboot = true,
            "daemonize" => self.desc.lifecycle.daemonize = true,
            "pidfile" => self.desc.lifecycle.pidfile = Some(PathBuf::from(arg)),
            "nodefaults" => self.desc.nodefaults = true,
            "no-user-config" => self.desc.no_user_config = true,
            "nographic" => self.desc.display.nographic = true,
            "kernel" => self.desc.boot.kernel = Some(PathBuf::from(arg)),
            "initrd" => self.desc.boot.initrd = Some(PathBuf::from(arg)),
            "append" => self.desc.boot.append = Some(arg.to_owned()),
            "bios" => self.desc.boot.firmware = Some(PathBuf::from(arg)),
            "L" => self.desc.firmware_dirs.push(PathBuf::from(arg)),
            "uuid" => {
                if !is_uuid(arg) {
                    return Err(CliError::at(
                        location,
                        "failed to parse UUID string: wrong format",
                    ));
                }
                self.desc.uuid = Some(arg.to_owned());
            }
            "display" => return self.display_option(arg, location),
            "vga" => {
                self.default_vga = false;
                self.desc.display.vga = (arg != "none").then(|| arg.to_owned());
            }
            "chardev" => {
                let Some(opts) = self.checked_opts(arg, Some("backend"), &CHARDEV, location)?
                else {
                    return self.list_help(&CHARDEV);
                };
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
            "qtest" => self.qtest = Some(arg.to_owned()),
            "qtest-log" => self.qtest_log = Some(arg.to_owned()),
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
                let Some(opts) = self.checked_opts(arg, Some("chardev"), &MON, location)? else {
                    return self.list_help(&MON);
                };
                let (mode, bad_mode) = match opts.get("mode") {
                    None | Some("readline") => (MonitorMode::Readline, None),
                    Some("control") => (MonitorMode::Control, None),
                    Some(other) => (MonitorMode::Readline, Some(other.to_owned())),
                };
                let pretty = opts.get("pretty").and_then(parse_bool).unwrap_or(false);
                if let Some(id) = opts.get("id") {
                    if self
                        .monitors
                        .iter()
                        .any(|pending| pending.monitor.id.as_deref() == Some(id))
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
                self.monitors.push(PendingMonitor {
                    location: location.to_owned(),
                    monitor,
                    bad_mode,
                });
            }
            "rtc" => {
                let Some(opts) = self.checked_opts(arg, None, &RTC, location)? else {
                    return self.list_help(&RTC);
                };
                self.desc.rtc.extend(opts.to_dict(&[]));
            }
            // QEMU 7.2 reads -boot as keyval into the machine's `boot`.
            "boot" => {
                let parsed = parse_keyval(arg, Some("order"), ImpliedValue::UpToComma)
                    .map_err(|m| CliError::at(location, m))?;
                if parsed.help {
                    return self.exit(help::boot_help());
                }
                merge_dict(
                    &mut self.desc.boot.boot_order,
                    parsed.dict,
                    Clash::Merge,
                    "",
                )
                .map_err(|m| CliError::at(location, m))?;
            }
            "device" => self.device_option(arg, location)?,
            "object" => return self.object_option(arg, location),
            "blockdev" => {
                let (properties, json) = keyval_or_json(arg, Some("driver"), location)?;
                if !properties.contains_key("driver") {
                    return Err(CliError::at(location, "Parameter 'driver' is missing"));
                }
                self.desc
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
                    (opts.to_dict_with_lists(LIST_MEMBERS), false)
                };
                self.desc.netdevs.push(located(location, json, properties));
            }
            "nic" => {
                self.default_net = false;
                let properties = self.qemu_opts(arg, Some("type"), location).to_dict(&[]);
                self.desc.nics.push(located(location, false, properties));
            }
            "audiodev" => {
                let (properties, json) = keyval_or_json(arg, Some("driver"), location)?;
                check_audiodev(&properties, json).map_err(|m| CliError::at(location, m))?;
                self.desc
                    .audiodevs
                    .push(located(location, json, properties));
            }
            "global" => return self.global_option(arg, location),
            "add-fd" => {
                let Some(opts) = self.checked_opts(arg, None, &ADD_FD, location)? else {
                    return self.list_help(&ADD_FD);
                };
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
                let (list, implied) = match name {
                    "overcommit" => (&OVERCOMMIT, None),
                    "msg" => (&MSG, None),
                    _ => (&SANDBOX, Some("enable")),
                };
                let Some(opts) = self.checked_opts(arg, implied, list, location)? else {
                    return self.list_help(list);
                };
                self.desc.other.push((name.to_owned(), opts.to_dict(&[])));
                if name == "sandbox" {
                    self.sandboxes.push((location.to_owned(), opts));
                }
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
            let named = parsed
                .dict
                .get("type")
                .and_then(Value::as_str)
                .filter(|_| !type_help);
            // An unknown type gets the list of types.
            return match named.and_then(machine::find_machine_type) {
                Some(machine) => self.exit(machine::machine_properties_help(machine)),
                None => self.exit(machine::machine_help()),
            };
        }
        merge_dict(&mut self.machine, parsed.dict, Clash::Parse, "")
            .map_err(|m| CliError::at(location, m))?;
        Ok(None)
    }

    /// `-m`, checked: merged into the earlier ones.
    fn memory_option(&mut self, opts: QemuOpts, location: &str) {
        for key in ["size", "maxmem"] {
            let hex_with_suffix = opts
                .get(key)
                .and_then(|value| parse_size(value, 1).ok())
                .is_some_and(|size| size.hex_with_suffix);
            if let Some(value) = opts.get(key).filter(|_| hex_with_suffix) {
                let message = warning(Some(location), hex_suffix_warning(value));
                self.warnings.push(message);
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
    }

    fn name_option(&mut self, arg: &str, location: &str) -> Step {
        let Some(opts) = self.checked_opts(arg, Some("guest"), &NAME, location)? else {
            return self.list_help(&NAME);
        };
        self.desc.name = Some(NameOptions {
            guest: opts.get("guest").map(str::to_owned),
            process: opts.get("process").map(str::to_owned),
            debug_threads: opts
                .get("debug-threads")
                .and_then(parse_bool)
                .unwrap_or(false),
        });
        Ok(None)
    }

    /// `-display TYPE[,OPTION=VALUE...]` or its JSON form. Only `none`
    /// is implemented; QEMU's other displays are refused by name after
    /// the loop.
    fn display_option(&mut self, arg: &str, location: &str) -> Step {
        let at = |message: String| CliError::at(location, message);
        let mut options = if arg.starts_with('{') {
            parse_object(arg).map_err(at)?
        } else {
            // `vnc=DISPLAY` is the one type written with a value.
            let (first, rest) = arg.split_once(',').unwrap_or((arg, ""));
            let display_type = if first.starts_with("vnc=") {
                "vnc"
            } else {
                first
            };
            let mut options = parse_keyval(rest, None, ImpliedValue::UpToComma)
                .map_err(at)?
                .dict;
            options.insert("type".to_owned(), Value::String(display_type.to_owned()));
            options
        };
        let display_type = match options.remove("type") {
            Some(Value::String(t)) if !t.is_empty() => t,
            Some(Value::String(_)) | None => return Err(at("Parameter 'type' is missing".into())),
            Some(_) => {
                return Err(at(
                    "Invalid parameter type for 'type', expected: string".into()
                ))
            }
        };
        if is_help(&display_type) {
            return self.exit(help::display_help());
        }
        const QEMU_DISPLAYS: &[&str] = &[
            "none",
            "gtk",
            "sdl",
            "egl-headless",
            "curses",
            "spice-app",
            "dbus",
            "vnc",
        ];
        if !QEMU_DISPLAYS.contains(&display_type.as_str()) {
            return Err(at(format!(
                "Parameter 'type' does not accept value '{display_type}'"
            )));
        }
        const COMMON_OPTIONS: &[&str] = &["full-screen", "window-close", "show-cursor", "gl"];
        if display_type == "none" {
            if let Some(key) = options
                .keys()
                .find(|k| !COMMON_OPTIONS.contains(&k.as_str()))
            {
                return Err(at(format!("Parameter '{key}' is unexpected")));
            }
        }
        if display_type == "none" && options.contains_key("window-close") {
            let message = "window-close is only valid for GTK and SDL, ignoring option";
            self.warnings.push(CliError::plain(message).to_string());
        }
        // No display here does OpenGL; QEMU says so once the machine type is known.
        self.display_gl = options
            .get("gl")
            .and_then(Value::as_str)
            .is_some_and(|gl| gl != "off");
        self.desc.display.display_type = Some(display_type);
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
            "netdev" => self
                .desc
                .netdevs
                .iter()
                .any(|n| !n.json && n.properties.get("id").and_then(Value::as_str) == Some(id)),
            _ => self
                .desc
                .devices
                .iter()
                .any(|dev| !dev.json && dev.id.as_deref() == Some(id)),
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
        self.monitors.push(PendingMonitor {
            location: location.to_owned(),
            monitor: MonitorOptions {
                id: None,
                chardev,
                mode,
                pretty,
            },
            bad_mode: None,
        });
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
        // A missing driver is reported when devices are created.
        let driver = match properties.remove("driver") {
            Some(Value::String(driver)) => driver,
            _ => String::new(),
        };
        // QEMU 7.2 takes an `id` that is not a string as no id at all.
        let id = match properties.remove("id") {
            Some(Value::String(id)) => Some(id),
            _ => None,
        };
        self.desc.devices.push(DeviceOptions {
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
        if self.desc.objects.iter().any(|object| object.id == id) {
            return Err(at(format!("Duplicate ID '{id}' for object")));
        }
        check_object_properties(&qom_type, &properties, json).map_err(at)?;
        self.desc.objects.push(ObjectOptions {
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
            let taken = self
                .desc
                .drives
                .iter()
                .any(|drive| drive.properties.get("id").and_then(Value::as_str) == Some(id));
            if taken {
                return Err(CliError::at(
                    location,
                    format!("Duplicate ID '{id}' for drive"),
                ));
            }
        }
        let properties = opts.to_dict(&[]);
        self.desc.drives.push(located(location, false, properties));
        Ok(())
    }

    /// `-global DRIVER.PROP=VALUE` or `-global driver=D,property=P,value=V`.
    fn global_option(&mut self, arg: &str, location: &str) -> Step {
        let short_form = arg.split_once('=').and_then(|(key, value)| {
            let (driver, property) = key.split_once('.')?;
            let valid = !driver.is_empty() && !property.is_empty() && !property.contains('.');
            valid.then(|| (driver.to_owned(), property.to_owned(), value.to_owned()))
        });
        let (driver, property, value) = match short_form {
            Some(parts) => parts,
            None => {
                let Some(opts) = self.checked_opts(arg, None, &GLOBAL, location)? else {
                    return self.list_help(&GLOBAL);
                };
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
        self.desc.globals.push(GlobalProperty {
            driver,
            property,
            value,
        });
        Ok(None)
    }
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

/// How a clash between an earlier and a later value is reported: QEMU
/// parses `-machine` into the earlier dictionary (`Parameters 'a.*' used
/// inconsistently`) and merges `-smp` into it (`Parameter 'a' used
/// inconsistently`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clash {
    Parse,
    Merge,
}

/// Merges a later dictionary into the earlier one, key by key, the later
/// value winning; `prefix` is the dotted path so far, for messages.
fn merge_dict(into: &mut Dict, from: Dict, clash: Clash, prefix: &str) -> Result<(), String> {
    for (key, value) in from {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (into.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(nested)) => {
                merge_dict(existing, nested, clash, &path)?
            }
            (Some(existing), value) if existing.is_object() != value.is_object() => {
                return Err(match clash {
                    Clash::Parse => format!("Parameters '{path}.*' used inconsistently"),
                    Clash::Merge => format!("Parameter '{path}' used inconsistently"),
                });
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
    Ok(())
}

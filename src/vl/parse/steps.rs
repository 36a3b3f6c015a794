//! The steps after the option loop, in QEMU's order.

use serde_json::Value;

use super::super::chardev::{chardev_from_opts, parse_compat, CompatError};
use super::super::description::*;
use super::super::error::CliError;
use super::super::keyval::{is_help, parse_qemu_opts};
use super::super::machine::{self, find_machine_type, MachineType};
use super::super::objects::check_object_creation;
use super::super::smp::{self, SmpConfig, SmpLimits};
use super::super::{help, Command};
use super::checks::{
    add_fd, check_boot_options, check_devices, check_drive, check_netdev, check_rtc,
    check_sandbox_choices, cpu_options, machine_memory_options, memory_options, NETDEV_TYPES,
};
use super::{located, ChardevSource, PendingMonitor, State};

impl State {
    /// The steps QEMU takes once every option is read, in its order (which
    /// decides which error is reported when there are several).
    pub(super) fn after_loop(&mut self) -> Result<Command, CliError> {
        let mut desc = std::mem::take(&mut self.desc);
        if desc.boot.kernel.is_none() {
            if desc.boot.append.is_some() {
                return Err(CliError::plain("-append only allowed with -kernel option"));
            }
            if desc.boot.initrd.is_some() {
                return Err(CliError::plain("-initrd only allowed with -kernel option"));
            }
        }
        for (location, opts) in &self.sandboxes {
            check_sandbox_choices(opts).map_err(|m| CliError::at(location, m))?;
        }
        for (location, opts) in &self.add_fds {
            desc.add_fds
                .push(add_fd(opts).map_err(|m| CliError::at(location, m))?);
        }
        if let Some(command) = self.help_requests(&desc)? {
            return Ok(command);
        }
        check_rtc(&desc.rtc)?;
        // QEMU merges the RAM size into the machine's `memory` first.
        if self
            .machine
            .get("memory")
            .is_some_and(|memory| !memory.is_object())
        {
            return Err(CliError::plain("Parameter 'memory' used inconsistently"));
        }
        let machine_type = self.select_machine()?;
        self.default_devices(&mut desc, machine_type)?;
        if let Some(vga) = &desc.display.vga {
            const VGA_TYPES: &[&str] = &[
                "std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio",
            ];
            if !VGA_TYPES.contains(&vga.as_str()) {
                return Err(CliError::plain(format!("unknown vga type: {vga}")));
            }
        }
        if self.display_gl {
            return Err(CliError::plain("OpenGL is not supported by the display"));
        }
        if let Some(command) = self.chardevs(&mut desc)? {
            return Ok(command);
        }
        for blockdev in &desc.blockdevs {
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
        self.machine_properties(&mut desc, machine_type)?;
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
        if self.cpu.as_deref() == Some("") {
            return Err(CliError::plain("-cpu option cannot be empty"));
        }
        check_devices(&desc)?;
        // The display starts last.
        if let Some(display) = desc.display.display_type.as_deref() {
            if display != "none" {
                return Err(CliError::plain(format!(
                    "Display '{display}' is not available."
                )));
            }
        }
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
            if is_help(&device.driver) && !device.json {
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
            desc.display.default_vga = true;
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

    /// The machine's properties, `-boot`, `-smp` and `-m` included. QEMU
    /// sets them one by one in the order of its dictionary's hash table, each
    /// with its own checks, so that order decides which error comes first.
    fn machine_properties(
        &mut self,
        desc: &mut MachineDescription,
        machine_type: &'static MachineType,
    ) -> Result<(), CliError> {
        self.machine_accel = self.machine.remove("accel");
        // Old machine options that QEMU passes on as defaults for kvm-accel.
        for key in ["kernel-irqchip", "kvm-shadow-mem"] {
            if let Some(value) = self.machine.remove(key) {
                self.kvm_defaults.insert(key.to_owned(), value);
            }
        }
        let mut names: Vec<String> = self.machine.keys().cloned().collect();
        for (name, given) in [
            ("boot", !desc.boot.boot_order.is_empty()),
            ("memory", self.memory.is_some()),
        ] {
            if given && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        names.sort_by_key(|name| (qdict_bucket(name), name.clone()));
        let mut smp = Dict::new();
        for name in names {
            match name.as_str() {
                "boot" => self.boot_property(desc)?,
                "memory" => self.memory_property(desc)?,
                "smp" => match self.machine.remove("smp") {
                    Some(Value::Object(given)) => {
                        smp = given;
                        self.topology(desc, machine_type, &smp)?;
                    }
                    _ => {
                        let message = "Invalid parameter type for 'smp', expected: object";
                        return Err(CliError::plain(message));
                    }
                },
                _ => {
                    let value = self.machine.get(&name).cloned().unwrap_or_default();
                    machine::check_machine_property(machine_type, &name, &value)
                        .map_err(CliError::plain)?;
                }
            }
        }
        if smp.is_empty() {
            self.topology(desc, machine_type, &smp)?;
        }
        desc.machine = MachineOptions {
            type_name: machine_type.name.to_owned(),
            properties: std::mem::take(&mut self.machine),
        };
        Ok(())
    }

    /// `-boot` and `-machine boot.*`: one boot configuration.
    fn boot_property(&mut self, desc: &mut MachineDescription) -> Result<(), CliError> {
        match self.machine.remove("boot") {
            Some(Value::Object(boot)) => {
                for (key, value) in boot {
                    desc.boot.boot_order.entry(key).or_insert(value);
                }
            }
            Some(_) => {
                let message = "Invalid parameter type for 'boot', expected: object";
                return Err(CliError::plain(message));
            }
            None => {}
        }
        check_boot_options(&desc.boot.boot_order)
    }

    /// `-m`, or `-machine memory.*` which it replaces.
    fn memory_property(&mut self, desc: &mut MachineDescription) -> Result<(), CliError> {
        let machine_memory = self.machine.remove("memory");
        if let Some((location, opts)) = &self.memory {
            desc.memory = memory_options(opts, location, &mut self.warnings)?;
        } else if let Some(Value::Object(memory)) = machine_memory {
            desc.memory = machine_memory_options(&memory)?;
        }
        Ok(())
    }

    fn topology(
        &mut self,
        desc: &mut MachineDescription,
        machine_type: &MachineType,
        smp: &Dict,
    ) -> Result<(), CliError> {
        let config = SmpConfig::from_dict(smp).map_err(CliError::plain)?;
        let limits = SmpLimits {
            machine: machine_type.name,
            max_cpus: machine_type.max_cpus,
            dies_supported: machine_type.name != "none",
        };
        let (topology, smp_warnings) = smp::compute(&config, &limits).map_err(CliError::plain)?;
        self.warnings.extend(smp_warnings);
        desc.smp = topology;
        Ok(())
    }

    /// QEMU tries the accelerators in order and stops at the first that
    /// exists; unknown ones before it are reported and skipped. The
    /// description lists the usable ones in order.
    fn accelerators(&mut self, desc: &mut MachineDescription) -> Result<(), CliError> {
        if let Some(accel) = self.machine_accel.take() {
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
            let properties = if name == "kvm" {
                let mut properties = self.kvm_defaults.clone();
                properties.extend(opts.to_dict(&["accel"]));
                properties
            } else {
                opts.to_dict(&["accel"])
            };
            let checked = if name == "kvm" {
                machine::check_kvm_properties(&properties)
            } else {
                machine::check_qtest_properties(&properties)
            };
            if let Err(message) = checked {
                // The accelerators skipped before were reported already.
                let error = CliError::located(location, message);
                return Err(skipped
                    .into_iter()
                    .rev()
                    .fold(error, |later, earlier| CliError::after(earlier, later)));
            }
            desc.accelerators.push(AccelOptions {
                name: name.to_owned(),
                properties,
            });
            break;
        }
        // Without TCG, `-qtest` alone runs the machine under qtest.
        if self.accels.is_empty() && self.qtest.is_some() {
            desc.accelerators.push(AccelOptions {
                name: "qtest".to_owned(),
                properties: Dict::new(),
            });
        }
        let Some(accel) = desc.accelerators.first() else {
            // Nothing usable: every name given was unknown (or none given).
            return match skipped.into_iter().reduce(CliError::after) {
                Some(error) => Err(error),
                None => Ok(()),
            };
        };
        if !skipped.is_empty() {
            for error in &skipped {
                self.warnings.push(error.to_string());
            }
        }
        // QEMU does not say it falls back when a qtest harness drives it.
        if !skipped.is_empty() && self.qtest.is_none() {
            self.warnings.push(format!(
                "{}: falling back to {}",
                super::super::error::PROGRAM,
                accel.name.to_uppercase()
            ));
        }
        Ok(())
    }

    /// `-mon` and the legacy monitors, then serial ports, parallel ports
    /// and the debug console.
    fn monitors_and_ports(&mut self, desc: &mut MachineDescription) -> Result<(), CliError> {
        // QEMU opens the qtest chardev first of the late backends.
        if let Some(spec) = self.qtest.take() {
            let failure = format!("Failed to initialize device for qtest: \"{spec}\"");
            let chardev = port_chardev(desc, "", &spec, "qtest", &failure)?;
            desc.qtest = Some(QtestOptions {
                chardev,
                log: self.qtest_log.take().map(std::path::PathBuf::from),
            });
        }
        for PendingMonitor {
            location,
            monitor,
            bad_mode,
        } in &self.monitors
        {
            if let Some(mode) = bad_mode {
                let message = format!("Parameter 'mode' does not accept value '{mode}'");
                return Err(CliError::at(location, message));
            }
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
            .extend(self.monitors.drain(..).map(|pending| pending.monitor));
        let serials = std::mem::take(&mut self.serials);
        for (index, (location, spec)) in serials.iter().filter(|(_, s)| s != "none").enumerate() {
            let id = format!("serial{index}");
            let id = port_chardev(desc, location, spec, &id, &connect_failure("serial", spec))?;
            desc.serials.push(Some(id));
        }
        let parallels = std::mem::take(&mut self.parallels);
        for (index, (location, spec)) in parallels.iter().filter(|(_, s)| s != "none").enumerate() {
            // QEMU has room for three parallel ports.
            if index == 3 {
                return Err(CliError::at(location, "too many parallel ports"));
            }
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
        self.monitors.push(PendingMonitor {
            location: String::new(),
            monitor: MonitorOptions {
                id: None,
                chardev: id,
                mode: MonitorMode::Readline,
                pretty: false,
            },
            bad_mode: None,
        });
        Ok(())
    }
}

/// Only one chardev may use stdio, and none when running as a daemon.
fn check_stdio_unused(desc: &MachineDescription, chardev: &ChardevOptions) -> Result<(), String> {
    if chardev.backend != "stdio" {
        return Ok(());
    }
    if desc.lifecycle.daemonize {
        return Err("cannot use stdio with -daemonize".to_owned());
    }
    if desc.chardevs.iter().any(|c| c.backend == "stdio") {
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

/// The bucket of QEMU's QDict hash table a key falls in (`tdb_hash` modulo
/// 512); QEMU walks a dictionary bucket by bucket.
fn qdict_bucket(key: &str) -> u32 {
    let mut value = 0x238F_13AFu32.wrapping_mul(key.len() as u32);
    for (index, byte) in key.bytes().enumerate() {
        value = value.wrapping_add(u32::from(byte) << (index * 5 % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345) % 512
}

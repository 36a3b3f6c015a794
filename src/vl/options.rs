//! The outer tokenizer: which options exist, which take an argument, and
//! the command line as a list of options in the order given.
//!
//! QEMU accepts `-opt` and `--opt` alike and takes the next argument as the
//! option's value whatever it looks like. clap does the collecting; the
//! rewrite to `--opt` and the mapping of clap's errors to QEMU's words
//! (`-foo: invalid option`, `-m: requires an argument`) happen here.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::collections::HashMap;

use clap::{Arg, ArgAction};

use super::error::CliError;

/// Every option of QEMU 7.2's `qemu-system-x86_64` (the `-help` list plus
/// the few it does not print, such as `-M`), with whether it takes an
/// argument.
pub const QEMU_OPTIONS: &[(&str, bool)] = &[
    ("h", false),
    ("help", false),
    ("version", false),
    ("machine", true),
    ("M", true),
    ("cpu", true),
    ("accel", true),
    ("smp", true),
    ("numa", true),
    ("add-fd", true),
    ("set", true),
    ("global", true),
    ("boot", true),
    ("m", true),
    ("mem-path", true),
    ("mem-prealloc", false),
    ("k", true),
    ("audio-help", false),
    ("audio", true),
    ("audiodev", true),
    ("device", true),
    ("name", true),
    ("uuid", true),
    ("fda", true),
    ("fdb", true),
    ("hda", true),
    ("hdb", true),
    ("hdc", true),
    ("hdd", true),
    ("cdrom", true),
    ("blockdev", true),
    ("drive", true),
    ("mtdblock", true),
    ("sd", true),
    ("pflash", true),
    ("snapshot", false),
    ("fsdev", true),
    ("virtfs", true),
    ("iscsi", true),
    ("usb", false),
    ("usbdevice", true),
    ("display", true),
    ("nographic", false),
    ("spice", true),
    ("portrait", false),
    ("rotate", true),
    ("vga", true),
    ("full-screen", false),
    ("g", true),
    ("vnc", true),
    ("win2k-hack", false),
    ("no-fd-bootchk", false),
    ("no-acpi", false),
    ("no-hpet", false),
    ("acpitable", true),
    ("smbios", true),
    ("net", true),
    ("netdev", true),
    ("nic", true),
    ("chardev", true),
    ("tpmdev", true),
    ("kernel", true),
    ("append", true),
    ("initrd", true),
    ("dtb", true),
    ("compat", true),
    ("fw_cfg", true),
    ("serial", true),
    ("parallel", true),
    ("monitor", true),
    ("qmp", true),
    ("qmp-pretty", true),
    ("mon", true),
    ("debugcon", true),
    ("pidfile", true),
    ("preconfig", false),
    ("S", false),
    ("overcommit", true),
    ("gdb", true),
    ("s", false),
    ("d", true),
    ("D", true),
    ("dfilter", true),
    ("seed", true),
    ("L", true),
    ("enable-kvm", false),
    ("xen-domid", true),
    ("xen-attach", false),
    ("xen-domid-restrict", false),
    ("no-reboot", false),
    ("no-shutdown", false),
    ("action", true),
    ("loadvm", true),
    ("daemonize", false),
    ("option-rom", true),
    ("rtc", true),
    ("icount", true),
    ("watchdog-action", true),
    ("echr", true),
    ("incoming", true),
    ("only-migratable", false),
    ("nodefaults", false),
    ("chroot", true),
    ("runas", true),
    ("prom-env", true),
    ("semihosting", false),
    ("semihosting-config", true),
    ("old-param", false),
    ("readconfig", true),
    ("no-user-config", false),
    ("trace", true),
    ("plugin", true),
    ("qtest", true),
    ("qtest-log", true),
    ("enable-sync-profile", false),
    ("async-teardown", false),
    ("msg", true),
    ("dump-vmstate", true),
    ("sandbox", true),
    ("object", true),
    ("singlestep", false),
    ("bios", true),
];

/// One element of the command line, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An option, with its name as QEMU knows it (`machine`), the spelling
    /// the user typed (`--machine`, for messages) and its argument.
    Option {
        name: &'static str,
        typed: String,
        argument: Option<String>,
    },
    /// An argument that is not an option: a disk image for IDE disk 0.
    DiskImage(String),
}

impl Token {
    /// The option and argument as typed, as QEMU prints them before a
    /// message: `-m 1Z`, `-nographic`, `disk.img`.
    pub fn location(&self) -> String {
        match self {
            Token::Option {
                typed,
                argument: Some(argument),
                ..
            } => format!("{typed} {argument}"),
            Token::Option { typed, .. } => typed.clone(),
            Token::DiskImage(path) => path.clone(),
        }
    }
}

const DISK_IMAGE: &str = "disk_image";

fn lookup(name: &str) -> Option<(&'static str, bool)> {
    QEMU_OPTIONS
        .iter()
        .copied()
        .find(|(known, _)| *known == name)
}

/// The QEMU option name behind `token` (`-m`, `--m`), if it is one.
fn option_name(token: &str) -> Option<&'static str> {
    let name = token
        .strip_prefix("--")
        .or_else(|| token.strip_prefix('-'))?;
    lookup(name).map(|(known, _)| known)
}

fn clap_command() -> clap::Command {
    let mut command = clap::Command::new(super::error::PROGRAM)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .no_binary_name(true)
        .arg(
            Arg::new(DISK_IMAGE)
                .action(ArgAction::Append)
                .num_args(1)
                .value_parser(clap::value_parser!(String)),
        );
    for (name, takes_argument) in QEMU_OPTIONS {
        let arg = Arg::new(*name).long(*name);
        let arg = if *takes_argument {
            arg.action(ArgAction::Append)
                .num_args(1)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(String))
        } else {
            // Each occurrence of a flag gets an (empty) value, so that clap
            // records the position of every one, not only the last.
            arg.action(ArgAction::Append)
                .num_args(0)
                .default_missing_value("")
                .value_parser(clap::value_parser!(String))
        };
        command = command.arg(arg);
    }
    command
}

/// Splits `args` (without the program name) into options and disk images,
/// in order. Errors are QEMU's: an unknown option or a missing argument,
/// whichever comes first.
pub fn tokenize(args: &[String]) -> Result<Vec<Token>, CliError> {
    // Rewrite `-opt`/`--opt` to `--opt` for clap. Anything that starts with
    // `-` but is not a known option is reported here, so clap never sees
    // QEMU-invalid spellings such as `--m=512` or `--` that it would accept.
    // Option arguments are passed after `--opt` untouched; the next argument
    // is always the value, as in QEMU.
    let mut rewritten = Vec::with_capacity(args.len());
    let mut typed: HashMap<&'static str, Vec<String>> = HashMap::new();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        if arg.starts_with('-') {
            let Some(name) = option_name(arg) else {
                return Err(CliError::at(arg, "invalid option"));
            };
            rewritten.push(format!("--{name}"));
            typed.entry(name).or_default().push(arg.clone());
            if lookup(name).is_some_and(|(_, takes_argument)| takes_argument) {
                let Some(value) = args.get(index + 1) else {
                    return Err(CliError::at(arg, "requires an argument"));
                };
                // `--opt=value` keeps a value starting with `-` or equal
                // to `--` from being taken for an option by clap.
                rewritten.pop();
                rewritten.push(format!("--{name}={value}"));
                index += 1;
            }
        } else {
            rewritten.push(arg.clone());
        }
        index += 1;
    }

    let matches = clap_command()
        .try_get_matches_from(&rewritten)
        .map_err(|error| clap_error_to_qemu(&error))?;

    // clap indexes every value and flag occurrence; sort them back into
    // command-line order. The n-th occurrence of an option in clap's
    // matches is the n-th one the scan above saw, which knows its spelling.
    let mut ordered: Vec<(usize, Token)> = Vec::new();
    if let (Some(indices), Some(values)) = (
        matches.indices_of(DISK_IMAGE),
        matches.get_many::<String>(DISK_IMAGE),
    ) {
        for (position, value) in indices.zip(values) {
            ordered.push((position, Token::DiskImage(value.clone())));
        }
    }
    for (name, takes_argument) in QEMU_OPTIONS {
        let (Some(indices), Some(values)) =
            (matches.indices_of(name), matches.get_many::<String>(name))
        else {
            continue;
        };
        let spellings = typed.get(name).map(Vec::as_slice).unwrap_or_default();
        for (occurrence, (position, value)) in indices.zip(values).enumerate() {
            let typed = spellings
                .get(occurrence)
                .cloned()
                .unwrap_or_else(|| format!("-{name}"));
            let argument = takes_argument.then(|| value.clone());
            ordered.push((
                position,
                Token::Option {
                    name,
                    typed,
                    argument,
                },
            ));
        }
    }
    ordered.sort_by_key(|(position, _)| *position);
    Ok(ordered.into_iter().map(|(_, token)| token).collect())
}

/// clap should not fail on what the rewrite let through; if it does, say
/// which argument it choked on in QEMU's words.
fn clap_error_to_qemu(error: &clap::Error) -> CliError {
    let shown = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg
            .split_whitespace()
            .next()
            .map(|arg| format!("-{}", arg.trim_start_matches('-')))
            .unwrap_or_default(),
        _ => String::new(),
    };
    match error.kind() {
        ErrorKind::InvalidValue | ErrorKind::NoEquals => {
            CliError::at(&shown, "requires an argument")
        }
        _ => CliError::at(&shown, "invalid option"),
    }
}

/// The options this parser accepts: name, argument synopsis (empty for
/// none) and a line for `-help`. Every other QEMU option is refused, but
/// `-qtest` and `-qtest-log`, which QEMU leaves out of `-help` as tests'
/// own options.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_in_order_with_any_argument() {
        let tokens = tokenize(&strings(&[
            "disk.img",
            "--append",
            "-foo --",
            "-S",
            "-m",
            "",
            "-S",
            "--name",
            "--",
            "-nographic",
        ]))
        .unwrap();
        let shown: Vec<String> = tokens.iter().map(Token::location).collect();
        assert_eq!(
            shown,
            [
                "disk.img",
                "--append -foo --",
                "-S",
                "-m ",
                "-S",
                "--name --",
                "-nographic"
            ]
        );
        assert!(
            matches!(&tokens[1], Token::Option { name: "append", argument: Some(a), .. } if a == "-foo --")
        );
    }

    /// Every option of QEMU 7.2's `-help` is known (`-h or -help` and
    /// `-fda/-fdb` list two each).
    #[test]
    fn every_qemu_option_is_known() {
        let help = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/reference/qemu-7.2/help/help.txt"))
            .find_map(|path| std::fs::read_to_string(path).ok())
            .expect("QEMU 7.2 reference outputs");
        let mut checked = 0;
        for line in help.lines().filter(|l| l.starts_with('-')) {
            let first = line.split_whitespace().next().unwrap_or_default();
            let words = line.split_whitespace().collect::<Vec<_>>();
            let mut names: Vec<&str> = first.split('/').collect();
            if words.get(1) == Some(&"or") {
                names.extend(words.get(2));
            }
            for name in names {
                let name = name.trim_start_matches('-');
                assert!(lookup(name).is_some(), "-{name} from QEMU's -help");
                checked += 1;
            }
        }
        assert!(checked > 100);
    }

    /// Recorded from QEMU 7.2.
    #[test]
    fn errors_as_qemu() {
        let error = |list: &[&str]| tokenize(&strings(list)).unwrap_err().to_string();
        assert_eq!(error(&["-foo"]), "qemu-system-x86_64: -foo: invalid option");
        assert_eq!(
            error(&["--foo"]),
            "qemu-system-x86_64: --foo: invalid option"
        );
        assert_eq!(error(&["-m=5"]), "qemu-system-x86_64: -m=5: invalid option");
        assert_eq!(error(&["-"]), "qemu-system-x86_64: -: invalid option");
        assert_eq!(error(&["--"]), "qemu-system-x86_64: --: invalid option");
        assert_eq!(
            error(&["-S", "-m"]),
            "qemu-system-x86_64: -m: requires an argument"
        );
        assert_eq!(
            error(&["--kernel"]),
            "qemu-system-x86_64: --kernel: requires an argument"
        );
        assert_eq!(
            error(&["-m", "1Z", "-foo"]),
            "qemu-system-x86_64: -foo: invalid option"
        );
    }
}

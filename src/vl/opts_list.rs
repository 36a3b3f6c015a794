//! The parameter lists of QemuOpts options (QEMU's `QemuOptsList`): which
//! parameters an option takes and of which type, checked in the order
//! given, and the `OPTION help` text printed from them.

use std::fmt::Write as _;

use super::keyval::QemuOpts;
use super::qdict::{parse_bool, parse_size, parse_u64, size_error_message};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Text,
    Bool,
    Number,
    Size,
}

impl ParamKind {
    fn help_name(self) -> &'static str {
        match self {
            ParamKind::Text => "str",
            ParamKind::Bool => "bool (on/off)",
            ParamKind::Number => "num",
            ParamKind::Size => "size",
        }
    }
}

pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub help: Option<&'static str>,
    /// The value QEMU documents as the default (`query-command-line-options`).
    pub default: Option<&'static str>,
}

const fn param(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        help: None,
        default: None,
    }
}

const fn described(name: &'static str, kind: ParamKind, help: &'static str) -> Param {
    Param {
        name,
        kind,
        help: Some(help),
        default: None,
    }
}

pub struct OptsList {
    pub name: &'static str,
    /// Sorted by name, as QEMU prints them.
    pub params: &'static [Param],
}

impl OptsList {
    /// Checks each parameter in the order given: known, and of its type.
    /// `id` is QemuOpts' own and always accepted.
    pub fn check(&self, opts: &QemuOpts) -> Result<(), String> {
        for (key, value) in &opts.entries {
            if key == "id" {
                continue;
            }
            let Some(param) = self.params.iter().find(|p| p.name == key) else {
                return Err(format!("Invalid parameter '{key}'"));
            };
            match param.kind {
                ParamKind::Text => {}
                ParamKind::Bool => {
                    parse_bool(value)
                        .ok_or_else(|| format!("Parameter '{key}' expects 'on' or 'off'"))?;
                }
                ParamKind::Number => {
                    parse_u64(value)
                        .ok_or_else(|| format!("Parameter '{key}' expects a number"))?;
                }
                ParamKind::Size => {
                    parse_size(value, 1).map_err(|e| size_error_message(key, value, e))?;
                }
            }
        }
        Ok(())
    }

    /// `OPTION help`: printed on stdout, QEMU then exits with status 1.
    pub fn help(&self) -> String {
        let mut out = format!("{} options:\n", self.name);
        for param in self.params {
            let mut line = format!("  {}=<{}>", param.name, param.kind.help_name());
            if let Some(help) = param.help {
                while line.len() < 24 {
                    line.push(' ');
                }
                let _ = write!(line, " - {help}");
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

use ParamKind::{Bool, Number, Size, Text};

/// The options whose parameters are checked against a list, in QEMU's
/// `query-command-line-options` order.
pub const CHECKED_OPTIONS: &[&OptsList] = &[
    &SANDBOX,
    &NAME,
    &MSG,
    &OVERCOMMIT,
    &ADD_FD,
    &MEMORY,
    &MON,
    &GLOBAL,
    &RTC,
    &CHARDEV,
];

/// The QemuOpts options that take any parameter and leave the checks to
/// what they create (a device's, backend's or object's properties); QEMU
/// reports them with no parameters.
pub const FREE_FORM_OPTIONS: &[&str] = &["object", "accel", "netdev", "device"];

pub const CHARDEV: OptsList = OptsList {
    name: "chardev",
    params: &[
        param("abstract", Bool),
        param("append", Bool),
        param("backend", Text),
        param("chardev", Text),
        param("clipboard", Bool),
        param("cols", Number),
        param("debug", Number),
        param("delay", Bool),
        param("fd", Text),
        param("height", Number),
        param("host", Text),
        param("ipv4", Bool),
        param("ipv6", Bool),
        param("localaddr", Text),
        param("localport", Text),
        param("logappend", Bool),
        param("logfile", Text),
        param("mouse", Bool),
        param("mux", Bool),
        param("name", Text),
        param("nodelay", Bool),
        param("path", Text),
        param("port", Text),
        param("reconnect", Number),
        param("rows", Number),
        param("server", Bool),
        param("signal", Bool),
        param("size", Size),
        param("telnet", Bool),
        Param {
            default: Some("on"),
            ..param("tight", Bool)
        },
        param("tls-authz", Text),
        param("tls-creds", Text),
        param("tn3270", Bool),
        param("to", Number),
        param("wait", Bool),
        param("websocket", Bool),
        param("width", Number),
    ],
};

pub const MEMORY: OptsList = OptsList {
    name: "memory",
    params: &[
        param("maxmem", Size),
        param("size", Size),
        param("slots", Number),
    ],
};

pub const NAME: OptsList = OptsList {
    name: "name",
    params: &[
        described(
            "debug-threads",
            Bool,
            "When enabled, name the individual threads; defaults off.\nNOTE: The thread names are for debugging and not a\nstable API.",
        ),
        described(
            "guest",
            Text,
            "Sets the name of the guest.\nThis name will be displayed in the SDL window caption.\nThe name will also be used for the VNC server",
        ),
        described("process", Text, "Sets the name of the QEMU process, as shown in top etc"),
    ],
};

pub const RTC: OptsList = OptsList {
    name: "rtc",
    params: &[
        param("base", Text),
        param("clock", Text),
        param("driftfix", Text),
    ],
};

pub const OVERCOMMIT: OptsList = OptsList {
    name: "overcommit",
    params: &[param("cpu-pm", Bool), param("mem-lock", Bool)],
};

pub const MSG: OptsList = OptsList {
    name: "msg",
    params: &[
        described(
            "guest-name",
            Bool,
            "Prepends guest name for error messages but only if -name guest is set otherwise option is ignored\n",
        ),
        param("timestamp", Bool),
    ],
};

pub const SANDBOX: OptsList = OptsList {
    name: "sandbox",
    params: &[
        param("elevateprivileges", Text),
        param("enable", Bool),
        param("obsolete", Text),
        param("resourcecontrol", Text),
        param("spawn", Text),
    ],
};

pub const ADD_FD: OptsList = OptsList {
    name: "add-fd",
    params: &[
        described(
            "fd",
            Number,
            "file descriptor of which a duplicate is added to fd set",
        ),
        described("opaque", Text, "free-form string used to describe fd"),
        described("set", Number, "ID of the fd set to add fd to"),
    ],
};

pub const GLOBAL: OptsList = OptsList {
    name: "global",
    params: &[
        param("driver", Text),
        param("property", Text),
        param("value", Text),
    ],
};

pub const MON: OptsList = OptsList {
    name: "mon",
    params: &[
        param("chardev", Text),
        param("mode", Text),
        param("pretty", Bool),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from QEMU 7.2 (`-name guest=x,help`, `-msg help`, `-m 1,help`).
    #[test]
    fn help_texts_match_qemu() {
        assert_eq!(
            NAME.help(),
            "name options:\n  debug-threads=<bool (on/off)> - When enabled, name the individual threads; defaults off.\nNOTE: The thread names are for debugging and not a\nstable API.\n  guest=<str>            - Sets the name of the guest.\nThis name will be displayed in the SDL window caption.\nThe name will also be used for the VNC server\n  process=<str>          - Sets the name of the QEMU process, as shown in top etc\n"
        );
        assert_eq!(
            MSG.help(),
            "msg options:\n  guest-name=<bool (on/off)> - Prepends guest name for error messages but only if -name guest is set otherwise option is ignored\n\n  timestamp=<bool (on/off)>\n"
        );
        assert_eq!(
            MEMORY.help(),
            "memory options:\n  maxmem=<size>\n  size=<size>\n  slots=<num>\n"
        );
        assert_eq!(
            ADD_FD.help(),
            "add-fd options:\n  fd=<num>               - file descriptor of which a duplicate is added to fd set\n  opaque=<str>           - free-form string used to describe fd\n  set=<num>              - ID of the fd set to add fd to\n"
        );
        assert!(CHARDEV.params.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(CHARDEV.help().lines().count(), 38);
    }
}

//! `-chardev` options and the legacy chardev strings of `-serial`,
//! `-monitor`, `-qmp`, `-debugcon` (QEMU's `qemu_chr_parse_compat`).

use serde_json::Value;

use super::description::{ChardevOptions, Dict};
use super::keyval::{parse_qemu_opts, QemuOpts};
use super::opts_list::CHARDEV;
use super::qdict::{parse_bool, parse_size};

/// The chardev backends implemented, in `-chardev help` order.
pub const BACKENDS: &[&str] = &["stdio", "ringbuf", "pipe", "null", "socket", "file", "pty"];

/// Identifiers: a letter, then letters, digits, `-`, `.`, `_`.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

pub const INVALID_ID: &str = "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

/// Builds a chardev from QemuOpts, with QEMU's checks and messages. `id`
/// overrides the `id=` parameter (legacy strings get `serial0`, ...).
pub fn chardev_from_opts(
    opts: &QemuOpts,
    id: Option<&str>,
    location: &str,
) -> Result<ChardevOptions, String> {
    CHARDEV.check(opts)?;
    let backend = opts.get("backend").unwrap_or_default().to_owned();
    let Some(id) = id.or(opts.get("id")) else {
        return Err("chardev: no id specified".to_owned());
    };
    if !is_valid_id(id) {
        return Err(INVALID_ID.to_owned());
    }
    if !BACKENDS.contains(&backend.as_str()) {
        return Err(format!("'{backend}' is not a valid char driver name"));
    }
    let properties = opts.to_dict(&["id", "backend"]);
    check_backend(&backend, &properties)?;
    Ok(ChardevOptions {
        id: id.to_owned(),
        backend,
        properties,
        location: location.to_owned(),
    })
}

/// The checks QEMU makes of a backend's options before opening it.
fn check_backend(backend: &str, properties: &Dict) -> Result<(), String> {
    let get = |key: &str| properties.get(key).and_then(Value::as_str);
    match backend {
        "file" if get("path").is_none() => Err("chardev: file: no filename given".to_owned()),
        "pipe" if get("path").is_none() => Err("chardev: pipe: no device path given".to_owned()),
        "socket" => check_socket(get("path"), get("host"), get("port"), get("fd"), properties),
        "ringbuf" => {
            let size = get("size").map_or(Ok(65536), |text| parse_size(text, 1).map(|s| s.bytes));
            // QEMU's test, `size & (size - 1)`, lets 0 through.
            if size.is_ok_and(|size| size != 0 && !size.is_power_of_two()) {
                return Err("size of ringbuf chardev must be power of two".to_owned());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_socket(
    path: Option<&str>,
    host: Option<&str>,
    port: Option<&str>,
    fd: Option<&str>,
    properties: &Dict,
) -> Result<(), String> {
    let addresses = [path, host, fd].iter().filter(|a| a.is_some()).count();
    if addresses > 1 {
        return Err("None or one of 'path', 'fd' or 'host' option required.".to_owned());
    }
    if host.is_some() && port.is_none() {
        return Err("chardev: socket: no port given".to_owned());
    }
    if path.is_none() && host.is_none() {
        let fd = fd.unwrap_or_default();
        if fd.parse::<i32>().is_err() {
            return Err(format!("Unable to parse FD number {fd}"));
        }
    }
    let flag = |key: &str| {
        properties
            .get(key)
            .and_then(Value::as_str)
            .and_then(parse_bool)
    };
    // QEMU checks the address type first.
    if path.is_none() && host.is_none() && properties.contains_key("reconnect") {
        return Err("'reconnect' option is incompatible with 'fd' address type".to_owned());
    }
    if flag("server") == Some(true) && properties.contains_key("reconnect") {
        return Err(
            "'reconnect' option is incompatible with socket in server listen mode".to_owned(),
        );
    }
    Ok(())
}

/// How a legacy chardev string failed: QEMU reports the first message (if
/// any), then the caller's own consequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatError(pub Option<String>);

/// Converts a legacy chardev string (`stdio`, `mon:stdio`, `file:PATH`,
/// `unix:PATH,server=on`, `tcp:HOST:PORT,...`, `/dev/ttyS0`, ...) into
/// chardev options with the given id. `chardev:ID` is handled by callers.
pub fn parse_compat(
    spec: &str,
    id: &str,
    location: &str,
    permit_mux_monitor: bool,
) -> Result<ChardevOptions, CompatError> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut rest = spec;
    if let Some(after) = spec.strip_prefix("mon:") {
        if !permit_mux_monitor {
            return Err(CompatError(Some(
                "mon: isn't supported in this context".to_owned(),
            )));
        }
        rest = after;
        entries.push(("mux".into(), "on".into()));
        if rest == "stdio" {
            entries.push(("signal".into(), "off".into()));
        }
    }
    let backend = |name: &str| ("backend".to_owned(), name.to_owned());
    if matches!(
        rest,
        "null" | "pty" | "stdio" | "msmouse" | "wctablet" | "braille" | "testdev"
    ) {
        entries.push(backend(rest));
    } else if rest == "con:" {
        entries.push(backend("console"));
    } else if rest.starts_with("COM") {
        entries.push(backend("serial"));
        entries.push(("path".into(), rest.into()));
    } else if rest.starts_with("udp:") {
        entries.push(backend("udp"));
    } else if let Some(path) = rest.strip_prefix("file:") {
        entries.push(backend("file"));
        entries.push(("path".into(), path.into()));
    } else if let Some(path) = rest.strip_prefix("pipe:") {
        entries.push(backend("pipe"));
        entries.push(("path".into(), path.into()));
    } else if let Some(address) = ["tcp:", "telnet:", "tn3270:", "websocket:"]
        .iter()
        .find_map(|prefix| rest.strip_prefix(prefix))
    {
        let (host_port, options) = match address.find(',') {
            Some(comma) => (&address[..comma], Some(&address[comma + 1..])),
            None => (address, None),
        };
        let Some((host, port)) = host_port.split_once(':') else {
            return Err(CompatError(None));
        };
        if port.is_empty() || host.len() > 64 || port.len() > 32 {
            return Err(CompatError(None));
        }
        entries.push(backend("socket"));
        entries.push(("host".into(), host.into()));
        entries.push(("port".into(), port.into()));
        if let Some(options) = options {
            entries.extend(parse_qemu_opts(options, None, false).entries);
        }
        for flag in ["telnet", "tn3270", "websocket"] {
            if rest.starts_with(&format!("{flag}:")) {
                entries.push((flag.to_owned(), "on".to_owned()));
            }
        }
    } else if let Some(path_and_options) = rest.strip_prefix("unix:") {
        entries.push(backend("socket"));
        entries.extend(parse_qemu_opts(path_and_options, Some("path"), false).entries);
    } else if rest.starts_with("/dev/parport") || rest.starts_with("/dev/ppi") {
        entries.push(backend("parallel"));
        entries.push(("path".into(), rest.into()));
    } else if rest.starts_with("/dev/") {
        entries.push(backend("serial"));
        entries.push(("path".into(), rest.into()));
    } else {
        return Err(CompatError(Some(format!(
            "'{spec}' is not a valid char driver"
        ))));
    }
    let opts = QemuOpts {
        entries,
        ..QemuOpts::default()
    };
    chardev_from_opts(&opts, Some(id), location).map_err(|message| CompatError(Some(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_strings_become_chardevs() {
        let c = parse_compat("mon:stdio", "serial0", "-serial mon:stdio", true).unwrap();
        assert_eq!(c.backend, "stdio");
        assert_eq!(c.properties["mux"], "on");
        assert_eq!(c.properties["signal"], "off");
        let c = parse_compat("unix:/tmp/s,server,nowait", "serial0", "", true).unwrap();
        assert_eq!(c.properties["path"], "/tmp/s");
        assert_eq!(c.properties["server"], "on");
        assert_eq!(c.properties["wait"], "off");
        let c = parse_compat("tcp::4444,server=on", "serial0", "", true).unwrap();
        assert_eq!(
            (c.properties["host"].as_str(), c.properties["port"].as_str()),
            (Some(""), Some("4444"))
        );
        // QEMU 7.2: `-serial tcp:abc` fails silently before its consequence.
        assert_eq!(
            parse_compat("tcp:abc", "serial0", "", true),
            Err(CompatError(None))
        );
        assert_eq!(
            parse_compat("bogus:xx", "compat_monitor0", "", true),
            Err(CompatError(Some(
                "'bogus:xx' is not a valid char driver".to_owned()
            )))
        );
        assert_eq!(
            parse_compat("unix:/x,bogus=1", "serial0", "", true),
            Err(CompatError(Some("Invalid parameter 'bogus'".to_owned())))
        );
    }
}

//! `query-chardev`, `chardev-add` and `chardev-remove`, with QEMU 7.2's
//! defaults and errors. A backend given over QMP becomes the same
//! `ChardevOptions` the command line produces and is opened by the same
//! code; what differs is QMP's own: a socket listens unless `server` is
//! false and then does not wait, and an `fd` address names a descriptor
//! passed to this monitor with `getfd`.

use std::os::fd::{AsRawFd, IntoRawFd};

use qapi::types::{ChardevBackend, ChardevInfo, ChardevReturn, ChardevSocket, SocketAddressLegacy};
use qapi::QmpError;
use serde_json::Value;

use crate::chardev::{is_socket, ChardevSet};
use crate::monitor::fds::MonitorFds;
use crate::vl::description::{ChardevOptions, Dict};

/// Every chardev, in the order they were created.
pub fn query_chardev(chardevs: &ChardevSet) -> Vec<ChardevInfo> {
    chardevs
        .list()
        .into_iter()
        .map(|c| ChardevInfo {
            label: c.label,
            filename: c.filename,
            frontend_open: c.frontend_open,
        })
        .collect()
}

pub fn chardev_add(
    chardevs: &mut ChardevSet,
    monitor_fds: &mut MonitorFds,
    id: String,
    backend: ChardevBackend,
) -> Result<ChardevReturn, QmpError> {
    if chardevs.contains(&id) {
        return Err(QmpError::generic(format!(
            "Chardev with id '{id}' already exists"
        )));
    }
    let failed =
        |message: String| QmpError::generic(format!("Failed to add chardev '{id}': {message}"));
    let is_pty = matches!(backend, ChardevBackend::Pty(_));
    let options = chardev_options(&id, backend, monitor_fds).map_err(failed)?;
    chardevs
        .add(&options, None)
        .map_err(|e| failed(e.to_string()))?;
    // QEMU answers with the pty's path, its filename after `pty:`.
    let pty = is_pty
        .then(|| chardevs.filename(&id))
        .flatten()
        .and_then(|name| name.strip_prefix("pty:").map(str::to_string));
    Ok(ChardevReturn { pty })
}

pub fn chardev_remove(chardevs: &mut ChardevSet, id: &str) -> Result<(), QmpError> {
    chardevs
        .remove(id)
        .map_err(|e| QmpError::generic(e.to_string()))
}

/// The backend as the options the command line would give for it.
fn chardev_options(
    id: &str,
    backend: ChardevBackend,
    monitor_fds: &mut MonitorFds,
) -> Result<ChardevOptions, String> {
    let mut properties = Dict::new();
    let mut set = |key: &str, value: Value| {
        properties.insert(key.to_string(), value);
    };
    let kind = match backend {
        ChardevBackend::Null(common) => {
            check_log(common.data.logfile.as_deref())?;
            "null"
        }
        ChardevBackend::Pty(common) => {
            check_log(common.data.logfile.as_deref())?;
            "pty"
        }
        ChardevBackend::File(file) => {
            let file = file.data;
            check_log(file.logfile.as_deref())?;
            if file.r#in.is_some() {
                return Err("'in' is not supported for file chardevs".to_string());
            }
            set("path", Value::String(file.out));
            if let Some(append) = file.append {
                set("append", Value::Bool(append));
            }
            "file"
        }
        ChardevBackend::Pipe(pipe) => {
            check_log(pipe.data.logfile.as_deref())?;
            set("path", Value::String(pipe.data.device));
            "pipe"
        }
        ChardevBackend::Stdio(stdio) => {
            check_log(stdio.data.logfile.as_deref())?;
            if let Some(signal) = stdio.data.signal {
                set("signal", Value::Bool(signal));
            }
            "stdio"
        }
        ChardevBackend::Ringbuf(ringbuf) => {
            check_log(ringbuf.data.logfile.as_deref())?;
            if let Some(size) = ringbuf.data.size {
                // QEMU's test of a power of two fails every negative size.
                let size = u64::try_from(size)
                    .map_err(|_| "size of ringbuf chardev must be power of two".to_string())?;
                set("size", Value::from(size));
            }
            "ringbuf"
        }
        ChardevBackend::Socket(socket) => {
            socket_properties(socket.data, monitor_fds, &mut set)?;
            "socket"
        }
        ChardevBackend::Mux(_) => {
            return Err("'mux' chardevs cannot be added at run time".to_string());
        }
    };
    Ok(ChardevOptions {
        id: id.to_string(),
        backend: kind.to_string(),
        properties,
        location: String::new(),
    })
}

fn check_log(logfile: Option<&str>) -> Result<(), String> {
    match logfile {
        Some(_) => Err("'logfile' is not supported for chardevs".to_string()),
        None => Ok(()),
    }
}

/// `socket`: QEMU's checks of QMP's options, in its order, then the
/// properties the socket backend reads.
fn socket_properties(
    socket: ChardevSocket,
    monitor_fds: &mut MonitorFds,
    set: &mut impl FnMut(&str, Value),
) -> Result<(), String> {
    check_log(socket.logfile.as_deref())?;
    // Over QMP a socket listens unless told otherwise.
    let server = socket.server.unwrap_or(true);
    if let SocketAddressLegacy::Fd(_) = &socket.addr {
        if socket.reconnect.is_some() {
            return Err("'reconnect' option is incompatible with 'fd' address type".to_string());
        }
        if socket.tls_creds.is_some() && !server {
            return Err(
                "'tls_creds' option is incompatible with 'fd' address type as client".to_string(),
            );
        }
    }
    if socket.tls_authz.is_some() && socket.tls_creds.is_none() {
        return Err("'tls_authz' option requires 'tls_creds' option".to_string());
    }
    if server {
        if socket.reconnect.is_some() {
            return Err(
                "'reconnect' option is incompatible with socket in server listen mode".to_string(),
            );
        }
    } else {
        if socket.websocket == Some(true) {
            return Err("Websocket client is not implemented".to_string());
        }
        if socket.wait.is_some() {
            return Err(
                "'wait' option is incompatible with socket in client connect mode".to_string(),
            );
        }
    }
    // No TLS credentials objects exist here.
    if let Some(creds) = &socket.tls_creds {
        return Err(format!("No TLS credentials with id '{creds}'"));
    }

    set("server", Value::Bool(server));
    if server {
        // Over QMP a server does not wait for its client unless asked.
        set("wait", Value::Bool(socket.wait.unwrap_or(false)));
    }
    for (key, value) in [
        ("nodelay", socket.nodelay),
        ("telnet", socket.telnet),
        ("tn3270", socket.tn3270),
        ("websocket", socket.websocket),
    ] {
        if let Some(value) = value {
            set(key, Value::Bool(value));
        }
    }
    if let Some(reconnect) = socket.reconnect {
        set("reconnect", Value::from(reconnect));
    }
    match socket.addr {
        SocketAddressLegacy::Unix(unix) => {
            let unix = unix.data;
            set("path", Value::String(unix.path));
            if let Some(abstract_name) = unix.r#abstract {
                set("abstract", Value::Bool(abstract_name));
            }
            if let Some(tight) = unix.tight {
                set("tight", Value::Bool(tight));
            }
        }
        SocketAddressLegacy::Inet(inet) => {
            let inet = inet.data;
            set("host", Value::String(inet.host));
            set("port", Value::String(inet.port));
            for (key, value) in [("ipv4", inet.ipv4), ("ipv6", inet.ipv6)] {
                if let Some(value) = value {
                    set(key, Value::Bool(value));
                }
            }
        }
        SocketAddressLegacy::Vsock(_) => {
            return Err("vsock addresses are not supported".to_string());
        }
        SocketAddressLegacy::Fd(name) => {
            let name = name.data.str;
            let fd = monitor_fds
                .take(&name)
                .ok_or_else(|| format!("File descriptor named '{name}' has not been found"))?;
            if !is_socket(fd.as_raw_fd()) {
                return Err(format!("File descriptor '{name}' is not a socket"));
            }
            // The socket backend takes the descriptor over by number.
            set("fd", Value::String(fd.into_raw_fd().to_string()));
        }
    }
    Ok(())
}

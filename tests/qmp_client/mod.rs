//! A small QMP client for the tests: starts an emulator with a QMP socket,
//! talks raw bytes to it, and masks what differs from host to host.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a reply may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to listen to be sure nothing more comes.
pub const QUIET: Duration = Duration::from_millis(300);

/// A private directory for one test's sockets.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rqemu-qmp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// An emulator process, killed when dropped.
pub struct Vm {
    pub child: Child,
}

impl Vm {
    /// Starts `program` with `args` (which set up the monitors) and waits
    /// until `socket` exists.
    pub fn start(program: &str, args: &[String], socket: &Path) -> Vm {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let vm = Vm { child };
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < REPLY_TIMEOUT,
                "{program} made no {socket:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
        vm
    }

    /// Waits for the process to end; returns its status and stderr.
    pub fn wait(mut self, timeout: Duration) -> (ExitStatus, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return (status, stderr);
            }
            assert!(start.elapsed() < timeout, "process still running");
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill() on the child this test started.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A machine of type `machine` on KVM with no default devices and no
/// display, then `extra`: how the monitor tests start an emulator.
pub fn machine_args(machine: &str, extra: &[&str]) -> Vec<String> {
    [
        "-machine",
        machine,
        "-accel",
        "kvm",
        "-nodefaults",
        "-display",
        "none",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect()
}

/// Starts `program` with `args` and a QMP monitor on `socket`; returns it
/// with a client that negotiated capabilities.
pub fn start_with_qmp(program: &str, args: &[String], socket: &Path) -> (Vm, Client) {
    let mut all = args.to_vec();
    all.extend(qmp_socket_args("-qmp", socket));
    let vm = Vm::start(program, &all, socket);
    let client = Client::negotiated(socket);
    (vm, client)
}

/// `-qmp unix:SOCKET,server=on,wait=off` as arguments.
pub fn qmp_socket_args(option: &str, socket: &Path) -> Vec<String> {
    vec![
        option.to_string(),
        format!("unix:{},server=on,wait=off", socket.display()),
    ]
}

/// One connection to a QMP socket.
pub struct Client {
    pub stream: UnixStream,
}

impl Client {
    /// Connects, retrying while the socket file exists but nobody listens
    /// on it yet (between the server's bind and listen).
    pub fn connect(socket: &Path) -> Client {
        let start = Instant::now();
        loop {
            match UnixStream::connect(socket) {
                Ok(stream) => return Client { stream },
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionRefused
                        && start.elapsed() < REPLY_TIMEOUT =>
                {
                    thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("connect to the QMP socket {socket:?}: {e}"),
            }
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to the monitor");
    }

    /// Reads until `lines` CRLF-ended lines came (or the peer closed).
    pub fn read_lines(&mut self, lines: usize) -> Vec<u8> {
        self.read_lines_within(lines, REPLY_TIMEOUT)
    }

    /// `read_lines`, waiting up to `timeout`.
    pub fn read_lines_within(&mut self, lines: usize, timeout: Duration) -> Vec<u8> {
        let mut out = Vec::new();
        let start = Instant::now();
        while count_lines(&out) < lines {
            let left = timeout.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero(),
                "no reply; got {:?}",
                String::from_utf8_lossy(&out)
            );
            if self.read_some(&mut out, left) == Some(0) {
                break;
            }
        }
        out
    }

    /// Whatever arrives within `wait`.
    pub fn read_for(&mut self, wait: Duration) -> Vec<u8> {
        let mut out = Vec::new();
        let start = Instant::now();
        while let Some(left) = wait.checked_sub(start.elapsed()) {
            if left.is_zero() || self.read_some(&mut out, left) == Some(0) {
                break;
            }
        }
        out
    }

    /// Reads until the monitor closes the connection.
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        self.read_to_eof_within(REPLY_TIMEOUT)
    }

    /// Reads until the monitor closes the connection, for up to `timeout`.
    pub fn read_to_eof_within(&mut self, timeout: Duration) -> Vec<u8> {
        let mut out = Vec::new();
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            assert!(!left.is_zero(), "no end of stream");
            if self.read_some(&mut out, left) == Some(0) {
                return out;
            }
        }
    }

    /// One read; `Some(0)` at the end of the stream, `None` on a timeout.
    fn read_some(&mut self, out: &mut Vec<u8>, wait: Duration) -> Option<usize> {
        let mut buf = [0u8; 65536];
        self.stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .expect("read timeout");
        match self.stream.read(&mut buf) {
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                Some(n)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Some(0),
            Err(e) => panic!("read from the monitor: {e}"),
        }
    }

    /// Sends `request` and reads `lines` reply lines.
    pub fn exchange(&mut self, request: &str, lines: usize) -> String {
        self.send(request.as_bytes());
        String::from_utf8_lossy(&self.read_lines(lines)).into_owned()
    }

    /// Connects, reads the greeting and negotiates capabilities.
    pub fn negotiated(socket: &Path) -> Client {
        let mut client = Client::connect(socket);
        client.read_lines(1);
        let mut reply = client.exchange(r#"{"execute":"qmp_capabilities"}"#, 1);
        // QEMU 7.2 greets twice a client that connects while its monitor is
        // still being set up (the chardev's "opened" is sent both when the
        // handlers are installed and when the connection is accepted).
        while reply.starts_with("{\"QMP\"") {
            reply = String::from_utf8_lossy(&client.read_lines(1)).into_owned();
        }
        assert_eq!(reply, "{\"return\": {}}\r\n");
        client
    }
}

pub fn count_lines(bytes: &[u8]) -> usize {
    bytes.windows(2).filter(|w| w == b"\r\n").count()
}

/// `text` with what depends on the host and the moment masked: event
/// timestamps, vCPU thread ids, the QEMU version numbers and the package
/// string.
pub fn mask(text: &str) -> String {
    let mut out = text.to_string();
    for key in [
        "\"seconds\": ",
        "\"microseconds\": ",
        "\"thread-id\": ",
        "\"micro\": ",
        "\"minor\": ",
        "\"major\": ",
    ] {
        out = mask_after(&out, key, |rest| {
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len())
        });
    }
    mask_after(&out, "\"package\": \"", |rest| {
        rest.find('"').unwrap_or(rest.len())
    })
}

/// Replaces what follows each `key` (as long as `length` says) by `N`.
fn mask_after(text: &str, key: &str, length: impl Fn(&str) -> usize) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        out.push_str(&rest[..at + key.len()]);
        rest = &rest[at + key.len()..];
        out.push('N');
        rest = &rest[length(rest)..];
    }
    out.push_str(rest);
    out
}

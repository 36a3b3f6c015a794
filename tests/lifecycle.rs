//! Process lifecycle as QEMU 7.2 has it: termination signals, -daemonize
//! with -pidfile, vCPU thread names, -no-reboot and -no-shutdown, and
//! serial ports on socket and pty chardevs.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    boot_args, guest, run, serial_on, spawn, Guest, BOOT_TIMEOUT, GUEST_SUCCESS, QEMU, RQEMU,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rqemu-lifecycle-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn kill(pid: u32, signal: i32) {
    // SAFETY: kill() with a pid this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

/// The message QEMU prints for a termination signal, with the sender's pid
/// and name taken out (they differ from run to run).
fn signal_message(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .find(|l| l.contains("terminating on signal"))?;
    let (head, _) = line.split_once(" from pid ")?;
    Some(head.to_string())
}

/// SIGTERM and SIGINT end a stopped machine with status 0 and the same
/// message as QEMU 7.2's, naming the signal and its sender.
#[test]
fn termination_signals_print_qemus_message_and_exit_0() {
    for (signal, number) in [(libc::SIGTERM, 15), (libc::SIGINT, 2)] {
        let mut results = Vec::new();
        for program in [RQEMU, QEMU] {
            let mut args = boot_args("pc", "128", &guest(Guest::Pvh32));
            args.extend(["-S".to_string(), "-accel".to_string(), "kvm".to_string()]);
            let child = spawn(program, &args);
            thread::sleep(Duration::from_millis(1500));
            kill(child.id(), signal);
            let output = child.wait_with_output().expect("wait");
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert_eq!(output.status.code(), Some(0), "{program}: {stderr}");
            let line = stderr
                .lines()
                .find(|l| l.contains("terminating"))
                .unwrap_or_default()
                .to_string();
            let expected_tail = format!("from pid {} (", std::process::id());
            assert!(line.contains(&expected_tail), "{program}: {line}");
            results.push(signal_message(&stderr));
        }
        assert_eq!(
            results[0],
            Some(format!(
                "qemu-system-x86_64: terminating on signal {number}"
            ))
        );
        assert_eq!(results[0], results[1], "ours and QEMU's differ");
    }
}

/// -daemonize returns once the machine is set up, leaving the daemon's pid
/// in the pidfile and its listening socket in place; SIGTERM ends it and
/// removes both.
#[test]
fn daemonize_returns_when_ready_and_cleans_up_at_exit() {
    let dir = scratch("daemon");
    let pidfile = dir.join("vm.pid");
    let socket = dir.join("console.sock");
    // The serial port goes to a socket: a daemon has no stdio.
    let mut args = serial_on(
        boot_args("pc", "128", &guest(Guest::Pvh32)),
        "chardev:con".to_string(),
    );
    args.extend(
        [
            "-chardev",
            &format!("socket,id=con,path={},server=on,wait=off", socket.display()),
            "-S",
            "-daemonize",
            "-pidfile",
            pidfile.to_str().expect("utf-8"),
        ]
        .map(String::from),
    );
    let parent = run(RQEMU, &args, BOOT_TIMEOUT);
    assert_eq!(parent.code(), Some(0), "{}", parent.stderr);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("pidfile written before the parent returned")
        .trim()
        .parse()
        .expect("a pid");
    assert!(
        socket.exists(),
        "the socket listens before the parent returns"
    );
    UnixStream::connect(&socket).expect("the daemon accepts connections");
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists(), "daemon running");
    kill(pid, libc::SIGTERM);
    wait_for("the daemon to exit", || !proc_dir.exists());
    wait_for("the pidfile to go", || !pidfile.exists());
    assert!(!socket.exists(), "socket file removed at exit");
}

/// With `debug-threads=on` vCPU threads are named `CPU n/KVM`.
#[test]
fn debug_threads_names_vcpu_threads() {
    let mut args = boot_args("pc", "128", &guest(Guest::Pvh32));
    args.extend(["-S", "-smp", "2", "-name", "guest=vm,debug-threads=on"].map(String::from));
    let mut child = spawn(RQEMU, &args);
    let tasks = PathBuf::from(format!("/proc/{}/task", child.id()));
    let names = || -> Vec<String> {
        std::fs::read_dir(&tasks)
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
                    .map(|n| n.trim().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for("the vCPU threads", || {
        names().iter().filter(|n| n.ends_with("/KVM")).count() == 2
    });
    let mut vcpus: Vec<String> = names()
        .into_iter()
        .filter(|n| n.ends_with("/KVM"))
        .collect();
    vcpus.sort();
    assert_eq!(vcpus, ["CPU 0/KVM", "CPU 1/KVM"]);
    let _ = child.kill();
    let _ = child.wait();
}

/// -no-reboot turns the guest's reset into a shutdown (status 0 after the
/// first boot); with -no-shutdown as well the process stays, stopped.
#[test]
fn no_reboot_and_no_shutdown() {
    let mut args = boot_args("pc", "128", &guest(Guest::ResetI8042));
    args.push("-no-reboot".into());
    let (ours, qemu) = common::run_both(&args);
    assert_eq!(qemu.code(), Some(0), "QEMU: {qemu:?}");
    assert_eq!(ours.code(), Some(0), "ours: {ours:?}");
    assert_eq!(ours.stdout, qemu.stdout);

    args.push("-no-shutdown".into());
    let mut child = spawn(RQEMU, &args);
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first_boot = String::new();
    let mut buf = [0u8; 256];
    wait_for("the first boot's output", || {
        let n = stdout.read(&mut buf).unwrap_or(0);
        first_boot.push_str(&String::from_utf8_lossy(&buf[..n]));
        first_boot.contains("reset")
    });
    thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "-no-shutdown keeps the process"
    );
    kill(child.id(), libc::SIGTERM);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

/// A serial port on a unix socket server: the guest's output reaches the
/// client that connects, and with wait=on the guest waits for it.
#[test]
fn serial_on_a_socket_server() {
    let dir = scratch("socket");
    let socket = dir.join("serial.sock");
    let mut args = serial_on(
        boot_args("pc", "128", &guest(Guest::Pvh32)),
        "chardev:s".to_string(),
    );
    args.extend([
        "-chardev".to_string(),
        format!("socket,id=s,path={},server=on,wait=on", socket.display()),
    ]);
    let child = Command::new(RQEMU)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The file appears at bind, before the server listens: retry.
    let mut connection = None;
    wait_for("the socket to listen", || {
        connection = UnixStream::connect(&socket).ok();
        connection.is_some()
    });
    let mut client = connection.expect("connected");
    let mut output = String::new();
    client
        .read_to_string(&mut output)
        .expect("read until the VM exits");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(GUEST_SUCCESS));
    assert!(output.starts_with("Hello from a PVH guest!"), "{output}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "info: QEMU waiting for connection on: disconnected:unix:{},server=on",
            socket.display()
        )),
        "{stderr}"
    );
}

/// A pty serial port is announced on stdout in QEMU's words, with the
/// serial port's label.
#[test]
fn serial_on_a_pty() {
    let mut args = serial_on(
        boot_args("pc", "128", &guest(Guest::Pvh32)),
        "pty".to_string(),
    );
    args.push("-S".into());
    let mut child = spawn(RQEMU, &args);
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("announcement");
    let pts = line
        .strip_prefix("char device redirected to ")
        .and_then(|rest| rest.strip_suffix(" (label serial0)\n"))
        .unwrap_or_else(|| panic!("unexpected announcement {line:?}"));
    assert!(pts.starts_with("/dev/pts/"), "{pts}");
    kill(child.id(), libc::SIGTERM);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

/// A start that fails after the pidfile and a listening socket were made
/// leaves neither behind.
#[test]
fn failed_start_leaves_no_pidfile_or_socket() {
    let dir = scratch("failed");
    let pidfile = dir.join("vm.pid");
    let socket = dir.join("s.sock");
    let mut args = boot_args("pc", "128", &guest(Guest::Pvh32));
    args.extend([
        "-pidfile".to_string(),
        pidfile.display().to_string(),
        "-chardev".to_string(),
        format!("socket,id=s,path={},server=on,wait=off", socket.display()),
        "-cpu".to_string(),
        "nosuchcpu".to_string(),
    ]);
    let out = run(RQEMU, &args, BOOT_TIMEOUT);
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr.contains("unable to find CPU model 'nosuchcpu'"),
        "{}",
        out.stderr
    );
    assert!(!pidfile.exists(), "stale pidfile");
    assert!(!socket.exists(), "stale socket");
}

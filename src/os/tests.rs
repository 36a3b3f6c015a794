//! Lifecycle checks against QEMU 7.2 itself (pidfile locking is checked
//! with a real QEMU holding or wanting the same file) and against real
//! processes (signal senders, forked daemons).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::daemon::daemonize_start;
use super::pidfile::Pidfile;
use super::signals;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rqemu-os-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn qemu_with_pidfile(path: &Path) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-machine",
        "none",
        "-display",
        "none",
        "-nodefaults",
        "-S",
        "-pidfile",
    ])
    .arg(path)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn pidfile_held_by_qemu_cannot_be_taken() {
    let path = temp_dir("pid-qemu").join("pid");
    let mut qemu = qemu_with_pidfile(&path).spawn().unwrap();
    let qemu_pid = format!("{}\n", qemu.id());
    assert!(wait_for(
        || std::fs::read_to_string(&path).ok().as_deref() == Some(&qemu_pid)
    ));
    let err = Pidfile::create(&path).err().map(|e| e.to_string());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(qemu.id() as i32, libc::SIGTERM) };
    qemu.wait().unwrap();
    assert_eq!(
        err.as_deref(),
        Some("cannot create PID file: Cannot lock pid file: Resource temporarily unavailable")
    );
}

#[test]
fn pidfile_we_hold_stops_qemu_and_holds_our_pid() {
    let path = temp_dir("pid-ours").join("pid");
    let _pidfile = Pidfile::create(&path).unwrap();
    let mut qemu = qemu_with_pidfile(&path).spawn().unwrap();
    let mut status = None;
    let exited = wait_for(|| {
        status = qemu.try_wait().unwrap();
        status.is_some()
    });
    if !exited {
        let _ = qemu.kill();
        let _ = qemu.wait();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(1));
    let mut stderr = String::new();
    qemu.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        stderr,
        "qemu-system-x86_64: cannot create PID file: Cannot lock pid file: Resource temporarily unavailable\n"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Last: opening and closing the file drops this process's fcntl lock.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", std::process::id())
    );
}

#[test]
fn pidfile_in_missing_directory_fails_as_qemu() {
    // qemu-system-x86_64 -pidfile /nonexistent/pid
    assert_eq!(
        Pidfile::create(Path::new("/nonexistent/pid"))
            .err()
            .unwrap()
            .to_string(),
        "cannot create PID file: Could not create '/nonexistent/pid': No such file or directory"
    );
}

#[test]
fn termination_signal_names_its_sender_as_qemu_does() {
    let mut source = signals::install().unwrap();
    let mut poll = mio::Poll::new().unwrap();
    poll.registry()
        .register(&mut source, mio::Token(7), mio::Interest::READABLE)
        .unwrap();
    // QEMU names the sender by argv[0] (checked: `exec -a /x/fakename kill`
    // gives "(/x/fakename)"). This sender stays alive until we looked.
    let mut sender = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec -a /x/fakename bash -c 'kill -TERM {}; read line'",
            std::process::id()
        ))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let sender_pid = sender.id() as i32;
    let mut events = mio::Events::with_capacity(4);
    poll.poll(&mut events, Some(Duration::from_secs(5)))
        .unwrap();
    assert!(events.iter().any(|e| e.token() == mio::Token(7)));
    let signal = source.take();
    let _ = sender.kill();
    let _ = sender.wait();
    let signal = signal.unwrap();
    assert_eq!(signal.signal, libc::SIGTERM);
    assert_eq!(signal.sender_pid, sender_pid);
    assert_eq!(
        signal.to_string(),
        format!("terminating on signal 15 from pid {sender_pid} (/x/fakename)")
    );
    assert_eq!(source.take(), None);
}

/// Forks a process that daemonizes; the daemon runs `daemon_body` and
/// `_exit`s with its result. Returns the forked process's exit status,
/// which is what the shell that ran QEMU sees.
fn run_daemonizing_child(daemon_body: impl FnOnce(super::daemon::DaemonChild) -> i32) -> i32 {
    // SAFETY: the child only daemonizes, runs the body and _exits.
    match unsafe { libc::fork() } {
        0 => {
            let code = match daemonize_start() {
                Ok(child) => daemon_body(child),
                Err(_) => 2,
            };
            // SAFETY: ends the forked test process without running the
            // harness's cleanup.
            unsafe { libc::_exit(code) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert!(libc::WIFEXITED(status));
            libc::WEXITSTATUS(status)
        }
    }
}

#[test]
fn daemonize_reports_success_after_finish_and_detaches() {
    let report = temp_dir("daemon-ok").join("report");
    let report_in_daemon = report.clone();
    let status = run_daemonizing_child(move |child| {
        // -daemonize -chardev stdio,id=c
        let stdio = crate::chardev::open(
            &crate::vl::description::ChardevOptions {
                id: "c".into(),
                backend: "stdio".into(),
                properties: Default::default(),
                location: String::new(),
            },
            None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        if child.finish().is_err() {
            return 3;
        }
        // SAFETY: plain queries.
        let (pid, sid) = unsafe { (libc::getpid(), libc::getsid(0)) };
        let cwd = std::env::current_dir().unwrap_or_default();
        let stdin = std::fs::read_link("/proc/self/fd/0").unwrap_or_default();
        let text = format!("{pid}|{sid}|{}|{}|{stdio}", cwd.display(), stdin.display());
        // Written aside and renamed, so the test never reads half of it.
        let partial = report_in_daemon.with_extension("partial");
        let _ = std::fs::write(&partial, text);
        let _ = std::fs::rename(&partial, &report_in_daemon);
        0
    });
    assert_eq!(status, 0);
    assert!(wait_for(|| report.exists()));
    let mut text = String::new();
    std::fs::File::open(&report)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let fields: Vec<&str> = text.split('|').collect();
    assert_eq!(fields.len(), 5, "{text}");
    // As QEMU's daemon: in a new session it does not lead (double fork),
    // in /, stdin on /dev/null.
    assert_ne!(fields[0], fields[1]);
    // SAFETY: plain query.
    assert_ne!(fields[1], unsafe { libc::getsid(0) }.to_string());
    assert_eq!(fields[2], "/");
    assert_eq!(fields[3], "/dev/null");
    // qemu-system-x86_64 -daemonize -chardev stdio,id=c
    assert_eq!(fields[4], "cannot use stdio with -daemonize");
}

#[test]
fn daemonize_fails_when_the_daemon_dies_before_finishing() {
    let status = run_daemonizing_child(|child| {
        drop(child);
        1
    });
    assert_eq!(status, 1);
}

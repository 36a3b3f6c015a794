//! A QMP monitor on a client socket with `reconnect=1`, run against
//! rqemu and QEMU 7.2 side by side: started before its server listens,
//! it reports the failed attempt and keeps trying; once the server
//! listens it connects and greets, and after the server drops the
//! connection it comes back a second later and greets again. A second,
//! ordinary monitor watches `query-chardev` meanwhile. The transcripts,
//! stderr included, are compared byte for byte with the scratch
//! directory, versions and pids masked.

mod common;
mod qmp_client;

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{QEMU, RQEMU};
use qmp_client::{machine_args, mask, qmp_socket_args, scratch, Client, Vm, REPLY_TIMEOUT};

/// `text` with the scratch directory and the pid in QEMU's termination
/// message masked.
fn masked(text: &str, dir: &Path) -> String {
    let text = mask(text).replace(&dir.display().to_string(), "DIR");
    match text.find("from pid ") {
        Some(at) => {
            let digits = &text[at + 9..];
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            format!("{}from pid N{}", &text[..at], &digits[end..])
        }
        None => text,
    }
}

/// Waits for the reconnecting monitor to connect to `listener`.
fn accept(listener: &UnixListener) -> Client {
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return Client { stream };
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < REPLY_TIMEOUT, "no connection came");
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn query_chardev(client: &mut Client) -> String {
    client.exchange(r#"{"execute":"query-chardev"}"#, 1)
}

fn scenario(program: &str, dir: &Path) -> Vec<String> {
    let watcher_socket = dir.join("watch.sock");
    let server_socket = dir.join("server.sock");
    let mut args = machine_args("none", &["-S"]);
    args.extend(qmp_socket_args("-qmp", &watcher_socket));
    args.push("-qmp".to_string());
    args.push(format!("unix:{},reconnect=1", server_socket.display()));
    let vm = Vm::start(program, &args, &watcher_socket);
    let mut watcher = Client::negotiated(&watcher_socket);
    let mut log = Vec::new();

    // No server yet: the first attempt fails (reported on stderr).
    thread::sleep(Duration::from_millis(300));
    log.push(format!("no server: {}", query_chardev(&mut watcher)));

    let listener = UnixListener::bind(&server_socket).unwrap();
    let mut monitor = accept(&listener);
    log.push(format!(
        "greeting: {}",
        String::from_utf8_lossy(&monitor.read_lines(1))
    ));
    log.push(monitor.exchange(r#"{"execute":"qmp_capabilities"}"#, 1));
    log.push(format!("connected: {}", query_chardev(&mut monitor)));

    // The server drops the connection.
    drop(monitor);
    let dropped = Instant::now();
    let disconnected = format!("disconnected:unix:{}\"", server_socket.display());
    let mut reply = query_chardev(&mut watcher);
    while !reply.contains(&disconnected) && dropped.elapsed() < REPLY_TIMEOUT {
        thread::sleep(Duration::from_millis(20));
        reply = query_chardev(&mut watcher);
    }
    log.push(format!("dropped: {reply}"));

    let mut monitor = accept(&listener);
    log.push(format!(
        "came back after the interval: {}",
        dropped.elapsed() >= Duration::from_millis(900)
    ));
    log.push(format!(
        "greeting again: {}",
        String::from_utf8_lossy(&monitor.read_lines(1))
    ));
    log.push(monitor.exchange(r#"{"execute":"qmp_capabilities"}"#, 1));

    vm.signal(libc::SIGTERM);
    let (status, stderr) = vm.wait(REPLY_TIMEOUT);
    log.push(format!("exit: {:?}, stderr:\n{stderr}", status.code()));
    log.into_iter().map(|line| masked(&line, dir)).collect()
}

/// A chardev added over QMP with `reconnect`: QMP's answers, the
/// connection it makes once its server listens, and its removal.
fn chardev_add_scenario(program: &str, dir: &Path) -> Vec<String> {
    let watcher_socket = dir.join("watch.sock");
    let mut args = machine_args("none", &["-S"]);
    args.extend(qmp_socket_args("-qmp", &watcher_socket));
    let vm = Vm::start(program, &args, &watcher_socket);
    let mut watcher = Client::negotiated(&watcher_socket);
    let add = |id: &str, reconnect: i64| {
        format!(
            r#"{{"execute":"chardev-add","arguments":{{"id":"{id}","backend":{{"type":"socket","data":{{"addr":{{"type":"unix","data":{{"path":"{}/{id}.sock"}}}},"server":false,"reconnect":{reconnect}}}}}}}}}"#,
            dir.display()
        )
    };
    let mut log = Vec::new();
    for (id, reconnect) in [("r0", 1), ("z0", 0), ("n0", -1)] {
        log.push(watcher.exchange(&add(id, reconnect), 1));
    }
    thread::sleep(Duration::from_millis(300));
    log.push(format!("no server: {}", query_chardev(&mut watcher)));

    let listener = UnixListener::bind(dir.join("r0.sock")).unwrap();
    let mut server_end = accept(&listener);
    let start = Instant::now();
    let mut reply = query_chardev(&mut watcher);
    while reply.contains("disconnected:") && start.elapsed() < REPLY_TIMEOUT {
        thread::sleep(Duration::from_millis(20));
        reply = query_chardev(&mut watcher);
    }
    log.push(format!("connected: {reply}"));

    log.push(watcher.exchange(r#"{"execute":"chardev-remove","arguments":{"id":"r0"}}"#, 1));
    log.push(format!(
        "server end after removal: {:?}",
        server_end.read_to_eof_within(REPLY_TIMEOUT)
    ));

    vm.signal(libc::SIGTERM);
    let (status, stderr) = vm.wait(REPLY_TIMEOUT);
    log.push(format!("exit: {:?}, stderr:\n{stderr}", status.code()));
    log.into_iter().map(|line| masked(&line, dir)).collect()
}

/// Runs `scenario` on both programs at once (each waits out reconnection
/// intervals) and asserts the same transcript.
fn compare(test: &str, scenario: fn(&str, &Path) -> Vec<String>) {
    let theirs_dir = scratch(&format!("{test}-qemu"));
    let theirs = thread::spawn(move || scenario(QEMU, &theirs_dir));
    let ours = scenario(RQEMU, &scratch(&format!("{test}-ours")));
    let theirs = theirs.join().unwrap();
    assert_eq!(theirs.len(), ours.len());
    for (qemu, rqemu) in theirs.iter().zip(&ours) {
        assert_eq!(qemu, rqemu);
    }
}

#[test]
fn reconnecting_monitor_waits_greets_and_comes_back_as_qemu() {
    compare("reconnect-monitor", scenario);
}

#[test]
fn chardev_add_with_reconnect_as_qemu() {
    compare("reconnect-add", chardev_add_scenario);
}

//! QMP monitors as servers, compared with QEMU 7.2 run the same way: one
//! client at a time per socket with a greeting each, sessions reset on
//! disconnect, events to every negotiated client (before the reply of the
//! command that raised them), pretty output, stdio and inherited sockets,
//! and the run states and events of guest resets and shutdowns.

mod common;
mod qmp_client;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{boot_args, guest, Guest, QEMU, RQEMU};
use qmp_client::{
    count_lines, machine_args, mask, qmp_socket_args, scratch, start_with_qmp, Client, Vm, QUIET,
};

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn text(bytes: &[u8]) -> String {
    mask(&String::from_utf8_lossy(bytes))
}

fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Connects to a TCP monitor, which may start listening a moment after
/// the unix sockets appeared.
fn connect_tcp(port: u16) -> TcpStream {
    for _ in 0..100 {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            return stream;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("no TCP monitor on port {port}");
}

/// What the clients of transcript3-disconnect.log saw, for `program`.
fn disconnect_scenario(program: &str) -> Vec<String> {
    let dir = scratch(&format!("disconnect-{}", program.len()));
    let (a_sock, c_sock) = (dir.join("a.sock"), dir.join("c.sock"));
    let port = free_tcp_port();
    let mut args = machine_args("none", &[]);
    args.push("-S".into());
    args.extend(qmp_socket_args("-qmp", &a_sock));
    args.extend(qmp_socket_args("-qmp-pretty", &c_sock));
    args.extend([
        "-qmp".into(),
        format!("tcp:127.0.0.1:{port},server=on,wait=off"),
    ]);
    let vm = Vm::start(program, &args, &c_sock);
    let mut log = Vec::new();
    let mut note = |what: &str, bytes: &[u8]| log.push(format!("{what} {}", text(bytes)));

    let mut a = Client::connect(&a_sock);
    note("A greeting", &a.read_lines(1));
    note(
        "A caps",
        a.exchange(r#"{"execute":"qmp_capabilities"}"#, 1)
            .as_bytes(),
    );
    note("A cont", a.exchange(r#"{"execute":"cont"}"#, 2).as_bytes());
    // A second client of the same socket waits while A is connected.
    let mut b = Client::connect(&a_sock);
    note("B greeting?", &b.read_for(QUIET));
    b.send(br#"{"execute":"qmp_capabilities"}"#);
    note("B after send", &b.read_for(QUIET));
    let mut c = Client::connect(&c_sock);
    // A pretty greeting has 15 lines.
    note("C pretty greeting", &c.read_lines(15));
    c.send(br#"{"execute":"qmp_capabilities"}"#);
    note("C caps", &c.read_lines(4));
    let mut t = connect_tcp(port);
    t.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut t_lines = BufReader::new(t.try_clone().expect("clone"));
    let mut line = String::new();
    t_lines.read_line(&mut line).expect("tcp greeting");
    note("T tcp greeting", line.as_bytes());
    t.write_all(br#"{"execute":"query-status"}"#)
        .expect("tcp send");
    line.clear();
    t_lines.read_line(&mut line).expect("tcp reply");
    note("T before caps", line.as_bytes());
    note(
        "A stop",
        a.exchange(r#"{"execute":"stop","id":"a1"}"#, 2).as_bytes(),
    );
    note("C sees", &c.read_lines(7));
    t.set_read_timeout(Some(QUIET)).expect("timeout");
    line.clear();
    let _ = t_lines.read_line(&mut line);
    note("T (not negotiated) sees", line.as_bytes());
    drop(a);
    note("B after A closed", &b.read_lines(2));
    note(
        "B query-status",
        b.exchange(r#"{"execute":"query-status"}"#, 1).as_bytes(),
    );
    note(
        "B caps",
        b.exchange(r#"{"execute":"qmp_capabilities"}"#, 1)
            .as_bytes(),
    );
    drop(b);
    let mut a2 = Client::connect(&a_sock);
    note("A2 reconnect greeting", &a2.read_lines(1));
    note(
        "A2 before caps",
        a2.exchange(r#"{"execute":"query-status"}"#, 1).as_bytes(),
    );
    note(
        "A2",
        a2.exchange(
            r#"{"execute":"qmp_capabilities"}{"execute":"query-status"}"#,
            2,
        )
        .as_bytes(),
    );
    vm.signal(libc::SIGTERM);
    let mut got = a2.read_to_eof();
    got.extend_from_slice(b"<EOF>");
    note("A2 after SIGTERM", &got);
    let mut got = c.read_to_eof();
    got.extend_from_slice(b"<EOF>");
    note("C after SIGTERM", &got);
    let (status, stderr) = vm.wait(Duration::from_secs(10));
    let signal_line = stderr
        .lines()
        .find_map(|l| l.split_once(" from pid ").map(|(head, _)| head.to_string()));
    log.push(format!("exit {:?} {signal_line:?}", status.code()));
    log
}

/// transcript3-disconnect.log, run against both: the same bytes (masked)
/// at every step.
#[test]
fn disconnects_reconnects_pretty_and_events_as_qemu() {
    let ours = thread::spawn(|| disconnect_scenario(RQEMU));
    let qemu = disconnect_scenario(QEMU);
    let ours = ours.join().expect("our run");
    assert_eq!(ours, qemu);
    // And as recorded.
    let recorded = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|d| d.join("shared/reference/qemu-7.2/qmp/transcript3-disconnect.log"))
            .find(|p| p.exists())
            .expect("transcript3"),
    )
    .expect("read transcript3");
    assert!(
        recorded.contains("C sees b'{\\r\\n    \"timestamp\""),
        "{recorded}"
    );
    assert!(ours
        .iter()
        .any(|l| l.starts_with("C sees {\r\n    \"timestamp\"")));
}

/// A client that sends half a request and vanishes leaves nothing behind;
/// many clients in turn each get their own session; the machine runs on.
#[test]
fn clients_in_turn_and_half_requests() {
    for program in [RQEMU, QEMU] {
        let dir = scratch(&format!("turns-{}", program.len()));
        let socket = dir.join("q.sock");
        let mut args = machine_args("none", &[]);
        args.extend(qmp_socket_args("-qmp", &socket));
        let _vm = Vm::start(program, &args, &socket);
        {
            let mut client = Client::negotiated(&socket);
            client.send(br#"{"execute":"stop","id":"half"#);
        }
        for turn in 0..20 {
            let mut client = Client::connect(&socket);
            let greeting = text(&client.read_lines(1));
            assert!(greeting.starts_with("{\"QMP\": {\"version\""), "{greeting}");
            assert_eq!(
                client.exchange(r#"{"execute":"query-status"}"#, 1),
                "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n",
                "{program} turn {turn}"
            );
            let reply = client.exchange(
                &format!(
                    r#"{{"execute":"qmp_capabilities"}}{{"execute":"query-status","id":{turn}}}"#
                ),
                2,
            );
            assert_eq!(
                reply,
                format!("{{\"return\": {{}}}}\r\n{{\"return\": {{\"status\": \"running\", \"singlestep\": false, \"running\": true}}, \"id\": {turn}}}\r\n"),
                "{program}"
            );
            if turn % 2 == 0 {
                // Half a request again, then gone.
                client.send(br#"{"execute":"st"#);
            }
        }
    }
}

/// `-chardev stdio` and an inherited connected socket (`fd=N`, as QEMU's
/// test harness and libvirt use) are connected from the start: the
/// greeting comes at once.
#[test]
fn monitors_on_stdio_and_inherited_sockets() {
    for program in [RQEMU, QEMU] {
        let mut args = machine_args("none", &[]);
        args.extend(strings(&[
            "-chardev",
            "stdio,id=m",
            "-mon",
            "chardev=m,mode=control,pretty=on",
        ]));
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n")
            .expect("write");
        let output = child.wait_with_output().expect("wait");
        let out = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{program}");
        assert!(
            out.starts_with("{\r\n    \"QMP\": {\r\n"),
            "{program}: {out}"
        );
        assert!(
            out.ends_with("{\r\n    \"timestamp\": {\r\n        \"seconds\": N,\r\n        \"microseconds\": N\r\n    },\r\n    \"event\": \"SHUTDOWN\",\r\n    \"data\": {\r\n        \"guest\": false,\r\n        \"reason\": \"host-qmp-quit\"\r\n    }\r\n}\r\n{\r\n    \"return\": {\r\n    }\r\n}\r\n"),
            "{program}: {out}"
        );

        let (ours, theirs) = UnixStream::pair().expect("socketpair");
        let fd = theirs.as_raw_fd();
        // SAFETY: clearing FD_CLOEXEC on our own fd so the child inherits it.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        let mut args = machine_args("none", &[]);
        args.extend([
            "-chardev".to_string(),
            format!("socket,id=mon,fd={fd}"),
            "-mon".to_string(),
            "chardev=mon,mode=control".to_string(),
        ]);
        let child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(theirs);
        let vm = Vm { child };
        let mut client = Client { stream: ours };
        let greeting = text(&client.read_lines(1));
        assert_eq!(
            greeting,
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": N, \"minor\": N, \"major\": N}, \"package\": \"N\"}, \"capabilities\": [\"oob\"]}}\r\n"
        );
        client.send(b"{\"execute\":\"qmp_capabilities\"}{\"execute\":\"quit\"}");
        // Not read to the end of the stream: a child of another test may
        // hold a copy of the inherited socket.
        assert_eq!(
            text(&client.read_lines(3)),
            "{\"return\": {}}\r\n{\"timestamp\": {\"seconds\": N, \"microseconds\": N}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n{\"return\": {}}\r\n",
            "{program}"
        );
        assert_eq!(vm.wait(Duration::from_secs(10)).0.code(), Some(0));
    }
}

/// Run states and events from the monitor, without a guest: stop, cont,
/// system_reset of a paused machine (prelaunch after it), quit.
#[test]
fn run_state_commands_as_qemu() {
    let script = [
        (r#"{"execute":"query-status"}"#, 1),
        (r#"{"execute":"stop"}"#, 1),
        (r#"{"execute":"cont"}"#, 2),
        (r#"{"execute":"cont"}"#, 1),
        (r#"{"execute":"query-status"}"#, 1),
        (r#"{"execute":"stop"}"#, 2),
        (r#"{"execute":"query-status"}"#, 1),
        (r#"{"execute":"system_reset"}"#, 2),
        (r#"{"execute":"query-status"}"#, 1),
        (r#"{"execute":"cont"}"#, 2),
        (r#"{"execute":"system_reset"}"#, 2),
        (r#"{"execute":"query-status"}"#, 1),
        (
            r#"{"execute":"query-name"}{"execute":"query-uuid"}{"execute":"query-kvm"}{"execute":"query-target"}"#,
            4,
        ),
    ];
    let mut transcripts = Vec::new();
    for program in [RQEMU, QEMU] {
        let dir = scratch(&format!("runstate-{}", program.len()));
        let socket = dir.join("q.sock");
        let mut args = machine_args("none", &[]);
        args.extend(strings(&[
            "-S",
            "-uuid",
            "12345678-1234-1234-1234-123456789ABC",
        ]));
        let (vm, mut client) = start_with_qmp(program, &args, &socket);
        let mut log: Vec<String> = script
            .iter()
            .map(|(request, lines)| {
                format!("{request} -> {}", mask(&client.exchange(request, *lines)))
            })
            .collect();
        client.send(br#"{"execute":"quit","id":"bye"}"#);
        log.push(text(&client.read_to_eof()));
        log.push(format!("{:?}", vm.wait(Duration::from_secs(10)).0.code()));
        transcripts.push(log);
    }
    assert_eq!(transcripts[0], transcripts[1]);
}

/// What a client sees of a guest that resets itself on its first boot,
/// started paused and continued from the monitor, with `extra` options:
/// the guest's events (`event_lines` of them, or all until the process
/// ends when 0), then the replies to `then`.
fn guest_reset_scenario(
    program: &str,
    extra: &[&str],
    event_lines: usize,
    then: &[(&str, usize)],
) -> Vec<String> {
    let dir = scratch(&format!("reset-{}-{}", program.len(), extra.len()));
    let socket = dir.join("q.sock");
    let mut args = boot_args("pc", "128", &guest(Guest::ResetI8042));
    args.push("-S".into());
    args.extend(strings(extra));
    let (vm, mut client) = start_with_qmp(program, &args, &socket);
    // The reply to `cont` and the guest's own events, as one text: a fast
    // guest's first event may come in the same read as the reply.
    let started = client.exchange(r#"{"execute":"cont"}"#, 2);
    let seen = count_lines(started.as_bytes());
    let events = if event_lines == 0 {
        client.read_to_eof_within(common::BOOT_TIMEOUT)
    } else if seen < 2 + event_lines {
        client.read_lines_within(2 + event_lines - seen, common::BOOT_TIMEOUT)
    } else {
        Vec::new()
    };
    let mut log = vec![without_firmware_reset(&text(
        &[started.as_bytes(), &events].concat(),
    ))];
    for (request, lines) in then {
        log.push(format!(
            "{request} -> {}",
            mask(&client.exchange(request, *lines))
        ));
    }
    drop(client);
    if event_lines == 0 {
        log.push(format!("{:?}", vm.wait(common::BOOT_TIMEOUT).0.code()));
    }
    log
}

/// `events` with a guest reset announced twice in a row counted once:
/// after a reset QEMU's firmware (SeaBIOS) resets the machine once more
/// before booting, which no firmware does here (transcript5 has the same).
fn without_firmware_reset(events: &str) -> String {
    let reset = "{\"timestamp\": {\"seconds\": N, \"microseconds\": N}, \"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n";
    events.replace(&reset.repeat(2), reset)
}

/// A guest reset is announced as RESET {guest: true, reason:
/// "guest-reset"}; with -no-reboot it is a SHUTDOWN and the process ends;
/// with -no-shutdown as well the machine stops in `shutdown`, and only a
/// reset gets it going again.
#[test]
fn guest_reset_and_shutdown_events_as_qemu() {
    // Options, guest event lines to wait for (0: until the end), requests.
    type Case = (Vec<&'static str>, usize, Vec<(&'static str, usize)>);
    let cases: Vec<Case> = vec![
        (vec![], 0, vec![]),
        (vec!["-no-reboot"], 0, vec![]),
        (
            vec!["-no-reboot", "-no-shutdown"],
            2,
            vec![
                (r#"{"execute":"query-status"}"#, 1),
                (r#"{"execute":"cont","id":1}"#, 1),
                (r#"{"execute":"stop","id":2}"#, 1),
                (r#"{"execute":"system_reset","id":3}"#, 2),
                (r#"{"execute":"query-status","id":4}"#, 1),
            ],
        ),
    ];
    for (extra, event_lines, then) in cases {
        let ours = {
            let (extra, then) = (extra.clone(), then.clone());
            thread::spawn(move || guest_reset_scenario(RQEMU, &extra, event_lines, &then))
        };
        let qemu = guest_reset_scenario(QEMU, &extra, event_lines, &then);
        assert_eq!(ours.join().expect("our run"), qemu, "{extra:?}");
    }
}

/// With -no-reboot, `system_reset` is a shutdown: SHUTDOWN, the reply,
/// then the process ends with status 0.
#[test]
fn system_reset_with_no_reboot_ends_the_process_as_qemu() {
    let mut logs = Vec::new();
    for program in [RQEMU, QEMU] {
        let dir = scratch(&format!("noreboot-{}", program.len()));
        let socket = dir.join("q.sock");
        let mut args = machine_args("none", &[]);
        args.push("-no-reboot".into());
        let (vm, mut client) = start_with_qmp(program, &args, &socket);
        client.send(br#"{"execute":"system_reset","id":1}"#);
        let got = text(&client.read_to_eof());
        logs.push((got, vm.wait(Duration::from_secs(10)).0.code()));
    }
    assert_eq!(logs[0], logs[1]);
    assert_eq!(
        logs[0].0,
        "{\"timestamp\": {\"seconds\": N, \"microseconds\": N}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-system-reset\"}}\r\n{\"return\": {}, \"id\": 1}\r\n"
    );
}

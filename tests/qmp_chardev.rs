//! The chardev and file descriptor commands, run against rqemu and QEMU
//! 7.2 side by side: `query-chardev`, `chardev-add` (each backend, QMP's
//! socket defaults, the errors), `chardev-remove`, and descriptors passed
//! with SCM_RIGHTS to `getfd`/`closefd`, `add-fd`/`remove-fd`/
//! `query-fdsets` and socket chardevs. Replies are compared byte for byte
//! once what differs between two processes is masked: scratch paths, TCP
//! ports, pty numbers and descriptor numbers. `query-chardev` lists are
//! compared as they come: QEMU's order is that of its hash table of
//! chardev names, which rqemu reproduces.

mod common;
mod qmp_client;

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{QEMU, RQEMU};
use qmp_client::{machine_args, mask, qmp_socket_args, scratch, Client, Vm};
use serde_json::Value;
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

/// A stopped machine with nothing but a QMP socket and the chardevs
/// `chardevs` names (`DIR` standing for the scratch directory).
fn start(program: &str, dir: &Path, chardevs: &[&str]) -> (Vm, Client) {
    let socket = dir.join("qmp.sock");
    let mut args = machine_args("none", &["-S"]);
    args.extend(qmp_socket_args("-qmp", &socket));
    for chardev in chardevs {
        args.push("-chardev".to_string());
        args.push(chardev.replace("DIR", &dir.display().to_string()));
    }
    let vm = Vm::start(program, &args, &socket);
    let client = Client::negotiated(&socket);
    (vm, client)
}

/// One scratch directory per program and test, of the same length for
/// both so that nothing but its name differs.
fn scratch_for(program: &str, test: &str) -> std::path::PathBuf {
    let who = if program == QEMU { "qemu" } else { "ours" };
    scratch(&format!("{test}-{who}"))
}

/// Sends `request` (with `fds` passed alongside, if any) and returns the
/// reply, skipping events.
fn ask(client: &mut Client, request: &str, fds: &[RawFd]) -> String {
    if fds.is_empty() {
        client.send(request.as_bytes());
    } else {
        send_with_fds(&client.stream, request.as_bytes(), fds);
    }
    let mut received = String::new();
    loop {
        received.push_str(&String::from_utf8_lossy(&client.read_lines(1)));
        let reply = received
            .split_inclusive("\r\n")
            .find(|line| line.ends_with("\r\n") && !line.contains("\"event\""));
        if let Some(reply) = reply {
            return reply.to_string();
        }
    }
}

/// One sendmsg of `bytes` with `fds` as SCM_RIGHTS.
fn send_with_fds(stream: &UnixStream, bytes: &[u8], fds: &[RawFd]) {
    let sent = stream.send_with_fds(&[bytes], fds);
    assert_eq!(sent.unwrap(), bytes.len(), "sendmsg to the monitor");
}

/// `text` with the scratch directory, TCP ports, pty numbers and the
/// descriptor numbers of add-fd and query-fdsets masked.
fn masked(text: &str, dir: &Path) -> String {
    let mut out = mask(text).replace(&dir.display().to_string(), "DIR");
    // Each is followed by a number.
    for key in ["127.0.0.1:", "/dev/pts/", "\"fd\": "] {
        let mut result = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(key) {
            result.push_str(&rest[..at + key.len()]);
            rest = &rest[at + key.len()..];
            result.push('N');
            rest = &rest[rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len())..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Runs `scenario` on both programs and asserts the same transcript.
fn compare(test: &str, scenario: impl Fn(&str, &Path) -> Vec<String>) {
    let theirs = scenario(QEMU, &scratch_for(QEMU, test));
    let ours = scenario(RQEMU, &scratch_for(RQEMU, test));
    assert_eq!(theirs.len(), ours.len());
    for (qemu, rqemu) in theirs.iter().zip(&ours) {
        assert_eq!(qemu, rqemu);
    }
}

const COMMAND_LINE_CHARDEVS: &[&str] = &[
    "null,id=n0",
    "socket,id=s0,path=DIR/s0.sock,server=on,wait=off",
    "pty,id=p0",
    "file,id=f0,path=DIR/f0.txt",
    "ringbuf,id=r0",
    "null,id=m0,mux=on",
    "socket,id=t0,host=127.0.0.1,port=0,server=on,wait=off",
];

/// Requests and what is checked after each: `QUERY` stands for
/// `query-chardev`.
const CHARDEV_SCRIPT: &[&str] = &[
    "QUERY",
    r#"{"execute":"chardev-add","arguments":{"id":"n0","backend":{"type":"null","data":{}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"m0-base","backend":{"type":"null","data":{}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x1","backend":{"type":"null","data":{}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x2","backend":{"type":"pty","data":{}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x3","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/x3.sock"}}}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x4","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/x3.sock"}},"server":false}}}}"#,
    "QUERY",
    r#"{"execute":"chardev-add","arguments":{"id":"x5","backend":{"type":"socket","data":{"addr":{"type":"inet","data":{"host":"127.0.0.1","port":"0"}},"server":true,"wait":false}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x6","backend":{"type":"file","data":{"out":"DIR/x6.txt","append":true}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x7","backend":{"type":"ringbuf","data":{"size":4096}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"x8","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/x8.sock","abstract":true}}}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e1","backend":{"type":"ringbuf","data":{"size":3}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e2","backend":{"type":"ringbuf","data":{"size":-4}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e3","backend":{"type":"pipe","data":{"device":"DIR/nopipe"}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e4","backend":{"type":"file","data":{"out":"DIR/none/x"}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e5","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/none.sock"}},"server":false}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e6","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/e6.sock"}},"server":false,"wait":true}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e7","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/e7.sock"}},"reconnect":1}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e8","backend":{"type":"socket","data":{"addr":{"type":"fd","data":{"str":"foo"}}}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e9","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/e9.sock"}},"tls-creds":"x"}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e10","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/e10.sock"}},"server":false,"websocket":true}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e11","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"DIR/e11.sock"}},"tls-authz":"z"}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e12","backend":{"type":"nonsense","data":{}}}}"#,
    r#"{"execute":"chardev-add","arguments":{"id":"e13","backend":{"type":"file","data":{}}}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"compat_monitor0"}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"m0"}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"m0-base"}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"nope"}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"x3"}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"x3"}}"#,
    r#"{"execute":"chardev-remove","arguments":{"id":"n0"}}"#,
    "QUERY",
];

fn chardev_scenario(program: &str, dir: &Path) -> Vec<String> {
    let (_vm, mut client) = start(program, dir, COMMAND_LINE_CHARDEVS);
    let mut log = Vec::new();
    for step in CHARDEV_SCRIPT {
        let reply = if *step == "QUERY" {
            ask(&mut client, r#"{"execute":"query-chardev"}"#, &[])
        } else {
            let request = step.replace("DIR", &dir.display().to_string());
            ask(&mut client, &request, &[])
        };
        log.push(format!("{step} -> {}", masked(&reply, dir)));
    }
    // A removed server takes its socket file along; others stay.
    for file in ["x3.sock", "s0.sock", "f0.txt", "x6.txt"] {
        log.push(format!("{file} exists: {}", dir.join(file).exists()));
    }
    log
}

#[test]
fn chardev_commands_match_qemu() {
    compare("chardev", chardev_scenario);
}

/// A chardev added at run time is polled like the others: its server
/// accepts a client, and query-chardev shows the connection come and go.
fn runtime_socket_scenario(program: &str, dir: &Path) -> Vec<String> {
    let (_vm, mut client) = start(program, dir, &[]);
    let path = dir.join("late.sock");
    let mut log = vec![ask(
        &mut client,
        &format!(
            r#"{{"execute":"chardev-add","arguments":{{"id":"late","backend":{{"type":"socket","data":{{"addr":{{"type":"unix","data":{{"path":"{}"}}}},"server":true,"wait":false}}}}}}}}"#,
            path.display()
        ),
        &[],
    )];
    let query =
        |client: &mut Client| masked(&ask(client, r#"{"execute":"query-chardev"}"#, &[]), dir);
    log.push(query(&mut client));
    let peer = UnixStream::connect(&path).expect("connect to the added chardev");
    log.push(poll_until(&mut client, &query, |q| {
        !q.contains("disconnected:unix")
    }));
    drop(peer);
    log.push(poll_until(&mut client, &query, |q| {
        q.contains("disconnected:unix")
    }));
    log
}

/// Asks `query` until `done` holds for its answer (or a few seconds went).
fn poll_until(
    client: &mut Client,
    query: &impl Fn(&mut Client) -> String,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut answer = query(client);
    for _ in 0..100 {
        if done(&answer) {
            break;
        }
        thread::sleep(Duration::from_millis(20));
        answer = query(client);
    }
    answer
}

#[test]
fn chardevs_added_at_run_time_accept_clients_as_qemu() {
    compare("runtime", runtime_socket_scenario);
}

/// A pipe whose read end is passed; the write end stays here.
fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: a valid array for pipe2's two fds.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

fn fds_scenario(program: &str, dir: &Path) -> Vec<String> {
    let (_vm, mut client) = start(program, dir, &[]);
    let (r, w) = pipe();
    let (r2, w2) = pipe();
    let steps: &[(&str, &[RawFd])] = &[
        (r#"{"execute":"getfd","arguments":{"fdname":"a"}}"#, &[]),
        (r#"{"execute":"getfd","arguments":{"fdname":"1a"}}"#, &[r]),
        (r#"{"execute":"getfd","arguments":{"fdname":"a"}}"#, &[r]),
        (r#"{"execute":"getfd","arguments":{"fdname":"a"}}"#, &[w]),
        (r#"{"execute":"closefd","arguments":{"fdname":"a"}}"#, &[]),
        (r#"{"execute":"closefd","arguments":{"fdname":"a"}}"#, &[]),
        (r#"{"execute":"add-fd"}"#, &[]),
        (r#"{"execute":"add-fd","arguments":{"fdset-id":-1}}"#, &[r]),
        (r#"{"execute":"add-fd","arguments":{"fdset-id":-1}}"#, &[]),
        (r#"{"execute":"add-fd"}"#, &[r]),
        (
            r#"{"execute":"add-fd","arguments":{"opaque":"hello"}}"#,
            &[w],
        ),
        (
            r#"{"execute":"add-fd","arguments":{"fdset-id":5,"opaque":"x"}}"#,
            &[r2],
        ),
        (r#"{"execute":"add-fd","arguments":{"fdset-id":0}}"#, &[w2]),
        (r#"{"execute":"add-fd"}"#, &[w2]),
        (r#"{"execute":"query-fdsets"}"#, &[]),
        (r#"{"execute":"remove-fd","arguments":{"fdset-id":9}}"#, &[]),
        (
            r#"{"execute":"remove-fd","arguments":{"fdset-id":9,"fd":3}}"#,
            &[],
        ),
        (
            r#"{"execute":"remove-fd","arguments":{"fdset-id":0,"fd":999}}"#,
            &[],
        ),
        // Stopped: the descriptors stay until the machine runs.
        (r#"{"execute":"remove-fd","arguments":{"fdset-id":0}}"#, &[]),
        (r#"{"execute":"query-fdsets"}"#, &[]),
        // Two descriptors with a command that takes none: getfd later
        // takes the first, the second is closed.
        (r#"{"execute":"query-status"}"#, &[r, w]),
        (r#"{"execute":"getfd","arguments":{"fdname":"b"}}"#, &[]),
        (r#"{"execute":"getfd","arguments":{"fdname":"b"}}"#, &[]),
        // Marked only; the later removal in another set leaves it be.
        (r#"{"execute":"remove-fd","arguments":{"fdset-id":2}}"#, &[]),
        (r#"{"execute":"cont"}"#, &[]),
        (r#"{"execute":"remove-fd","arguments":{"fdset-id":0}}"#, &[]),
        (r#"{"execute":"query-fdsets"}"#, &[]),
        (
            r#"{"execute":"remove-fd","arguments":{"fdset-id":1,"fd":999}}"#,
            &[],
        ),
    ];
    let mut log = Vec::new();
    for (request, fds) in steps {
        let reply = ask(&mut client, request, fds);
        log.push(format!(
            "{request} {} -> {}",
            fds.len(),
            masked(&reply, dir)
        ));
    }
    // The last client leaving a running machine closes every set.
    drop(client);
    let mut client = Client::negotiated(&dir.join("qmp.sock"));
    let reply = ask(&mut client, r#"{"execute":"query-fdsets"}"#, &[]);
    log.push(format!("after reconnecting: {}", masked(&reply, dir)));
    log
}

#[test]
fn descriptor_commands_match_qemu() {
    compare("fds", fds_scenario);
}

/// The inode of what `fd` refers to, here or in process `pid`.
fn inode_of(pid: Option<u32>, fd: i64) -> String {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/fd/{fd}"),
        None => format!("/proc/self/fd/{fd}"),
    };
    std::fs::read_link(&path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("{path}: {e}"))
}

/// Requests sent back to back, each with its own descriptor, each get
/// theirs: add-fd's answer names a descriptor of the process that refers
/// to the pipe sent with that very request.
fn back_to_back_scenario(program: &str, dir: &Path) -> Vec<String> {
    let (vm, mut client) = start(program, dir, &[]);
    let pid = vm.child.id();
    let pipes: Vec<(RawFd, RawFd)> = (0..3).map(|_| pipe()).collect();
    for (i, (r, _)) in pipes.iter().enumerate() {
        let request = format!(r#"{{"execute":"add-fd","arguments":{{"opaque":"p{i}"}}}}"#);
        send_with_fds(&client.stream, request.as_bytes(), &[*r]);
    }
    let replies = String::from_utf8_lossy(&client.read_lines(pipes.len())).into_owned();
    let mut log = Vec::new();
    for (i, ((r, _), reply)) in pipes
        .iter()
        .zip(replies.split_inclusive("\r\n"))
        .enumerate()
    {
        let value: Value = serde_json::from_str(reply.trim()).expect("a JSON reply");
        let fd = value["return"]["fd"].as_i64().unwrap_or(-1);
        log.push(format!(
            "p{i}: {} same pipe: {}",
            masked(reply, dir),
            inode_of(Some(pid), fd) == inode_of(None, i64::from(*r))
        ));
    }
    log.push(masked(
        &ask(&mut client, r#"{"execute":"query-fdsets"}"#, &[]),
        dir,
    ));
    log
}

#[test]
fn each_request_gets_the_descriptors_sent_with_it() {
    compare("back-to-back", |program, dir| {
        let log = back_to_back_scenario(program, dir);
        let matched = log.iter().filter(|l| l.ends_with("same pipe: true"));
        assert_eq!(matched.count(), 3, "{program}: {log:#?}");
        log
    });
}

/// libvirt's way to a chardev on a socket it made: getfd, then
/// chardev-add with an `fd` address naming it.
fn passed_socket_scenario(program: &str, dir: &Path) -> Vec<String> {
    let (_vm, mut client) = start(program, dir, &[]);
    let listener_path = dir.join("passed.sock");
    let listener = UnixListener::bind(&listener_path).expect("bind");
    let (here, there) = UnixStream::pair().expect("socketpair");
    let (r, _w) = pipe();
    let steps: &[(&str, &[RawFd])] = &[
        (
            r#"{"execute":"getfd","arguments":{"fdname":"lis"}}"#,
            &[listener.as_raw_fd()],
        ),
        (
            r#"{"execute":"getfd","arguments":{"fdname":"pair"}}"#,
            &[there.as_raw_fd()],
        ),
        (r#"{"execute":"getfd","arguments":{"fdname":"pipe"}}"#, &[r]),
        (
            r#"{"execute":"chardev-add","arguments":{"id":"c1","backend":{"type":"socket","data":{"addr":{"type":"fd","data":{"str":"pipe"}}}}}}"#,
            &[],
        ),
        (
            r#"{"execute":"chardev-add","arguments":{"id":"c1","backend":{"type":"socket","data":{"addr":{"type":"fd","data":{"str":"pipe"}}}}}}"#,
            &[],
        ),
        (
            r#"{"execute":"chardev-add","arguments":{"id":"c2","backend":{"type":"socket","data":{"addr":{"type":"fd","data":{"str":"lis"}}}}}}"#,
            &[],
        ),
        (
            r#"{"execute":"chardev-add","arguments":{"id":"c3","backend":{"type":"socket","data":{"addr":{"type":"fd","data":{"str":"pair"}},"server":false}}}}"#,
            &[],
        ),
        (r#"{"execute":"query-chardev"}"#, &[]),
        (
            r#"{"execute":"chardev-remove","arguments":{"id":"c2"}}"#,
            &[],
        ),
        (r#"{"execute":"query-chardev"}"#, &[]),
    ];
    let mut log = Vec::new();
    for (request, fds) in steps {
        let reply = ask(&mut client, request, fds);
        log.push(format!("{request} -> {}", masked(&reply, dir)));
    }
    log.push(format!("socket file left: {}", listener_path.exists()));
    drop((here, there));
    log
}

#[test]
fn sockets_passed_by_name_become_chardevs_as_in_qemu() {
    compare("passed", passed_socket_scenario);
}

/// What the process prints on stdout around a pty added over QMP: QEMU
/// announces command-line ptys there, but not this one.
fn runtime_pty_stdout_scenario(program: &str, dir: &Path) -> Vec<String> {
    let socket = dir.join("qmp.sock");
    let stdout_path = dir.join("stdout.txt");
    let stdout = std::fs::File::create(&stdout_path).expect("stdout file");
    let mut child = std::process::Command::new(program)
        .args(machine_args("none", &["-S"]))
        .args(qmp_socket_args("-qmp", &socket))
        .args(["-chardev", "pty,id=early"])
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the emulator");
    for _ in 0..500 {
        if socket.exists() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let mut client = Client::negotiated(&socket);
    let mut log = vec![masked(
        &ask(
            &mut client,
            r#"{"execute":"chardev-add","arguments":{"id":"late","backend":{"type":"pty","data":{}}}}"#,
            &[],
        ),
        dir,
    )];
    ask(&mut client, r#"{"execute":"quit"}"#, &[]);
    let _ = child.wait();
    let printed = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    log.push(masked(&printed, dir));
    log
}

#[test]
fn ptys_added_at_run_time_are_not_announced_on_stdout() {
    compare("pty-stdout", runtime_pty_stdout_scenario);
}

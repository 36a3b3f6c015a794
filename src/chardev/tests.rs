//! Chardevs on real fds: sockets, FIFOs, files, driven through a real mio
//! poll as the main loop drives them. Expected error texts were captured
//! from QEMU 7.2 (`qemu-system-x86_64 -machine none -display none
//! -nodefaults -S -chardev ...`).

use std::io::{Read, Write};
use std::os::unix::io::{AsRawFd, IntoRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hw::core::chardev::{CharBackend, CharEvent, CharFrontend};
use mio::{Events, Poll, Token, Waker};
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

use super::set::ConnectError;
use super::*;
use crate::vl::description::{ChardevOptions, Dict};

const WAKER: Token = Token(1000);

fn opts(backend: &str, props: &[(&str, &str)]) -> ChardevOptions {
    let mut properties = Dict::new();
    for (k, v) in props {
        properties.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    ChardevOptions {
        id: "c".into(),
        backend: backend.into(),
        properties,
        location: String::new(),
    }
}

fn open_err(backend: &str, props: &[(&str, &str)]) -> String {
    match open(&opts(backend, props), None) {
        Ok(_) => panic!("{backend} {props:?} opened"),
        Err(e) => e.to_string(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rqemu-chardev-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A device that takes at most `room` bytes until given more.
struct TestFrontend {
    received: Vec<u8>,
    room: usize,
    /// Passed descriptors: how many bytes had been received before each
    /// batch, and how many descriptors it had.
    fd_batches: Vec<(usize, usize)>,
    events: Vec<CharEvent>,
}

impl CharFrontend for TestFrontend {
    fn can_receive(&self) -> usize {
        self.room
    }
    fn receive(&mut self, data: &[u8]) {
        assert!(data.len() <= self.room);
        self.room -= data.len();
        self.received.extend_from_slice(data);
    }
    fn receive_fds(&mut self, fds: Vec<std::os::fd::OwnedFd>) {
        self.fd_batches.push((self.received.len(), fds.len()));
    }
    fn event(&mut self, event: CharEvent) {
        self.events.push(event);
    }
}

fn frontend(room: usize) -> Arc<Mutex<TestFrontend>> {
    Arc::new(Mutex::new(TestFrontend {
        received: Vec::new(),
        room,
        fd_batches: Vec::new(),
        events: Vec::new(),
    }))
}

/// Lets a test keep its own handle on the frontend it connects.
struct SharedFrontend(Arc<Mutex<TestFrontend>>);

impl CharFrontend for SharedFrontend {
    fn can_receive(&self) -> usize {
        self.0.lock().unwrap().can_receive()
    }
    fn receive(&mut self, data: &[u8]) {
        self.0.lock().unwrap().receive(data)
    }
    fn receive_fds(&mut self, fds: Vec<std::os::fd::OwnedFd>) {
        self.0.lock().unwrap().receive_fds(fds)
    }
    fn event(&mut self, event: CharEvent) {
        self.0.lock().unwrap().event(event)
    }
}

/// Connects test frontend `fe` to chardev `id`; returns the device's handle.
fn connect(
    set: &mut ChardevSet,
    id: &str,
    fe: Arc<Mutex<TestFrontend>>,
) -> Result<Arc<dyn CharBackend>, ConnectError> {
    let mut backend = None;
    set.connect_new_frontend(id, |b| {
        backend = Some(b);
        SharedFrontend(fe)
    })?;
    Ok(backend.expect("the frontend was built"))
}

fn received(fe: &Arc<Mutex<TestFrontend>>) -> Vec<u8> {
    fe.lock().unwrap().received.clone()
}

fn events(fe: &Arc<Mutex<TestFrontend>>) -> Vec<CharEvent> {
    fe.lock().unwrap().events.clone()
}

/// A main loop in miniature.
struct Loop {
    poll: Poll,
    set: ChardevSet,
}

impl Loop {
    fn new() -> Loop {
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).unwrap());
        Loop {
            poll,
            set: ChardevSet::new(waker),
        }
    }

    fn start(&mut self) {
        self.set.register(self.poll.registry(), 0).unwrap();
    }

    fn run_for(&mut self, time: Duration) {
        let end = Instant::now() + time;
        self.run_until(|| Instant::now() >= end);
    }

    /// Runs until `done` holds; false after two seconds without.
    fn run_until(&mut self, mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut events = Events::with_capacity(16);
        while Instant::now() < deadline {
            if done() {
                return true;
            }
            // Timers are due at whole seconds at the earliest: polling
            // every 20 ms keeps them on time.
            self.set.run_timers(Instant::now());
            self.poll
                .poll(&mut events, Some(Duration::from_millis(20)))
                .unwrap();
            for event in events.iter() {
                if event.token() == WAKER {
                    self.set.deliver_pending(self.poll.registry());
                } else {
                    assert!(self.set.handle_event(self.poll.registry(), event.token()));
                }
            }
        }
        done()
    }
}

fn read_exactly(stream: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn error_texts_match_qemu() {
    // (backend, properties, QEMU's message)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("bogus", &[], "'bogus' is not a valid char driver name"),
        ("socket", &[], "Unable to parse FD number "),
        ("socket", &[("fd", "abc")], "Unable to parse FD number abc"),
        (
            "socket",
            &[("fd", "99")],
            "File descriptor '99' is not a socket",
        ),
        ("socket", &[("port", "5555")], "Unable to parse FD number "),
        (
            "socket",
            &[("host", "127.0.0.1")],
            "chardev: socket: no port given",
        ),
        (
            "socket",
            &[("path", "/tmp/x"), ("host", "1.2.3.4")],
            "None or one of 'path', 'fd' or 'host' option required.",
        ),
        (
            "socket",
            &[
                ("path", "/nonexistent/dir/s"),
                ("server", "on"),
                ("wait", "off"),
            ],
            "Failed to bind socket to /nonexistent/dir/s: No such file or directory",
        ),
        (
            "socket",
            &[("path", "/nonexistent/dir/s")],
            "Failed to connect to '/nonexistent/dir/s': No such file or directory",
        ),
        (
            "socket",
            &[("host", "127.0.0.1"), ("port", "1")],
            "Failed to connect to '127.0.0.1:1': Connection refused",
        ),
        (
            "socket",
            &[
                ("host", "127.0.0.1"),
                ("port", "1"),
                ("server", "on"),
                ("wait", "off"),
                ("reconnect", "1"),
            ],
            "'reconnect' option is incompatible with socket in server listen mode",
        ),
        (
            "socket",
            &[("fd", "3"), ("reconnect", "1")],
            "'reconnect' option is incompatible with 'fd' address type",
        ),
        // Zero or a negative number: connected at once or not at all.
        (
            "socket",
            &[("path", "/nonexistent/dir/s"), ("reconnect", "0")],
            "Failed to connect to '/nonexistent/dir/s': No such file or directory",
        ),
        (
            "socket",
            &[("path", "/nonexistent/dir/s"), ("reconnect", "-1")],
            "Failed to connect to '/nonexistent/dir/s': No such file or directory",
        ),
        (
            "socket",
            &[("path", "/tmp/x"), ("wait", "off")],
            "'wait' option is incompatible with socket in client connect mode",
        ),
        (
            "socket",
            &[
                ("host", "127.0.0.1"),
                ("port", "1"),
                ("nodelay", "on"),
                ("delay", "on"),
            ],
            "'delay' and 'nodelay' are mutually exclusive",
        ),
        (
            "socket",
            &[("host", "127.0.0.1"), ("port", "abc")],
            "address resolution failed for 127.0.0.1:abc: Servname not supported for ai_socktype",
        ),
        (
            "socket",
            &[("host", "127.0.0.1"), ("port", "1"), ("reconnect", "abc")],
            "Parameter 'reconnect' expects a number",
        ),
        (
            "socket",
            &[("path", "/tmp/x"), ("server", "maybe")],
            "Parameter 'server' expects 'on' or 'off'",
        ),
        (
            "stdio",
            &[("signal", "maybe")],
            "Parameter 'signal' expects 'on' or 'off'",
        ),
        ("file", &[], "chardev: file: no filename given"),
        (
            "file",
            &[("path", "/nonexistent/x")],
            "Could not open '/nonexistent/x': No such file or directory",
        ),
        ("pipe", &[], "chardev: pipe: no device path given"),
        (
            "pipe",
            &[("path", "/nonexistent/x")],
            "Could not open '/nonexistent/x': No such file or directory",
        ),
    ];
    for (backend, props, expected) in cases {
        assert_eq!(&open_err(backend, props), expected, "{backend} {props:?}");
    }
}

#[test]
fn tcp_listen_conflict_matches_qemu() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_eq!(
        open_err(
            "socket",
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("server", "on"),
                ("wait", "off")
            ]
        ),
        "Failed to find an available port: Address already in use"
    );
}

#[test]
fn duplicate_ids_and_frontend_errors_match_qemu() {
    let mut lp = Loop::new();
    lp.set.add(&opts("null", &[]), None).unwrap();
    assert_eq!(
        lp.set
            .add(&opts("null", &[]), None)
            .unwrap_err()
            .to_string(),
        "Duplicate ID 'c' for chardev"
    );
    connect(&mut lp.set, "c", frontend(1)).unwrap();
    // -chardev null,id=c -mon chardev=c -mon chardev=c
    assert_eq!(
        connect(&mut lp.set, "c", frontend(1))
            .err()
            .unwrap()
            .to_string(),
        "Device 'c' is in use"
    );
    // -mon chardev=d
    assert_eq!(
        connect(&mut lp.set, "d", frontend(1))
            .err()
            .unwrap()
            .to_string(),
        "chardev \"d\" not found"
    );
}

#[test]
fn unix_server_serves_one_client_at_a_time() {
    let dir = temp_dir("unix-server");
    let path = dir.join("s");
    let path_str = path.to_str().unwrap();
    // A stale file in the way is replaced, as QEMU does.
    std::fs::write(&path, b"stale").unwrap();
    let mut lp = Loop::new();
    lp.set
        .add(
            &opts(
                "socket",
                &[("path", path_str), ("server", "on"), ("wait", "off")],
            ),
            None,
        )
        .unwrap();
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();

    // Output with no client is dropped.
    backend.write(b"lost");

    let mut first = UnixStream::connect(&path).unwrap();
    let mut second = UnixStream::connect(&path).unwrap(); // waits in the backlog
    first.write_all(b"hello").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"hello"));
    backend.write(b"to first");
    assert_eq!(read_exactly(&mut first, 8), b"to first");

    // The second client is not served while the first is connected.
    second.write_all(b"queued").unwrap();
    lp.run_for(Duration::from_millis(200));
    assert_eq!(received(&fe), b"hello");
    drop(first);
    assert!(lp.run_until(|| received(&fe) == b"helloqueued"));
    backend.write(b"to second");
    assert_eq!(read_exactly(&mut second, 9), b"to second");

    // After the second leaves, a new client is accepted.
    drop(second);
    lp.run_for(Duration::from_millis(200));
    let mut third = UnixStream::connect(&path).unwrap();
    third.write_all(b"!").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"helloqueued!"));
}

/// Accepts a client on `listener` (non-blocking) while the loop runs.
fn accept_while_running(lp: &mut Loop, listener: &UnixListener) -> Option<UnixStream> {
    let mut client = None;
    lp.run_until(|| {
        client = client
            .take()
            .or_else(|| listener.accept().ok().map(|(s, _)| s));
        client.is_some()
    });
    client
}

#[test]
fn reconnecting_client_waits_for_its_server_and_comes_back_after_losing_it() {
    let dir = temp_dir("reconnect");
    let path = dir.join("s");
    let path_str = path.to_str().unwrap();
    let mut lp = Loop::new();
    // No server yet: QEMU opens the chardev all the same.
    lp.set
        .add(
            &opts("socket", &[("path", path_str), ("reconnect", "1")]),
            None,
        )
        .unwrap();
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    lp.run_for(Duration::from_millis(100));
    let disconnected = format!("disconnected:unix:{path_str}");
    assert_eq!(lp.set.filename("c").unwrap(), disconnected);
    assert_eq!(events(&fe), []);

    // The server comes: the next attempt, within a second, finds it.
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut server_end = accept_while_running(&mut lp, &listener).expect("a connection");
    assert!(lp.run_until(|| events(&fe) == [CharEvent::Opened]));
    assert_eq!(lp.set.filename("c").unwrap(), "unix:");
    server_end.write_all(b"ping").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"ping"));
    backend.write(b"pong");
    assert_eq!(read_exactly(&mut server_end, 4), b"pong");

    // The server drops the connection: the client tries again a second
    // later, not before.
    drop(server_end);
    let closed = Instant::now();
    assert!(lp.run_until(|| events(&fe) == [CharEvent::Opened, CharEvent::Closed]));
    assert_eq!(lp.set.filename("c").unwrap(), disconnected);
    let mut server_end = accept_while_running(&mut lp, &listener).expect("a new connection");
    assert!(closed.elapsed() >= Duration::from_secs(1));
    assert!(lp.run_until(|| events(&fe).len() == 3));
    assert_eq!(events(&fe)[2], CharEvent::Opened);
    server_end.write_all(b"again").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"pingagain"));
}

#[test]
fn server_wait_on_blocks_until_a_client_connects() {
    let dir = temp_dir("wait");
    let path = dir.join("s");
    let client_path = path.clone();
    let client = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        UnixStream::connect(client_path).unwrap()
    });
    let started = Instant::now();
    let mut dev = open(
        &opts(
            "socket",
            &[("path", path.to_str().unwrap()), ("server", "on")],
        ),
        None,
    )
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut client = client.join().unwrap();
    // Already connected: output reaches the client.
    dev.write(b"ready");
    assert_eq!(read_exactly(&mut client, 5), b"ready");
}

/// Runs `test` of this file in a child process with `RQEMU_TEST_SOCKET`
/// set to `socket`.
fn run_child_test(test: &str, socket: &std::path::Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("RQEMU_TEST_SOCKET", socket)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn server_socket_file_is_removed_at_exit_like_qemu() {
    // Checked against QEMU 7.2: after a clean exit the socket file is gone.
    let dir = temp_dir("cleanup");
    let path = dir.join("s");
    let status = run_child_test("chardev::tests::child_opens_unix_server", &path)
        .wait()
        .unwrap();
    assert!(status.success());
    assert!(!path.exists());
}

/// Run as a child process by the test above.
#[test]
fn child_opens_unix_server() {
    let Some(path) = std::env::var_os("RQEMU_TEST_SOCKET") else {
        return;
    };
    let path = path.into_string().unwrap();
    let _dev = open(
        &opts(
            "socket",
            &[("path", &path), ("server", "on"), ("wait", "off")],
        ),
        None,
    )
    .unwrap();
    assert!(std::path::Path::new(&path).exists());
    std::process::exit(0);
}

#[test]
fn sigterm_while_waiting_for_a_client_kills_like_qemu() {
    // QEMU 7.2, `-chardev socket,id=s,path=/tmp/probe/w,server=on` then
    // SIGTERM: killed by the signal (status 143 in a shell), only the info
    // line on stderr, the socket file left behind.
    use std::os::unix::process::ExitStatusExt;
    let dir = temp_dir("wait-sigterm");
    let path = dir.join("w");
    let mut child = run_child_test("chardev::tests::child_waits_for_client", &path);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(
        stderr,
        format!(
            "qemu-system-x86_64: -chardev socket,id=s,path={0},server=on: info: \
             QEMU waiting for connection on: disconnected:unix:{0},server=on\n",
            path.display()
        )
    );
    assert!(path.exists());
}

/// Run as a child process by the test above.
#[test]
fn child_waits_for_client() {
    let Some(path) = std::env::var_os("RQEMU_TEST_SOCKET") else {
        return;
    };
    let path = path.into_string().unwrap();
    crate::os::signals::install().unwrap();
    let location = format!("-chardev socket,id=s,path={path},server=on");
    let _ = open(
        &opts("socket", &[("path", &path), ("server", "on")]),
        Some(&location),
    );
    std::process::exit(0);
}

#[test]
fn listening_addresses_are_shown_as_qemu_shows_them() {
    // From QEMU 7.2's "QEMU waiting for connection on:" lines.
    let tcp4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp4.local_addr().unwrap().port();
    assert_eq!(
        socket::describe_local_address(tcp4.as_raw_fd()),
        format!("tcp:127.0.0.1:{port}")
    );
    if let Ok(tcp6) = std::net::TcpListener::bind("[::1]:0") {
        let port = tcp6.local_addr().unwrap().port();
        assert_eq!(
            socket::describe_local_address(tcp6.as_raw_fd()),
            format!("tcp:::1:{port}")
        );
    }
    let dir = temp_dir("describe");
    let unix = UnixListener::bind(dir.join("s2")).unwrap();
    assert_eq!(
        socket::describe_local_address(unix.as_raw_fd()),
        format!("unix:{}", dir.join("s2").display())
    );
    use std::os::linux::net::SocketAddrExt;
    let name = format!("rqemu-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let abstract_listener = UnixListener::bind_addr(&addr).unwrap();
    assert_eq!(
        socket::describe_local_address(abstract_listener.as_raw_fd()),
        format!("unix:{name},abstract=on,tight=on")
    );
}

#[test]
fn tcp_server_and_client_exchange_data() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port().to_string();
    drop(probe);
    let mut lp = Loop::new();
    lp.set
        .add(
            &opts(
                "socket",
                &[
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("server", "on"),
                    ("wait", "off"),
                    ("nodelay", "on"),
                ],
            ),
            None,
        )
        .unwrap();
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    let mut client = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    client.write_all(b"ping").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"ping"));
    backend.write(b"pong");
    assert_eq!(read_exactly(&mut client, 4), b"pong");

    // And rqemu as the client of a TCP server.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let mut dev = open(
        &opts("socket", &[("host", "127.0.0.1"), ("port", &port)]),
        None,
    )
    .unwrap();
    let (mut peer, _) = server.accept().unwrap();
    dev.write(b"out");
    assert_eq!(read_exactly(&mut peer, 3), b"out");
    peer.write_all(b"in").unwrap();
    let mut buf = [0u8; 8];
    let deadline = Instant::now() + Duration::from_secs(2);
    let got = loop {
        match dev.read_input(&mut buf) {
            ChardevRead::Data(n) => break n,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(&buf[..got], b"in");
    drop(peer);
    let deadline = Instant::now() + Duration::from_secs(2);
    while dev.read_input(&mut buf) != ChardevRead::Disconnected {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(dev.input_fd(), None);
}

/// Adds a `socket` chardev "c" on one end of a socketpair (`fd=N`, as
/// QEMU's test harness passes it) and returns the other end.
fn add_socket_on_inherited_fd(lp: &mut Loop) -> UnixStream {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.into_raw_fd().to_string();
    lp.set.add(&opts("socket", &[("fd", &fd)]), None).unwrap();
    ours
}

#[test]
fn inherited_connected_fd_works_both_ways() {
    // As QEMU's test harness: -chardev socket,id=console,fd=K on a socketpair.
    let mut lp = Loop::new();
    let mut ours = add_socket_on_inherited_fd(&mut lp);
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    ours.write_all(b"abc").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"abc"));
    backend.write(b"xyz");
    assert_eq!(read_exactly(&mut ours, 3), b"xyz");
}

#[test]
fn inherited_listening_fd_accepts_clients() {
    // As libvirt: a pre-bound monitor socket, fd=N,server=on,wait=off.
    let dir = temp_dir("fd-listen");
    let path = dir.join("mon.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let fd = listener.into_raw_fd().to_string();
    let mut lp = Loop::new();
    lp.set
        .add(
            &opts("socket", &[("fd", &fd), ("server", "on"), ("wait", "off")]),
            None,
        )
        .unwrap();
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    let mut client = UnixStream::connect(&path).unwrap();
    client.write_all(b"{}").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"{}"));
    backend.write(b"ok");
    assert_eq!(read_exactly(&mut client, 2), b"ok");
}

#[test]
fn full_frontend_keeps_input_pending_until_it_accepts_more() {
    let mut lp = Loop::new();
    let mut ours = add_socket_on_inherited_fd(&mut lp);
    let fe = frontend(2);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    ours.write_all(b"12345").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"12"));
    lp.run_for(Duration::from_millis(200));
    assert_eq!(received(&fe), b"12");
    fe.lock().unwrap().room = 10;
    backend.accept_input();
    assert!(lp.run_until(|| received(&fe) == b"12345"));
}

#[test]
fn mux_switches_focus_and_answers_escapes() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.into_raw_fd().to_string();
    let mut lp = Loop::new();
    lp.set
        .add(&opts("socket", &[("fd", &fd), ("mux", "on")]), None)
        .unwrap();
    let monitor = frontend(usize::MAX);
    let serial = frontend(usize::MAX);
    connect(&mut lp.set, "c", monitor.clone()).unwrap();
    let serial_backend = connect(&mut lp.set, "c", serial.clone()).unwrap();
    lp.start();
    let mut ours = ours;
    // The last frontend connected has the focus; C-a c moves it on;
    // C-a C-a sends one C-a.
    ours.write_all(b"to serial\x01cto monitor\x01\x01").unwrap();
    assert!(lp.run_until(|| received(&monitor) == b"to monitor\x01"));
    assert_eq!(received(&serial), b"to serial");
    ours.write_all(b"\x01h").unwrap();
    lp.run_for(Duration::from_millis(200));
    let help = read_exactly(&mut ours, mux::HELP.len());
    assert_eq!(help, mux::HELP.as_bytes());
    // Both frontends' output goes out, whoever has the focus.
    serial_backend.write(b"guest");
    assert_eq!(read_exactly(&mut ours, 5), b"guest");
}

#[test]
fn ringbuf_is_readable_through_the_set() {
    let mut lp = Loop::new();
    lp.set
        .add(&opts("ringbuf", &[("size", "8")]), None)
        .unwrap();
    let backend = connect(&mut lp.set, "c", frontend(0)).unwrap();
    backend.write(b"0123456789");
    assert_eq!(
        lp.set.with_ringbuf("c", |r| r.drain(100)),
        Some(b"23456789".to_vec())
    );
    assert_eq!(lp.set.with_ringbuf("nope", |r| r.len()), None);
}

#[test]
fn file_truncates_or_appends() {
    let dir = temp_dir("file");
    let path = dir.join("out");
    std::fs::write(&path, b"old").unwrap();
    let p = path.to_str().unwrap();
    open(&opts("file", &[("path", p)]), None)
        .unwrap()
        .write(b"new");
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    open(&opts("file", &[("path", p), ("append", "on")]), None)
        .unwrap()
        .write(b"+more");
    assert_eq!(std::fs::read(&path).unwrap(), b"new+more");
}

#[test]
fn pipe_uses_in_and_out_fifos() {
    let dir = temp_dir("pipe");
    let base = dir.join("p");
    for suffix in ["in", "out"] {
        let fifo = std::ffi::CString::new(format!("{}.{suffix}", base.display())).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    }
    let mut lp = Loop::new();
    lp.set
        .add(&opts("pipe", &[("path", base.to_str().unwrap())]), None)
        .unwrap();
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    let mut to_guest = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("{}.in", base.display()))
        .unwrap();
    let mut from_guest = std::fs::File::open(format!("{}.out", base.display())).unwrap();
    to_guest.write_all(b"keys").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"keys"));
    backend.write(b"text");
    assert_eq!(read_exactly(&mut from_guest, 4), b"text");
}

#[test]
fn only_one_stdio_chardev() {
    // The first may or may not open here (stdin may be anything under the
    // test runner); the second must give QEMU's message.
    let _ = open(&opts("stdio", &[]), None);
    assert_eq!(
        open_err("stdio", &[]),
        "cannot use stdio by multiple character devices"
    );
}

#[test]
fn pty_drops_output_until_attached_then_works_both_ways() {
    let mut lp = Loop::new();
    let dev = open(&opts("pty", &[]), None).unwrap();
    // Find the slave through the master fd.
    let master = dev.input_fd().unwrap();
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: a valid buffer for the name.
    assert_eq!(
        unsafe { libc::ptsname_r(master, name.as_mut_ptr(), name.len()) },
        0
    );
    let slave_path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_str()
        .unwrap()
        .to_string();
    assert!(slave_path.starts_with("/dev/pts/"));
    lp.set.insert("c", dev, false);
    let fe = frontend(usize::MAX);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    backend.write(b"nobody sees this");
    lp.run_for(Duration::from_millis(200));
    assert!(received(&fe).is_empty());

    let mut slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave_path)
        .unwrap();
    crate::chardev::fd_io::set_nonblocking(slave.as_raw_fd(), true).unwrap();
    backend.write(b"seen");
    // The bytes cross the pty asynchronously: wait for them, within reason.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < 4 && Instant::now() < deadline {
        let mut buf = [0u8; 64];
        match slave.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    assert_eq!(got, b"seen");
    slave.write_all(b"typed").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"typed"));
}

#[test]
fn stalled_peer_costs_one_wait_then_output_is_dropped_until_it_reads() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.into_raw_fd().to_string();
    let mut dev = open(&opts("socket", &[("fd", &fd)]), None).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let started = Instant::now();
    dev.write(&chunk); // fills the socket buffer, then waits a while
    let first = started.elapsed();
    assert!(first >= fd_io::WRITE_PATIENCE / 2, "{first:?}");
    let started = Instant::now();
    dev.write(&chunk);
    dev.write(&chunk);
    assert!(
        started.elapsed() < fd_io::WRITE_PATIENCE,
        "{:?}",
        started.elapsed()
    );
    // Once the peer reads, output flows again.
    let mut ours = ours;
    ours.set_nonblocking(true).unwrap();
    let mut sink = vec![0; 1 << 20];
    while ours.read(&mut sink).is_ok() {}
    dev.write(b"!");
    ours.set_nonblocking(false).unwrap();
    assert_eq!(read_exactly(&mut ours, 1), b"!");
}

#[test]
fn chardevs_added_while_the_loop_runs_are_polled_at_once() {
    let mut lp = Loop::new();
    lp.start();
    let mut ours = add_socket_on_inherited_fd(&mut lp);
    let fe = frontend(usize::MAX);
    connect(&mut lp.set, "c", fe.clone()).unwrap();
    ours.write_all(b"late").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"late"));
}

/// One sendmsg of `bytes` with `fds` passed as SCM_RIGHTS.
fn send_with_fds(stream: &UnixStream, bytes: &[u8], fds: &[std::os::fd::RawFd]) {
    assert_eq!(stream.send_with_fds(&[bytes], fds).unwrap(), bytes.len());
}

#[test]
fn passed_descriptors_reach_the_frontend_just_before_their_bytes() {
    let mut lp = Loop::new();
    let mut ours = add_socket_on_inherited_fd(&mut lp);
    // Room for less than what comes, so the input waits in the queue.
    let fe = frontend(3);
    let backend = connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    let file = std::fs::File::open("/dev/null").unwrap();
    ours.write_all(b"aaaa").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"aaa"));
    send_with_fds(&ours, b"bbbb", &[file.as_raw_fd()]);
    send_with_fds(&ours, b"cc", &[file.as_raw_fd(), file.as_raw_fd()]);
    lp.run_for(Duration::from_millis(100));
    fe.lock().unwrap().room = 100;
    backend.accept_input();
    assert!(lp.run_until(|| received(&fe) == b"aaaabbbbcc"));
    assert_eq!(fe.lock().unwrap().fd_batches, [(4, 1), (8, 2)]);
}

#[test]
fn more_descriptors_than_qemu_takes_keep_their_bytes_and_the_first_sixteen() {
    // QEMU reads with room for 16 descriptors (SOCKET_MAX_FDS) and takes
    // what the kernel put there, without regard to MSG_CTRUNC.
    let mut lp = Loop::new();
    let ours = add_socket_on_inherited_fd(&mut lp);
    let fe = frontend(usize::MAX);
    connect(&mut lp.set, "c", fe.clone()).unwrap();
    lp.start();
    let file = std::fs::File::open("/dev/null").unwrap();
    send_with_fds(&ours, b"many", &[file.as_raw_fd(); 17]);
    assert!(lp.run_until(|| received(&fe) == b"many"));
    assert_eq!(fe.lock().unwrap().fd_batches, [(0, 16)]);
}

#[test]
fn removal_frees_the_id_and_refuses_chardevs_in_use() {
    let mut lp = Loop::new();
    lp.start();
    let dir = temp_dir("remove");
    let path = dir.join("s.sock");
    let path_text = path.display().to_string();
    let mut server = opts(
        "socket",
        &[("path", &path_text), ("server", "on"), ("wait", "off")],
    );
    server.id = "s".into();
    lp.set.add(&server, None).unwrap();
    lp.set.add(&opts("null", &[("mux", "on")]), None).unwrap();
    let mut used = opts("null", &[]);
    used.id = "used".into();
    lp.set.add(&used, None).unwrap();
    connect(&mut lp.set, "used", frontend(1)).unwrap();

    let mut listed: Vec<(String, String, bool)> = lp
        .set
        .list()
        .into_iter()
        .map(|c| (c.label, c.filename, c.frontend_open))
        .collect();
    // As QEMU 7.2 describes them (its order is `hash_order`'s): a
    // multiplexer is two.
    listed.sort();
    assert_eq!(
        listed,
        [
            ("c".to_string(), "mux".to_string(), false),
            ("c-base".to_string(), "null".to_string(), false),
            (
                "s".to_string(),
                format!("disconnected:unix:{path_text},server=on"),
                false
            ),
            ("used".to_string(), "null".to_string(), true),
        ]
    );
    for (id, error) in [
        ("used", "Chardev 'used' is busy"),
        ("c", "Chardev 'c' is busy"),
        ("c-base", "Chardev 'c-base' is busy"),
        ("nope", "Chardev 'nope' not found"),
    ] {
        assert_eq!(lp.set.remove(id).unwrap_err().to_string(), error);
    }
    assert!(lp.set.contains("c-base"));
    assert!(path.exists());
    lp.set.remove("s").unwrap();
    assert!(!lp.set.contains("s"));
    assert!(!path.exists(), "the socket file goes with the server");
    // The id is free again, and the new chardev works.
    lp.set.add(&server, None).unwrap();
    let fe = frontend(usize::MAX);
    connect(&mut lp.set, "s", fe.clone()).unwrap();
    let mut client = UnixStream::connect(&path).unwrap();
    client.write_all(b"hi").unwrap();
    assert!(lp.run_until(|| received(&fe) == b"hi"));
    assert_eq!(
        lp.set.filename("s").unwrap(),
        format!("unix:{path_text},server=on")
    );
}

#[test]
fn pty_announces_its_slave_on_stdout_as_qemu() {
    // QEMU 7.2 `-chardev pty,id=p0` prints on stdout (not stderr):
    // "char device redirected to /dev/pts/0 (label p0)".
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "chardev::tests::child_opens_pty", "--nocapture"])
        .env("RQEMU_TEST_PTY", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("char device redirected to "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let number = line
        .strip_prefix("char device redirected to /dev/pts/")
        .and_then(|rest| rest.strip_suffix(" (label p0)"))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(number.parse::<u32>().is_ok(), "{line}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("redirected"));
}

/// Run as a child process by the test above.
#[test]
fn child_opens_pty() {
    if std::env::var_os("RQEMU_TEST_PTY").is_none() {
        return;
    }
    let mut pty = opts("pty", &[]);
    pty.id = "p0".into();
    open(&pty, Some("-chardev pty,id=p0")).unwrap();
}

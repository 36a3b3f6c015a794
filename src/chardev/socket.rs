//! `socket` backend: unix or TCP, as a server (listening, one client at a
//! time; later clients wait in the backlog) or as a client connected at
//! startup, or on an inherited fd (`fd=N`, as libvirt and QEMU's test
//! harness pass them).
//!
//! A client with `reconnect=N` (N > 0) does not need its server at
//! startup: it connects in the background, and whenever it has no
//! connection (the attempt failed, or the server went away) it tries
//! again N seconds later. As QEMU, it reports the first failure after
//! each connection (`Unable to connect character device ID: ...`) and
//! keeps quiet about the next ones.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use vmm_sys_util::eventfd::{EventFd, EFD_CLOEXEC, EFD_NONBLOCK};

use super::fd_io::{set_nonblocking, strerror, write_now, OutputPacer};
use super::props::Props;
use super::{Chardev, ChardevError, ChardevRead};
use crate::os;

pub(crate) struct SocketChardev {
    /// Server mode: the listening socket, polled while no client is connected.
    listener: Option<OwnedFd>,
    /// The connected peer, if any.
    peer: Option<OwnedFd>,
    nodelay: bool,
    pacer: OutputPacer,
    /// The address as QEMU shows it while no peer is connected:
    /// `unix:PATH,server=on` for a server, the address given for a client.
    address_text: String,
    /// File descriptors received with the last input, until taken.
    received_fds: Vec<OwnedFd>,
    /// The socket file this server created, removed with the chardev.
    socket_file: Option<String>,
    /// A client's `reconnect=N`.
    reconnect: Option<Reconnect>,
}

/// A client that connects again whenever it has no connection.
struct Reconnect {
    /// The chardev's id, for the failure message.
    label: String,
    address: Address,
    interval: Duration,
    /// The attempt under way, if any.
    attempt: Option<ConnectAttempt>,
    /// When the next attempt starts, while neither connected nor trying
    /// (`None` also when that would be later than the clock can tell).
    next_attempt: Option<Instant>,
    /// A failure was reported since the last connection.
    failure_reported: bool,
}

/// A connect running on a thread of its own, as QEMU runs it: name
/// resolution and TCP's handshake may take long, and the main loop must
/// not wait for them. `done` becomes readable when the result is there.
struct ConnectAttempt {
    done: EventFd,
    result: Receiver<Result<OwnedFd, ChardevError>>,
}

/// Most file descriptors taken from one message, as QEMU's `TCP_MAX_FDS`.
const MAX_RECEIVED_FDS: usize = 16;

/// Where the socket is, from `path=`/`host=`/`fd=`.
#[derive(Clone)]
enum Address {
    Unix {
        path: String,
        abstract_name: bool,
    },
    Tcp {
        host: String,
        port: String,
        family: libc::c_int,
    },
    Fd(RawFd),
}

impl Address {
    /// A client's address as QEMU shows it.
    fn describe(&self) -> String {
        match self {
            Address::Unix {
                path,
                abstract_name,
            } => format!(
                "unix:{path}{}",
                if *abstract_name { ",abstract=on" } else { "" }
            ),
            Address::Tcp { host, port, .. } => format!("tcp:{host}:{port}"),
            Address::Fd(fd) => format!("fd:{fd}"),
        }
    }
}

/// Opens socket chardev `label`.
pub(crate) fn open(
    label: &str,
    props: &Props,
    location: Option<&str>,
) -> Result<Box<dyn Chardev>, ChardevError> {
    let path = props.string("path");
    let host = props.string("host");
    let fd = props.string("fd");
    if [&path, &host, &fd].iter().filter(|o| o.is_some()).count() > 1 {
        return Err(ChardevError::new(
            "None or one of 'path', 'fd' or 'host' option required.",
        ));
    }
    let port = props.string("port");
    if host.is_some() && port.is_none() {
        return Err(ChardevError::new("chardev: socket: no port given"));
    }
    if props.has("delay") && props.has("nodelay") {
        return Err(ChardevError::new(
            "'delay' and 'nodelay' are mutually exclusive",
        ));
    }
    let nodelay = !props.bool("delay", true)? || props.bool("nodelay", false)?;
    let server = props.bool("server", false)?;
    let wait = props.bool("wait", true)?;
    let reconnect = props.number("reconnect")?;
    for feature in ["telnet", "tn3270", "websocket"] {
        if props.bool(feature, false)? {
            return Err(ChardevError::new(format!(
                "'{feature}' is not supported for socket chardevs"
            )));
        }
    }
    if props.has("tls-creds") {
        return Err(ChardevError::new(
            "'tls-creds' is not supported for socket chardevs",
        ));
    }
    let abstract_name = props.bool("abstract", false)?;
    if !props.bool("tight", true)? {
        return Err(ChardevError::new(
            "'tight=off' is not supported for socket chardevs",
        ));
    }

    if fd.is_some() && reconnect.is_some() {
        return Err(ChardevError::new(
            "'reconnect' option is incompatible with 'fd' address type",
        ));
    }
    if server {
        if reconnect.is_some() {
            return Err(ChardevError::new(
                "'reconnect' option is incompatible with socket in server listen mode",
            ));
        }
    } else if props.has("wait") {
        return Err(ChardevError::new(
            "'wait' option is incompatible with socket in client connect mode",
        ));
    }
    // QEMU reads the number as signed: zero or less connects once, at
    // startup, and a failure stops QEMU.
    let reconnect_seconds = reconnect.map_or(0, |n| n as i64);

    let address = if let Some(path) = path {
        Address::Unix {
            path,
            abstract_name,
        }
    } else if let Some(host) = host {
        let family = match (props.bool("ipv4", false)?, props.bool("ipv6", false)?) {
            (true, false) => libc::AF_INET,
            (false, true) => libc::AF_INET6,
            _ => libc::AF_UNSPEC,
        };
        Address::Tcp {
            host,
            port: port.unwrap_or_default(),
            family,
        }
    } else {
        let text = fd.unwrap_or_default();
        let fd: RawFd = text
            .parse()
            .ok()
            .filter(|&fd| fd >= 0)
            .ok_or_else(|| ChardevError::new(format!("Unable to parse FD number {text}")))?;
        if !is_socket(fd) {
            return Err(ChardevError::new(format!(
                "File descriptor '{fd}' is not a socket"
            )));
        }
        Address::Fd(fd)
    };

    let mut chardev = if server {
        let listener = listen(&address)?;
        // Whatever file the listening socket is bound to, also one passed
        // in by fd, goes with the chardev, as in QEMU.
        let socket_file = match endpoint(listener.as_raw_fd(), false) {
            Some(Endpoint::Unix(UnixName::Path(path))) if !path.is_empty() => Some(path),
            _ => None,
        };
        SocketChardev {
            address_text: format!("{},server=on", describe_local_address(listener.as_raw_fd())),
            listener: Some(listener),
            peer: None,
            nodelay,
            pacer: OutputPacer::default(),
            received_fds: Vec::new(),
            socket_file,
            reconnect: None,
        }
    } else if reconnect_seconds > 0 {
        let mut chardev = SocketChardev {
            listener: None,
            peer: None,
            nodelay,
            pacer: OutputPacer::default(),
            address_text: address.describe(),
            received_fds: Vec::new(),
            socket_file: None,
            reconnect: Some(Reconnect {
                label: label.to_string(),
                address,
                interval: Duration::from_secs(reconnect_seconds as u64),
                attempt: None,
                next_attempt: None,
                failure_reported: false,
            }),
        };
        chardev.start_attempt();
        chardev
    } else {
        let peer = connect(&address)?;
        set_nonblocking(peer.as_raw_fd(), true)
            .map_err(|e| ChardevError::io("Failed to set FD nonblocking", &e))?;
        let chardev = SocketChardev {
            listener: None,
            peer: Some(peer),
            nodelay,
            pacer: OutputPacer::default(),
            address_text: address.describe(),
            received_fds: Vec::new(),
            socket_file: None,
            reconnect: None,
        };
        chardev.apply_nodelay();
        chardev
    };
    if server && wait {
        chardev.wait_for_client(location);
    }
    Ok(Box::new(chardev))
}

/// Whether `fd` is an open socket.
pub fn is_socket(fd: RawFd) -> bool {
    // SAFETY: stat is plain data filled by fstat; a bad fd just fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0) && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
}

/// Takes ownership of an inherited fd.
fn adopt(fd: RawFd) -> OwnedFd {
    // SAFETY: the fd was handed to this process for this chardev alone, and
    // was checked to be an open socket.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an fd we own.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    fd
}

fn listen(address: &Address) -> Result<OwnedFd, ChardevError> {
    let listener: OwnedFd = match address {
        Address::Unix {
            path,
            abstract_name: true,
        } => {
            let addr = UnixAddr::from_abstract_name(path.as_bytes())
                .map_err(|_| ChardevError::new(format!("UNIX socket path '{path}' is too long")))?;
            UnixListener::bind_addr(&addr)
                .map_err(|e| ChardevError::io(format!("Failed to bind socket to {path}"), &e))?
                .into()
        }
        Address::Unix { path, .. } => {
            if UnixAddr::from_pathname(path).is_err() {
                return Err(ChardevError::new(format!(
                    "UNIX socket path '{path}' is too long"
                )));
            }
            // A socket left behind by an earlier run is replaced, as in QEMU.
            if let Err(e) = std::fs::remove_file(path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(ChardevError::io(
                        format!("Failed to unlink socket {path}"),
                        &e,
                    ));
                }
            }
            let listener = UnixListener::bind(path)
                .map_err(|e| ChardevError::io(format!("Failed to bind socket to {path}"), &e))?;
            os::exit_actions::remove_file_at_exit(path.into());
            listener.into()
        }
        Address::Tcp { host, port, family } => {
            let addrs = resolve(host, port, *family, true)?;
            let mut last_error = None;
            let mut bound = None;
            for addr in addrs {
                match TcpListener::bind(addr) {
                    Ok(listener) => {
                        bound = Some(listener);
                        break;
                    }
                    Err(e) => last_error = Some(e),
                }
            }
            match (bound, last_error) {
                (Some(listener), _) => listener.into(),
                (None, Some(e)) => {
                    return Err(ChardevError::io("Failed to find an available port", &e))
                }
                (None, None) => {
                    return Err(ChardevError::new(format!(
                        "address resolution failed for {host}:{port}: Name or service not known"
                    )))
                }
            }
        }
        Address::Fd(fd) => {
            let listener = adopt(*fd);
            // SAFETY: listen on a socket we own; an already listening socket
            // just gets its backlog updated.
            if unsafe { libc::listen(listener.as_raw_fd(), 1) } != 0 {
                return Err(ChardevError::io(
                    "Failed to listen on socket",
                    &std::io::Error::last_os_error(),
                ));
            }
            listener
        }
    };
    set_nonblocking(listener.as_raw_fd(), true)
        .map_err(|e| ChardevError::io("Failed to set FD nonblocking", &e))?;
    Ok(listener)
}

fn connect(address: &Address) -> Result<OwnedFd, ChardevError> {
    match address {
        Address::Unix {
            path,
            abstract_name,
        } => {
            let result = if *abstract_name {
                UnixAddr::from_abstract_name(path.as_bytes())
                    .and_then(|addr| UnixStream::connect_addr(&addr))
            } else {
                UnixStream::connect(path)
            };
            result
                .map(OwnedFd::from)
                .map_err(|e| ChardevError::io(format!("Failed to connect to '{path}'"), &e))
        }
        Address::Tcp { host, port, family } => {
            let mut last_error = None;
            for addr in resolve(host, port, *family, false)? {
                match TcpStream::connect(addr) {
                    Ok(stream) => return Ok(stream.into()),
                    Err(e) => last_error = Some(e),
                }
            }
            let message =
                last_error.map_or_else(|| "Name or service not known".into(), |e| strerror(&e));
            Err(ChardevError::new(format!(
                "Failed to connect to '{host}:{port}': {message}"
            )))
        }
        Address::Fd(fd) => Ok(adopt(*fd)),
    }
}

/// getaddrinfo, with QEMU's flags and its message for failures.
fn resolve(
    host: &str,
    port: &str,
    family: libc::c_int,
    passive: bool,
) -> Result<Vec<SocketAddr>, ChardevError> {
    let failed = |reason: String| {
        ChardevError::new(format!(
            "address resolution failed for {host}:{port}: {reason}"
        ))
    };
    let c_host = CString::new(host).map_err(|_| failed("Name or service not known".into()))?;
    let c_port =
        CString::new(port).map_err(|_| failed("Servname not supported for ai_socktype".into()))?;
    // SAFETY: addrinfo is plain data; zero is "no hints".
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = if passive {
        libc::AI_PASSIVE
    } else {
        libc::AI_CANONNAME | libc::AI_V4MAPPED | libc::AI_ADDRCONFIG
    };
    let node = if host.is_empty() && passive {
        std::ptr::null()
    } else {
        c_host.as_ptr()
    };
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings, hints and out-pointer.
    let rc = unsafe { libc::getaddrinfo(node, c_port.as_ptr(), &hints, &mut res) };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static string.
        let reason = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(failed(reason.to_string_lossy().into_owned()));
    }
    let mut addrs = Vec::new();
    let mut entry = res;
    while !entry.is_null() {
        // SAFETY: entries of the list getaddrinfo returned, freed below.
        let ai = unsafe { &*entry };
        if let Some(addr) = unsafe { sockaddr_to_std(ai.ai_addr) } {
            addrs.push(addr);
        }
        entry = ai.ai_next;
    }
    // SAFETY: the list from getaddrinfo, freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(addrs)
}

/// # Safety
/// `sa` must point to a valid socket address of the family it names.
unsafe fn sockaddr_to_std(sa: *const libc::sockaddr) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    match (*sa).sa_family as libc::c_int {
        libc::AF_INET => {
            let sin = &*(sa as *const libc::sockaddr_in);
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            let sin6 = &*(sa as *const libc::sockaddr_in6);
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

/// The listening address as QEMU shows it: `unix:PATH` or `tcp:HOST:PORT`
/// (IPv6 hosts without brackets).
pub(crate) fn describe_local_address(fd: RawFd) -> String {
    match endpoint(fd, false) {
        Some(Endpoint::Unix(UnixName::Path(path))) => format!("unix:{path}"),
        Some(Endpoint::Unix(UnixName::Abstract(name))) => {
            format!("unix:{name},abstract=on,tight=on")
        }
        Some(Endpoint::Inet(addr)) => format!("tcp:{}:{}", addr.ip(), addr.port()),
        None => format!("fd:{fd}"),
    }
}

/// One end of a connection.
enum Endpoint {
    Unix(UnixName),
    Inet(SocketAddr),
}

/// The name of a unix socket.
enum UnixName {
    /// A path in the file system, up to its first NUL; empty for an
    /// unnamed socket.
    Path(String),
    /// A name in the abstract namespace, all of its bytes.
    Abstract(String),
}

impl UnixName {
    /// `sun_path` as QEMU prints it in `query-chardev`, as a C string:
    /// empty for an abstract name, which starts with a NUL.
    fn as_c_string(&self) -> &str {
        match self {
            UnixName::Path(path) => path,
            UnixName::Abstract(_) => "",
        }
    }
}

/// The local (`getsockname`) or remote (`getpeername`) end of `fd`.
fn endpoint(fd: RawFd, remote: bool) -> Option<Endpoint> {
    // SAFETY: sockaddr_storage is plain data, filled by the call.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let sa = (&mut storage as *mut libc::sockaddr_storage).cast();
    // SAFETY: valid buffer and length.
    let rc = unsafe {
        if remote {
            libc::getpeername(fd, sa, &mut len)
        } else {
            libc::getsockname(fd, sa, &mut len)
        }
    };
    if rc != 0 {
        return None;
    }
    if storage.ss_family as libc::c_int == libc::AF_UNIX {
        // SAFETY: the family says this is a sockaddr_un.
        let sun =
            unsafe { &*(&storage as *const libc::sockaddr_storage as *const libc::sockaddr_un) };
        return Some(Endpoint::Unix(unix_name(sun, len)));
    }
    // SAFETY: the call filled a sockaddr of the family it names.
    unsafe { sockaddr_to_std((&storage as *const libc::sockaddr_storage).cast()) }
        .map(Endpoint::Inet)
}

/// The name in `sun`, of which the call that filled it gave `len` bytes.
fn unix_name(sun: &libc::sockaddr_un, len: libc::socklen_t) -> UnixName {
    let offset = std::mem::size_of::<libc::sa_family_t>();
    let path_len = (len as usize)
        .saturating_sub(offset)
        .min(sun.sun_path.len());
    let bytes: Vec<u8> = sun.sun_path[..path_len].iter().map(|&c| c as u8).collect();
    match bytes.split_first() {
        Some((0, name)) => UnixName::Abstract(String::from_utf8_lossy(name).into_owned()),
        _ => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            UnixName::Path(String::from_utf8_lossy(&bytes[..end]).into_owned())
        }
    }
}

/// `HOST:PORT`, IPv6 hosts in brackets.
fn inet_text(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

impl SocketChardev {
    /// A connected socket as QEMU shows it: `unix:PATH[,server=on]` or
    /// `tcp:LOCAL[,server=on] <-> PEER`.
    fn connection_text(&self, peer: RawFd) -> String {
        let server = if self.listener.is_some() {
            ",server=on"
        } else {
            ""
        };
        match (endpoint(peer, false), endpoint(peer, true)) {
            (Some(Endpoint::Unix(name)), _) => format!("unix:{}{server}", name.as_c_string()),
            (Some(Endpoint::Inet(local)), Some(Endpoint::Inet(remote))) => format!(
                "tcp:{}{server} <-> {}",
                inet_text(&local),
                inet_text(&remote)
            ),
            _ => "unknown".to_string(),
        }
    }

    /// One `recvmsg`: data, and file descriptors passed with it, which
    /// are kept (in blocking mode, as QEMU leaves them) for
    /// `take_received_fds`.
    ///
    /// Written out rather than through vmm-sys-util's `ScmSocket`, whose
    /// receive does not set MSG_CMSG_CLOEXEC and, when a peer passes more
    /// descriptors than fit, closes them all and fails with ENOBUFS after
    /// the bytes were taken from the stream; QEMU keeps the bytes and the
    /// descriptors that fit.
    fn receive(&mut self, peer: RawFd, buf: &mut [u8]) -> ChardevRead {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: CMSG_SPACE only computes a size.
        let space =
            unsafe { libc::CMSG_SPACE((MAX_RECEIVED_FDS * std::mem::size_of::<RawFd>()) as u32) }
                as usize;
        // u64 elements keep the control buffer aligned for cmsghdr.
        let mut control = vec![0u64; space.div_ceil(8)];
        // SAFETY: msghdr is plain data; the pointers set below stay valid
        // for the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let n = loop {
            // SAFETY: msg points to valid buffers of the sizes it states.
            let n = unsafe { libc::recvmsg(peer, &mut msg, libc::MSG_CMSG_CLOEXEC) };
            if n >= 0 {
                break n as usize;
            }
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => return ChardevRead::WouldBlock,
                _ => return ChardevRead::Disconnected,
            }
        };
        // SAFETY: walking the control messages recvmsg filled in.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            // SAFETY: a control message header within the buffer.
            let header = unsafe { &*cmsg };
            if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_RIGHTS {
                // SAFETY: CMSG_LEN only computes a size.
                let payload = header.cmsg_len as usize - unsafe { libc::CMSG_LEN(0) } as usize;
                let count = payload / std::mem::size_of::<RawFd>();
                // SAFETY: the payload holds `count` fds, possibly unaligned.
                let data = unsafe { libc::CMSG_DATA(cmsg) } as *const RawFd;
                let fds: Vec<OwnedFd> = (0..count)
                    .map(|i| {
                        // SAFETY: fresh fds the kernel installed for us.
                        unsafe { OwnedFd::from_raw_fd(data.add(i).read_unaligned()) }
                    })
                    .collect();
                for fd in &fds {
                    let _ = set_nonblocking(fd.as_raw_fd(), false);
                }
                // A later message's descriptors replace earlier ones not
                // taken, as in QEMU.
                self.received_fds = fds;
            }
            // SAFETY: advancing within the control buffer.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
        if n == 0 {
            self.received_fds.clear();
            return ChardevRead::Disconnected;
        }
        ChardevRead::Data(n)
    }

    fn apply_nodelay(&self) {
        if let (true, Some(peer)) = (self.nodelay, &self.peer) {
            let one: libc::c_int = 1;
            // SAFETY: setsockopt with a valid int; fails harmlessly on unix sockets.
            unsafe {
                libc::setsockopt(
                    peer.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
        }
    }

    /// `reconnect`: starts connecting in the background. If not even that
    /// can start (no thread or eventfd to be had), the next try is due
    /// after the usual interval.
    fn start_attempt(&mut self) {
        let Some(reconnect) = &mut self.reconnect else {
            return;
        };
        reconnect.next_attempt = None;
        match ConnectAttempt::start(&reconnect.address) {
            Ok(attempt) => reconnect.attempt = Some(attempt),
            Err(_) => reconnect.schedule_attempt(),
        }
    }

    /// `reconnect`: takes the result of the attempt under way, if it is
    /// there.
    fn finish_attempt(&mut self) -> ChardevRead {
        let Some(reconnect) = &mut self.reconnect else {
            return ChardevRead::WouldBlock;
        };
        let Some(attempt) = &reconnect.attempt else {
            return ChardevRead::WouldBlock;
        };
        let result = match attempt.result.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return ChardevRead::WouldBlock,
            // The thread ended without a result (it cannot, short of a
            // panic): there is nothing to report, only to try again.
            Err(TryRecvError::Disconnected) => {
                reconnect.attempt = None;
                reconnect.schedule_attempt();
                return ChardevRead::NotConnected;
            }
        };
        reconnect.attempt = None;
        let peer = result.and_then(|peer| {
            set_nonblocking(peer.as_raw_fd(), true)
                .map_err(|e| ChardevError::io("Failed to set FD nonblocking", &e))?;
            Ok(peer)
        });
        match peer {
            Ok(peer) => {
                reconnect.failure_reported = false;
                self.peer = Some(peer);
                self.pacer = OutputPacer::default();
                self.apply_nodelay();
                ChardevRead::Connected
            }
            Err(e) => {
                if !reconnect.failure_reported {
                    eprintln!(
                        "qemu-system-x86_64: Unable to connect character device {}: {e}",
                        reconnect.label
                    );
                    reconnect.failure_reported = true;
                }
                reconnect.schedule_attempt();
                ChardevRead::NotConnected
            }
        }
    }

    /// Accepts one waiting client, if there is one.
    fn accept(&mut self) -> bool {
        let Some(listener) = &self.listener else {
            return false;
        };
        // SAFETY: accept4 on our listening socket, no address wanted.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        };
        if fd < 0 {
            return false;
        }
        // SAFETY: accept4 returned a fresh fd.
        self.peer = Some(unsafe { OwnedFd::from_raw_fd(fd) });
        self.pacer = OutputPacer::default();
        self.apply_nodelay();
        true
    }

    /// `wait=on`: QEMU does not go on until the first client connected.
    fn wait_for_client(&mut self, location: Option<&str>) {
        let Some(listener) = &self.listener else {
            return;
        };
        let fd = listener.as_raw_fd();
        let prefix = location.map(|l| format!("{l}: ")).unwrap_or_default();
        eprintln!(
            "qemu-system-x86_64: {prefix}info: QEMU waiting for connection on: disconnected:{},server=on",
            describe_local_address(fd)
        );
        while !self.accept() {
            // QEMU is not yet handling termination signals while it waits:
            // one kills it outright, without a message or clean-up.
            if let Some(signal) = os::signals::take_pending() {
                os::signals::die_of(signal.signal);
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut pfd, 1, Duration::from_millis(100).as_millis() as i32) };
        }
    }
}

impl Reconnect {
    /// The next attempt is due one interval from now.
    fn schedule_attempt(&mut self) {
        self.next_attempt = Instant::now().checked_add(self.interval);
    }
}

impl ConnectAttempt {
    fn start(address: &Address) -> std::io::Result<ConnectAttempt> {
        let done = EventFd::new(EFD_NONBLOCK | EFD_CLOEXEC)?;
        let signal_done = done.try_clone()?;
        let (send_result, result) = mpsc::channel();
        let address = address.clone();
        std::thread::Builder::new()
            .name("chardev-connect".to_string())
            .spawn(move || {
                // A chardev removed meanwhile takes no result: the
                // connection, if made, is closed here.
                let _ = send_result.send(connect(&address));
                let _ = signal_done.write(1);
            })?;
        Ok(ConnectAttempt { done, result })
    }
}

impl Chardev for SocketChardev {
    fn input_fd(&self) -> Option<RawFd> {
        let attempt = self.reconnect.as_ref().and_then(|r| r.attempt.as_ref());
        self.peer
            .as_ref()
            .or(self.listener.as_ref())
            .map(|fd| fd.as_raw_fd())
            .or(attempt.map(|a| a.done.as_raw_fd()))
    }

    fn read_input(&mut self, buf: &mut [u8]) -> ChardevRead {
        let Some(peer) = &self.peer else {
            if self.reconnect.is_some() {
                return self.finish_attempt();
            }
            return if self.accept() {
                ChardevRead::Connected
            } else {
                ChardevRead::WouldBlock
            };
        };
        let result = self.receive(peer.as_raw_fd(), buf);
        if result == ChardevRead::Disconnected {
            // Closing the peer puts a server back to listening, and a
            // reconnecting client to waiting for its next attempt.
            self.peer = None;
            self.received_fds.clear();
            if let Some(reconnect) = &mut self.reconnect {
                reconnect.schedule_attempt();
            }
        }
        result
    }

    fn deadline(&self) -> Option<Instant> {
        self.reconnect.as_ref()?.next_attempt
    }

    fn run_timer(&mut self, now: Instant) {
        if self.deadline().is_some_and(|due| due <= now) {
            self.start_attempt();
        }
    }

    fn filename(&self) -> String {
        match &self.peer {
            Some(peer) => self.connection_text(peer.as_raw_fd()),
            None => format!("disconnected:{}", self.address_text),
        }
    }

    fn take_received_fds(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.received_fds)
    }

    fn is_open(&self) -> bool {
        self.peer.is_some()
    }

    fn write(&mut self, data: &[u8]) {
        // Nobody connected: the output is lost, as in QEMU. A peer that went
        // away is noticed by read_input, which sees its end of stream.
        if let Some(peer) = &self.peer {
            self.pacer.write(peer.as_raw_fd(), data);
        }
    }

    fn write_now(&mut self, data: &[u8]) -> usize {
        match &self.peer {
            Some(peer) => write_now(peer.as_raw_fd(), data),
            None => data.len(),
        }
    }
}

impl Drop for SocketChardev {
    /// A removed server takes its socket file with it, as QEMU's does.
    fn drop(&mut self) {
        if let Some(path) = &self.socket_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

//! `ChardevSet`: every open chardev, wired to the mio main loop and to the
//! devices that use them.
//!
//! Input flows chardev -> pending queue -> frontend. A chardev is read only
//! when the focused frontend's queue is empty, so a device that cannot take
//! input (`can_receive() == 0`) leaves the rest in the kernel (socket
//! buffer, tty) as QEMU does; when it can again it calls `accept_input`,
//! which wakes the main loop, which calls `deliver_pending`.
//!
//! Connections: when a socket client connects or goes away, every frontend
//! of the chardev gets `CharFrontend::event` (Opened, Closed); a frontend
//! attached to a chardev that is connected already gets Opened at once.
//!
//! File descriptors a socket peer passes (SCM_RIGHTS) travel with the
//! bytes they came with: they are queued at that point of the input and
//! handed to the frontend (`CharFrontend::receive_fds`) just before those
//! bytes, so a monitor gives them to the request they came with.
//!
//! Chardevs added after `register` (QMP's `chardev-add`) are registered
//! with the main loop at once; `remove` takes one out again.
//!
//! Timers: a socket client with `reconnect=N` tries to connect again N
//! seconds after it lost its connection; the main loop calls `run_timers`
//! on each turn and waits no longer than the deadline it returns.
//!
//! Readiness: mio is edge-triggered, so each chardev remembers whether its
//! fd may still have data (`readable`) until a read says "would block".
//!
//! Locking: a chardev's state lock is never held while calling into a
//! frontend, because a frontend (a device) calls `CharBackend::write` while
//! holding its own lock.
//!
//! The main loop's part:
//!
//! ```ignore
//! let mut chardevs = ChardevSet::new(Arc::new(Waker::new(poll.registry(), WAKE)?));
//! for c in &description.chardevs {
//!     chardevs.add(c, Some(&location_of(c)))?;
//! }
//! let serial_out = chardevs.connect_frontend("serial0", uart.clone())?;
//! chardevs.register(poll.registry(), FIRST_CHARDEV_TOKEN)?;
//! loop {
//!     poll.poll(&mut events, None)?;
//!     for event in &events {
//!         if event.token() == WAKE {
//!             chardevs.deliver_pending(poll.registry());
//!         } else {
//!             chardevs.handle_event(poll.registry(), event.token());
//!         }
//!     }
//! }
//! ```

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use hw::core::chardev::{CharBackend, CharEvent, CharFrontend};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token, Waker};

use super::hash_order::HashOrder;
use super::mux::{MuxAction, MuxEscapes, HELP, TERMINATED};
use super::{open, Chardev, ChardevError, ChardevRead};
use crate::vl::description::ChardevOptions;

/// Input is read and handed to frontends in chunks of this size.
const READ_CHUNK: usize = 4096;

/// Why a frontend could not be connected to a chardev.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("chardev \"{0}\" not found")]
    NotFound(String),
    /// The chardev already has its frontend and is not a multiplexer.
    #[error("Device '{0}' is in use")]
    InUse(String),
}

/// Why a chardev could not be removed, in QEMU's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoveError {
    #[error("Chardev '{0}' not found")]
    NotFound(String),
    /// A device or monitor uses it (a multiplexer always counts as used).
    #[error("Chardev '{0}' is busy")]
    Busy(String),
}

/// One line of QMP's `query-chardev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChardevStatus {
    pub label: String,
    /// What it is connected to, in QEMU's notation.
    pub filename: String,
    /// A device or monitor is attached.
    pub frontend_open: bool,
}

/// File descriptors received with the input, `offset` bytes into a
/// frontend's pending queue.
struct PendingFds {
    offset: usize,
    fds: Vec<OwnedFd>,
}

type Frontend = Arc<Mutex<dyn CharFrontend>>;

struct ChardevState {
    chardev: Box<dyn Chardev>,
    frontends: Vec<Frontend>,
    /// Input read but not yet taken, one queue per frontend.
    pending: Vec<VecDeque<u8>>,
    /// File descriptors among that input, one queue per frontend.
    pending_fds: Vec<VecDeque<PendingFds>>,
    /// The frontend that receives input (the last connected, until Ctrl-A c).
    focus: usize,
    /// Present when the chardev is a multiplexer.
    mux: Option<MuxEscapes>,
    /// The fd may have more input (edge-triggered readiness not consumed).
    readable: bool,
    /// The fd currently registered with mio.
    registered_fd: Option<RawFd>,
    /// `register` has seen this chardev.
    registered: bool,
    /// Output sent with `write_all` that the peer has not taken yet.
    held_output: VecDeque<u8>,
}

struct Entry {
    state: Mutex<ChardevState>,
    /// Set by `accept_input`: a frontend wants its pending input.
    input_wanted: AtomicBool,
}

impl Entry {
    fn lock(&self) -> MutexGuard<'_, ChardevState> {
        // A panic elsewhere must not take the chardevs down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Owns all open chardevs by id.
pub struct ChardevSet {
    /// In the order added; a removed chardev leaves an empty slot, so the
    /// others keep their tokens.
    entries: Vec<Option<Arc<Entry>>>,
    by_id: HashMap<String, usize>,
    first_token: usize,
    waker: Arc<Waker>,
    /// The main loop's registry, once `register` ran.
    registry: Option<Registry>,
    /// The labels in the order QEMU keeps them.
    order: HashOrder,
}

impl ChardevSet {
    /// `waker` wakes the main loop, which then calls `deliver_pending`.
    pub fn new(waker: Arc<Waker>) -> Self {
        ChardevSet {
            entries: Vec::new(),
            by_id: HashMap::new(),
            first_token: 0,
            waker,
            registry: None,
            order: HashOrder::default(),
        }
    }

    /// Whether `id` names a chardev, counting the `ID-base` chardev QEMU
    /// puts under each multiplexer.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id) || self.mux_of_base(id).is_some()
    }

    /// The multiplexer whose base chardev `id` names, if any.
    fn mux_of_base(&self, id: &str) -> Option<&Arc<Entry>> {
        let entry = self.entry(id.strip_suffix("-base")?)?;
        entry.lock().mux.is_some().then_some(entry)
    }

    fn entry(&self, id: &str) -> Option<&Arc<Entry>> {
        let index = *self.by_id.get(id)?;
        self.entries[index].as_ref()
    }

    /// Every chardev as QMP's `query-chardev` lists it, in QEMU's order
    /// (see `hash_order`); a multiplexer is two, as in QEMU: `ID` (`mux`)
    /// and the chardev under it, `ID-base`.
    pub fn list(&self) -> Vec<ChardevStatus> {
        let mut keys: Vec<&str> = self.order.keys().collect();
        keys.reverse();
        keys.into_iter()
            .filter_map(|label| {
                let (entry, is_base) = match self.entry(label) {
                    Some(entry) => (entry, false),
                    None => (self.mux_of_base(label)?, true),
                };
                let state = entry.lock();
                let (filename, frontend_open) = if state.mux.is_some() && !is_base {
                    // No device attaches to the multiplexer itself.
                    ("mux".to_string(), false)
                } else {
                    (state.chardev.filename(), !state.frontends.is_empty())
                };
                Some(ChardevStatus {
                    label: label.to_string(),
                    filename,
                    frontend_open,
                })
            })
            .collect()
    }

    /// What chardev `id` is connected to (see `Chardev::filename`).
    pub fn filename(&self, id: &str) -> Option<String> {
        Some(self.entry(id)?.lock().chardev.filename())
    }

    /// Closes chardev `id`, which nothing may use.
    pub fn remove(&mut self, id: &str) -> Result<(), RemoveError> {
        if self.mux_of_base(id).is_some() {
            return Err(RemoveError::Busy(id.to_string()));
        }
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| RemoveError::NotFound(id.to_string()))?;
        if let Some(entry) = &self.entries[index] {
            let mut state = entry.lock();
            if state.mux.is_some() || !state.frontends.is_empty() {
                return Err(RemoveError::Busy(id.to_string()));
            }
            if let (Some(fd), Some(registry)) = (state.registered_fd.take(), &self.registry) {
                let _ = registry.deregister(&mut SourceFd(&fd));
            }
        }
        self.by_id.remove(id);
        self.order.remove(id);
        // Dropping the chardev closes it.
        self.entries[index] = None;
        Ok(())
    }

    /// Opens one chardev (see `chardev::open`) and adds it under its id.
    pub fn add(
        &mut self,
        opts: &ChardevOptions,
        location: Option<&str>,
    ) -> Result<(), ChardevError> {
        if self.by_id.contains_key(&opts.id) {
            return Err(ChardevError::new(format!(
                "Duplicate ID '{}' for chardev",
                opts.id
            )));
        }
        let mux = super::props::Props::new(&opts.properties).bool("mux", false)?;
        let chardev = open(opts, location)?;
        self.insert(&opts.id, chardev, mux);
        Ok(())
    }

    /// Adds an already open chardev (`mux`: whether it multiplexes).
    pub fn insert(&mut self, id: &str, chardev: Box<dyn Chardev>, mux: bool) {
        let index = self.entries.len();
        let entry = Arc::new(Entry {
            state: Mutex::new(ChardevState {
                chardev,
                frontends: Vec::new(),
                pending: Vec::new(),
                pending_fds: Vec::new(),
                focus: 0,
                mux: mux.then(MuxEscapes::default),
                readable: true,
                registered_fd: None,
                registered: false,
                held_output: VecDeque::new(),
            }),
            input_wanted: AtomicBool::new(false),
        });
        // Added while the main loop runs: polled from now on.
        if let Some(registry) = &self.registry {
            let mut state = entry.lock();
            state.reregister(registry, Token(self.first_token + index));
            state.registered = true;
        }
        self.entries.push(Some(entry));
        self.by_id.insert(id.to_string(), index);
        // QEMU creates a multiplexer's base chardev first.
        if mux {
            self.order.insert(&format!("{id}-base"));
        }
        self.order.insert(id);
    }

    /// Registers the input fds of the chardevs not registered yet: chardev
    /// `i` (in the order added) uses token `first_token + i`, so the set
    /// owns every token from `first_token` up. Call it again, with the same
    /// `first_token`, after adding chardevs at run time.
    pub fn register(&mut self, registry: &Registry, first_token: usize) -> std::io::Result<()> {
        self.first_token = first_token;
        self.registry = Some(registry.try_clone()?);
        for (index, slot) in self.entries.iter().enumerate() {
            let Some(entry) = slot else { continue };
            let mut state = entry.lock();
            if !state.registered {
                state.reregister(registry, Token(first_token + index));
                state.registered = true;
            }
        }
        Ok(())
    }

    /// Handles a mio event; returns false when the token is not a chardev's.
    pub fn handle_event(&mut self, registry: &Registry, token: Token) -> bool {
        let Some(index) = token.0.checked_sub(self.first_token) else {
            return false;
        };
        let Some(Some(entry)) = self.entries.get(index) else {
            return false;
        };
        let entry = Arc::clone(entry);
        entry.lock().readable = true;
        service(&entry, token, registry);
        true
    }

    /// Delivers input that frontends asked for with `accept_input`. Cheap
    /// when nobody asked: call it on every wake-up of the main loop.
    pub fn deliver_pending(&mut self, registry: &Registry) {
        for (index, slot) in self.entries.iter().enumerate() {
            let Some(entry) = slot else { continue };
            if entry.input_wanted.swap(false, Ordering::SeqCst) {
                service(entry, Token(self.first_token + index), registry);
            }
        }
    }

    /// Sends held output (`CharBackend::write_all`) that the peers take
    /// now. Returns whether some is still held: the caller tries again
    /// soon.
    pub fn flush_held_output(&mut self) -> bool {
        let mut held = false;
        for entry in self.entries.iter().flatten() {
            let mut state = entry.lock();
            state.flush_held_output();
            held |= !state.held_output.is_empty();
        }
        held
    }

    /// Runs the chardevs' timers that are due by `now` (a socket client's
    /// next connection attempt); returns when the next one is due, for the
    /// main loop's wait.
    pub fn run_timers(&mut self, now: Instant) -> Option<Instant> {
        let mut next = None;
        for (index, slot) in self.entries.iter().enumerate() {
            let Some(entry) = slot else { continue };
            let mut state = entry.lock();
            if state.chardev.deadline().is_some_and(|due| due <= now) {
                state.chardev.run_timer(now);
                if let Some(registry) = &self.registry {
                    state.reregister(registry, Token(self.first_token + index));
                }
            }
            next = next.into_iter().chain(state.chardev.deadline()).min();
        }
        next
    }

    /// Connects a new device to chardev `id`: `make` builds the device
    /// around the handle it writes to, and the device becomes the chardev's
    /// frontend. A multiplexed chardev takes several frontends, the last one
    /// connected gets the focus; any other chardev takes one.
    pub fn connect_new_frontend<F: CharFrontend + 'static>(
        &mut self,
        id: &str,
        make: impl FnOnce(Arc<dyn CharBackend>) -> F,
    ) -> Result<Arc<Mutex<F>>, ConnectError> {
        let entry = self.free_entry(id)?;
        let frontend = Arc::new(Mutex::new(make(self.backend_handle(entry.clone()))));
        attach(&entry, frontend.clone());
        Ok(frontend)
    }

    /// Chardev `id`, if it can take one more frontend.
    fn free_entry(&self, id: &str) -> Result<Arc<Entry>, ConnectError> {
        let entry = self
            .entry(id)
            .ok_or_else(|| ConnectError::NotFound(id.to_string()))?;
        let state = entry.lock();
        if state.mux.is_none() && !state.frontends.is_empty() {
            return Err(ConnectError::InUse(id.to_string()));
        }
        Ok(Arc::clone(entry))
    }

    fn backend_handle(&self, entry: Arc<Entry>) -> Arc<dyn CharBackend> {
        Arc::new(BackendHandle {
            entry,
            waker: Arc::clone(&self.waker),
        })
    }

    /// Runs `f` on the ring buffer of ringbuf chardev `id` (QMP's
    /// `ringbuf-read`); `None` if there is no such chardev or it is not a
    /// ring buffer.
    #[cfg(test)]
    pub fn with_ringbuf<R>(&self, id: &str, f: impl FnOnce(&mut super::Ringbuf) -> R) -> Option<R> {
        let mut state = self.entry(id)?.lock();
        state.chardev.ringbuf().map(f)
    }
}

impl ChardevState {
    /// Queues file descriptors that came with the input about to be
    /// queued, for the focused frontend (dropped without one).
    fn take_fds(&mut self, fds: Vec<OwnedFd>) {
        if fds.is_empty() {
            return;
        }
        if let (Some(queue), Some(fd_queue)) = (
            self.pending.get(self.focus),
            self.pending_fds.get_mut(self.focus),
        ) {
            fd_queue.push_back(PendingFds {
                offset: queue.len(),
                fds,
            });
        }
    }

    /// Queues input for the focused frontend, acting on mux escapes.
    fn take_input(&mut self, data: &[u8]) {
        for &byte in data {
            let action = match &mut self.mux {
                Some(mux) => mux.process(byte),
                None => MuxAction::Deliver(byte),
            };
            match action {
                MuxAction::Deliver(byte) => {
                    if let Some(queue) = self.pending.get_mut(self.focus) {
                        queue.push_back(byte);
                    }
                    // Without a frontend, input is dropped.
                }
                MuxAction::Consumed => {}
                MuxAction::PrintHelp => self.chardev.write(HELP.as_bytes()),
                MuxAction::Terminate => {
                    self.chardev.write(TERMINATED.as_bytes());
                    // As QEMU: exit at once; exit actions (pidfile, sockets,
                    // terminal) still run.
                    std::process::exit(0);
                }
                MuxAction::SwitchFocus => {
                    if !self.frontends.is_empty() {
                        self.focus = (self.focus + 1) % self.frontends.len();
                    }
                }
            }
        }
    }

    /// Writes what the peer takes now of the held output.
    fn flush_held_output(&mut self) {
        while !self.held_output.is_empty() {
            let (front, _) = self.held_output.as_slices();
            let len = front.len();
            let n = self.chardev.write_now(front);
            self.held_output.drain(..n);
            if n < len {
                return;
            }
        }
    }

    /// Follows a change of the chardev's input fd (client came or went).
    /// An fd epoll cannot watch (a regular file or /dev/null as stdin)
    /// gives no input.
    fn reregister(&mut self, registry: &Registry, token: Token) {
        // The old fd may be closed already, which removed it from epoll;
        // nothing else can have reused its number in between, as mio
        // registrations happen on this thread.
        if let Some(old) = self.registered_fd.take() {
            let _ = registry.deregister(&mut SourceFd(&old));
        }
        if let Some(fd) = self.chardev.input_fd() {
            if registry
                .register(&mut SourceFd(&fd), token, Interest::READABLE)
                .is_ok()
            {
                self.registered_fd = Some(fd);
            }
        }
        self.readable = true;
    }
}

/// Moves input from a chardev to its frontends until the focused one is
/// full or the chardev has nothing more. Input queued for a frontend that
/// lost the focus (Ctrl-A c) is still delivered to it.
fn service(entry: &Entry, token: Token, registry: &Registry) {
    let mut buf = [0u8; READ_CHUNK];
    loop {
        let frontends = entry.lock().frontends.len();
        for index in 0..frontends {
            deliver(entry, index);
        }
        // Read more input while the fd may have some and the focused
        // frontend took everything so far.
        let mut state = entry.lock();
        let focused_idle = state.pending.get(state.focus).is_none_or(|q| q.is_empty());
        if !focused_idle || !state.readable || state.chardev.input_fd().is_none() {
            return;
        }
        match state.chardev.read_input(&mut buf) {
            ChardevRead::Data(n) => {
                let fds = state.chardev.take_received_fds();
                state.take_fds(fds);
                state.take_input(&buf[..n]);
            }
            read @ (ChardevRead::Connected | ChardevRead::Disconnected) => {
                // What the last peer did not read is not for the next one.
                state.held_output.clear();
                state.reregister(registry, token);
                let frontends = state.frontends.clone();
                drop(state);
                let event = if read == ChardevRead::Connected {
                    CharEvent::Opened
                } else {
                    CharEvent::Closed
                };
                for frontend in &frontends {
                    lock_frontend(frontend).event(event);
                }
            }
            ChardevRead::NotConnected => {
                state.reregister(registry, token);
                return;
            }
            ChardevRead::WouldBlock => {
                state.readable = false;
                return;
            }
        }
    }
}

/// Makes `frontend` the newest frontend of a chardev, with the focus. A
/// chardev connected already tells it so at once, as QEMU does.
fn attach(entry: &Entry, frontend: Frontend) {
    let open = {
        let mut state = entry.lock();
        state.frontends.push(frontend.clone());
        state.pending.push(VecDeque::new());
        state.pending_fds.push(VecDeque::new());
        state.focus = state.frontends.len() - 1;
        state.chardev.is_open()
    };
    if open {
        lock_frontend(&frontend).event(CharEvent::Opened);
    }
}

fn lock_frontend(frontend: &Frontend) -> MutexGuard<'_, dyn CharFrontend + 'static> {
    frontend.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hands frontend `index` as much of its queued input as it takes, each
/// batch of file descriptors just before the bytes they came with, calling
/// it without the state lock.
fn deliver(entry: &Entry, index: usize) {
    loop {
        let (frontend, fds, chunk) = {
            let mut state = entry.lock();
            let fd_queue = &mut state.pending_fds[index];
            let fds = match fd_queue.front() {
                Some(batch) if batch.offset == 0 => fd_queue.pop_front().map(|b| b.fds),
                _ => None,
            };
            // Stop at the next batch: it goes before the bytes after it.
            let limit = fd_queue
                .front()
                .map_or(READ_CHUNK, |b| b.offset.min(READ_CHUNK));
            let queue = &state.pending[index];
            let n = queue.len().min(limit);
            let chunk: Vec<u8> = queue.range(..n).copied().collect();
            (Arc::clone(&state.frontends[index]), fds, chunk)
        };
        let taken = {
            let mut fe = lock_frontend(&frontend);
            if let Some(fds) = fds {
                fe.receive_fds(fds);
            }
            let n = fe.can_receive().min(chunk.len());
            if n > 0 {
                fe.receive(&chunk[..n]);
            }
            n
        };
        let mut state = entry.lock();
        state.pending[index].drain(..taken);
        for batch in state.pending_fds[index].iter_mut() {
            batch.offset -= taken.min(batch.offset);
        }
        let fds_due = state.pending_fds[index]
            .front()
            .is_some_and(|b| b.offset == 0);
        if taken < chunk.len() || (state.pending[index].is_empty() && !fds_due) {
            return;
        }
    }
}

/// The device side of a chardev.
struct BackendHandle {
    entry: Arc<Entry>,
    waker: Arc<Waker>,
}

/// How much device output may wait behind held monitor output before
/// more is dropped (device output is otherwise paced, never held).
const DEVICE_OUTPUT_BEHIND_HELD: usize = 1 << 20;

impl CharBackend for BackendHandle {
    fn write(&self, data: &[u8]) {
        let mut state = self.entry.lock();
        if state.held_output.is_empty() {
            state.chardev.write(data);
        } else if state.held_output.len() < DEVICE_OUTPUT_BEHIND_HELD {
            // Behind what a monitor sent on the same (multiplexed) chardev.
            state.held_output.extend(data);
        }
    }

    fn write_all(&self, data: &[u8]) {
        let mut state = self.entry.lock();
        state.held_output.extend(data);
        state.flush_held_output();
        if !state.held_output.is_empty() {
            // The main loop retries while output is held.
            let _ = self.waker.wake();
        }
    }

    fn accept_input(&self) {
        self.entry.input_wanted.store(true, Ordering::SeqCst);
        // If the wake-up fails the input is delivered at the next event.
        let _ = self.waker.wake();
    }
}

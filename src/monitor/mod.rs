//! The QMP monitor (QEMU's monitor/): `-qmp`, `-qmp-pretty` and `-mon
//! mode=control` on any chardev.
//!
//! Input flows chardev -> `QmpFrontend` (the JSON stream parser, on the
//! chardev's side) -> queue -> `Monitors::process` on the main loop, which
//! runs each request through the client's `QmpSession` and the commands
//! (`commands::QmpContext`, the schema's `QmpCommands`), then sends the events the command raised and its
//! reply, in that order. Events the machine raises on its own are sent by
//! `Monitors::flush_events` to every client that negotiated capabilities.
//!
//! File descriptors a client passes (SCM_RIGHTS) reach the monitor just
//! before the request they came with, and stay available to the commands
//! (`getfd`, `add-fd`) until the next ones replace them (`fds.rs`).
//!
//! A socket monitor serves one client at a time; each new client gets a
//! greeting and a fresh session. A client leaving never stops the machine.

mod commands;
pub mod events;
mod fds;
mod hmp;
mod json_parser;
mod json_stream;
mod json_writer;
pub mod qmp;
mod unicode;

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use hw::core::chardev::{CharBackend, CharEvent, CharFrontend};

use crate::chardev::{ChardevSet, ConnectError};
use crate::machine::Machine;
use crate::vl::description::{MonitorMode, MonitorOptions};
use commands::QmpContext;
use events::EventQueue;
use fds::{FdSets, MonitorFds};
use json_stream::{JsonStream, StreamItem};
use qmp::{wire_bytes, QmpSession};

/// What a monitor's chardev handed over, in the order it happened.
enum Incoming {
    /// A client connected (or the chardev is connected from the start).
    Opened,
    /// The client went away.
    Closed,
    /// File descriptors passed with the input that follows.
    Fds(Vec<OwnedFd>),
    Request(StreamItem),
}

#[derive(Default)]
struct InputQueue {
    stream: JsonStream,
    incoming: VecDeque<Incoming>,
}

type SharedInput = Arc<Mutex<InputQueue>>;

fn lock(input: &SharedInput) -> MutexGuard<'_, InputQueue> {
    input.lock().unwrap_or_else(|p| p.into_inner())
}

/// The chardev side of a monitor: parses input into requests and queues
/// them with the connection changes for the main loop.
struct QmpFrontend {
    input: SharedInput,
}

impl CharFrontend for QmpFrontend {
    fn can_receive(&self) -> usize {
        // The parser takes any amount; its own limits bound what it keeps.
        usize::MAX
    }

    fn receive(&mut self, data: &[u8]) {
        let mut input = lock(&self.input);
        let mut items = Vec::new();
        input.stream.feed(data, &mut items);
        input
            .incoming
            .extend(items.into_iter().map(Incoming::Request));
    }

    fn receive_fds(&mut self, fds: Vec<OwnedFd>) {
        lock(&self.input).incoming.push_back(Incoming::Fds(fds));
    }

    fn event(&mut self, event: CharEvent) {
        let mut input = lock(&self.input);
        match event {
            CharEvent::Opened => input.incoming.push_back(Incoming::Opened),
            CharEvent::Closed => {
                // Half a request from a client that left is dropped.
                input.stream.reset();
                input.incoming.push_back(Incoming::Closed);
            }
        }
    }
}

/// One QMP monitor on its chardev.
struct QmpMonitor {
    input: SharedInput,
    output: Arc<dyn CharBackend>,
    session: QmpSession,
    pretty: bool,
    /// A client is connected (QEMU counts them to clean up fd sets).
    connected: bool,
    fds: MonitorFds,
}

impl QmpMonitor {
    fn send(&self, message: &serde_json::Value) {
        self.output.write_all(&wire_bytes(message, self.pretty));
    }
}

/// Every QMP monitor of the process.
pub struct Monitors {
    monitors: Vec<QmpMonitor>,
    /// Human monitors, each with the file descriptors named on it.
    human: Vec<(hmp::HmpMonitor, MonitorFds)>,
    hmp_state: hmp::HmpState,
    events: EventQueue,
    fdsets: FdSets,
}

impl Monitors {
    /// Monitors that send the events raised into `events`.
    pub fn new(events: EventQueue) -> Self {
        Monitors {
            monitors: Vec::new(),
            human: Vec::new(),
            hmp_state: hmp::HmpState::default(),
            events,
            fdsets: FdSets::default(),
        }
    }

    /// Starts the `mode=control` monitor `options` describes on its
    /// chardev. Readline (HMP) monitors are not served here.
    pub fn add(
        &mut self,
        chardevs: &mut ChardevSet,
        options: &MonitorOptions,
    ) -> Result<(), ConnectError> {
        if options.mode == MonitorMode::Readline {
            let human = hmp::HmpMonitor::connect(chardevs, &options.chardev)?;
            self.human.push((human, MonitorFds::default()));
            return Ok(());
        }
        let input = SharedInput::default();
        let mut output = None;
        chardevs.connect_new_frontend(&options.chardev, |backend| {
            output = Some(backend);
            QmpFrontend {
                input: input.clone(),
            }
        })?;
        if let Some(output) = output {
            self.monitors.push(QmpMonitor {
                input,
                output,
                session: QmpSession::default(),
                pretty: options.pretty,
                connected: false,
                fds: MonitorFds::default(),
            });
        }
        Ok(())
    }

    /// Answers every request queued so far, stopping when a command (such
    /// as `quit`) ends the process; returns the exit status then.
    pub fn process(&mut self, machine: &mut Machine, chardevs: &mut ChardevSet) -> Option<i32> {
        // Events raised before go to the clients negotiated before.
        self.flush_events();
        for index in 0..self.monitors.len() {
            loop {
                let Some(incoming) = lock(&self.monitors[index].input).incoming.pop_front() else {
                    break;
                };
                let monitor = &mut self.monitors[index];
                match incoming {
                    Incoming::Opened => {
                        monitor.session.reset();
                        monitor.connected = true;
                        monitor.send(&QmpSession::greeting());
                    }
                    Incoming::Closed => {
                        monitor.session.reset();
                        monitor.connected = false;
                        monitor.fds.clear_received();
                        let clients = self.monitors.iter().any(|m| m.connected);
                        let running = machine.run_state() == qapi::types::RunState::Running;
                        self.fdsets.clean_up(running, clients);
                    }
                    Incoming::Fds(fds) => monitor.fds.set_received(fds),
                    Incoming::Request(request) => {
                        let mut context = QmpContext {
                            machine,
                            chardevs,
                            monitor_fds: &mut monitor.fds,
                            fdsets: &mut self.fdsets,
                            hmp: &mut self.hmp_state,
                        };
                        let reply = monitor.session.handle(request, &mut context);
                        // Events the command raised go out before its reply.
                        self.flush_events();
                        self.monitors[index].send(&reply);
                        if let Some(status) = machine.exit_status() {
                            return Some(status);
                        }
                    }
                }
            }
        }
        for index in 0..self.human.len() {
            let (human, fds) = &mut self.human[index];
            let mut context = QmpContext {
                machine,
                chardevs,
                monitor_fds: fds,
                fdsets: &mut self.fdsets,
                hmp: &mut self.hmp_state,
            };
            human.process(&mut context);
            self.flush_events();
            if let Some(status) = machine.exit_status() {
                return Some(status);
            }
        }
        None
    }

    /// Sends the events raised so far to every client that negotiated.
    pub fn flush_events(&mut self) {
        for event in self.events.take() {
            let message = event.message();
            for monitor in &self.monitors {
                if monitor.session.receives_events() {
                    monitor.send(&message);
                }
            }
        }
    }
}

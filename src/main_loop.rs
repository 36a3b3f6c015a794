//! The main loop (QEMU's `main_loop`): waits for character device input,
//! termination signals, timers and requests from devices and vCPUs, and
//! hands each to whoever handles it.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};

use hw::core::system::{SystemControl, SystemRequest};

use crate::accel::qtest::server::QtestServer;
use crate::chardev::ChardevSet;
use crate::machine::Machine;
use crate::monitor::Monitors;
use crate::os::signals::TerminationSignals;

const WAKER: Token = Token(0);
const SIGNALS: Token = Token(1);
const FIRST_CHARDEV: usize = 2;
/// How often output held for a slow chardev peer is tried again.
const HELD_OUTPUT_RETRY: Duration = Duration::from_millis(5);

/// Requests from devices and vCPU threads, queued for the main thread.
pub struct Requests {
    queue: Mutex<VecDeque<SystemRequest>>,
    waker: Arc<Waker>,
}

impl Requests {
    fn take(&self) -> Option<SystemRequest> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }
}

impl SystemControl for Requests {
    fn request(&self, request: SystemRequest) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(request);
        // A failed wake-up leaves the request queued for the next one.
        let _ = self.waker.wake();
    }
}

/// The poller and the sources it waits on.
pub struct MainLoop {
    poll: Poll,
    requests: Arc<Requests>,
    waker: Arc<Waker>,
}

impl MainLoop {
    pub fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Self {
            requests: Arc::new(Requests {
                queue: Mutex::new(VecDeque::new()),
                waker: waker.clone(),
            }),
            poll,
            waker,
        })
    }

    /// Where devices and vCPUs send their requests.
    pub fn requests(&self) -> Arc<Requests> {
        self.requests.clone()
    }

    /// Wakes the loop (for chardev frontends that can take input again).
    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    /// Run until the machine ends the process; returns its exit status.
    pub fn run(
        &mut self,
        chardevs: &mut ChardevSet,
        monitors: &mut Monitors,
        mut qtest: Option<&mut QtestServer>,
        signals: &mut TerminationSignals,
        machine: &mut Machine,
    ) -> io::Result<i32> {
        let registry = self.poll.registry();
        registry.register(signals, SIGNALS, Interest::READABLE)?;
        chardevs.register(registry, FIRST_CHARDEV)?;
        let mut events = Events::with_capacity(64);
        // Greet the clients connected from the start (stdio, inherited
        // sockets) before waiting for anything.
        if let Some(status) = monitors.process(machine, chardevs) {
            return Ok(status);
        }
        loop {
            let now = Instant::now();
            let deadline = [machine.next_deadline(), chardevs.run_timers(now)]
                .into_iter()
                .flatten()
                .min();
            let mut timeout = deadline.map(|d| d.saturating_duration_since(now));
            // A peer that is slow to read monitor output gets the rest as
            // it reads, tried again at this pace.
            if chardevs.flush_held_output() {
                timeout = Some(timeout.map_or(HELD_OUTPUT_RETRY, |t| t.min(HELD_OUTPUT_RETRY)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    SIGNALS => {
                        while let Some(signal) = signals.take() {
                            if let Some(status) = machine.handle_signal(signal) {
                                monitors.flush_events();
                                return Ok(status);
                            }
                        }
                    }
                    token => {
                        chardevs.handle_event(self.poll.registry(), token);
                    }
                }
            }
            chardevs.deliver_pending(self.poll.registry());
            if let Some(qtest) = qtest.as_deref_mut() {
                qtest.process(machine);
            }
            if let Some(status) = monitors.process(machine, chardevs) {
                return Ok(status);
            }
            while let Some(request) = self.requests.take() {
                let exit = machine.handle_request(request);
                monitors.flush_events();
                if let Some(status) = exit {
                    return Ok(status);
                }
            }
            machine.run_timers(Instant::now());
            if let Some(qtest) = qtest.as_deref_mut() {
                // Interrupts the timers raised go to the test now.
                qtest.process(machine);
            }
            monitors.flush_events();
        }
    }
}

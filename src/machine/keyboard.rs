//! Key events from the monitor to the guest's keyboard, spaced in time as
//! QEMU 7.2's input layer spaces them (ui/input.c): an event goes to the
//! keyboard at once when nothing waits before it; once a delay is queued,
//! later events queue behind it and the main loop's timer lets them out.
//!
//! QEMU measures the delays on the virtual clock, which stands still while
//! the machine is paused; here they are host time, and the queue simply
//! does not move while the machine is not running.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hw::core::bus::lock;
use hw::input::keymap::Qcode;
use qapi::types::RunState;

use super::Machine;

/// QEMU's delay when the caller gives none (`hold-time` 0 or absent).
const DEFAULT_DELAY_MS: u32 = 10;
/// QEMU's limit on queued entries; events and delays beyond it are lost.
const QUEUE_LIMIT: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Key { key: Qcode, down: bool },
    Delay(Duration),
}

/// The key events waiting for their time.
#[derive(Debug, Default)]
pub(super) struct KeyQueue {
    entries: VecDeque<Entry>,
    /// Entries as QEMU counts them against its limit: a key event counts
    /// twice (QEMU queues a sync after it).
    count: usize,
    /// When the delay at the head of the queue ends.
    deadline: Option<Instant>,
}

impl KeyQueue {
    /// A key event: passed to `deliver` now if nothing waits, else queued.
    fn send(&mut self, key: Qcode, down: bool, mut deliver: impl FnMut(Qcode, bool)) {
        if self.entries.is_empty() {
            deliver(key, down);
        } else if self.count < QUEUE_LIMIT {
            self.entries.push_back(Entry::Key { key, down });
            self.count += 2;
        }
    }

    /// A pause of `delay_ms` (0: QEMU's default) before later events.
    fn delay(&mut self, delay_ms: u32, now: Instant) {
        if self.count >= QUEUE_LIMIT {
            return;
        }
        let ms = if delay_ms == 0 {
            DEFAULT_DELAY_MS
        } else {
            delay_ms
        };
        let delay = Duration::from_millis(u64::from(ms));
        if self.entries.is_empty() {
            self.deadline = Some(now + delay);
        }
        self.entries.push_back(Entry::Delay(delay));
        self.count += 1;
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Once the head delay is over: deliver the events behind it, up to
    /// the next delay, which starts now.
    pub(super) fn run_due(&mut self, now: Instant, mut deliver: impl FnMut(Qcode, bool)) {
        if self.deadline.is_none_or(|deadline| deadline > now) {
            return;
        }
        self.deadline = None;
        self.pop();
        while let Some(&entry) = self.entries.front() {
            match entry {
                Entry::Delay(delay) => {
                    self.deadline = Some(now + delay);
                    return;
                }
                Entry::Key { key, down } => {
                    self.pop();
                    deliver(key, down);
                }
            }
        }
    }

    fn pop(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.count -= match entry {
                Entry::Key { .. } => 2,
                Entry::Delay(_) => 1,
            };
        }
    }
}

impl Machine {
    /// QMP `send-key`, HMP `sendkey`: press `keys` in order, then release
    /// them in reverse, each event followed by a pause of `hold_time_ms`
    /// (0: 10 ms, QEMU's default). A machine that is not running, or has no
    /// keyboard, ignores them, as QEMU does.
    pub fn send_keys(&mut self, keys: &[Qcode], hold_time_ms: u32) {
        let now = Instant::now();
        let presses = keys.iter().map(|&key| (key, true));
        let releases = keys.iter().rev().map(|&key| (key, false));
        for (key, down) in presses.chain(releases) {
            self.key_queue.send(key, down, |key, down| {
                deliver_key(&self.board, self.state, key, down)
            });
            // QEMU queues no delay while the machine is not running.
            if self.state == RunState::Running {
                self.key_queue.delay(hold_time_ms, now);
            }
        }
    }

    /// The queued key events whose time has come.
    pub(super) fn run_key_queue(&mut self, now: Instant) {
        if self.state != RunState::Running {
            return;
        }
        let (board, state) = (&self.board, self.state);
        self.key_queue
            .run_due(now, |key, down| deliver_key(board, state, key, down));
    }

    /// When the key queue next moves, while the machine runs.
    pub(super) fn key_queue_deadline(&self) -> Option<Instant> {
        match self.state {
            RunState::Running => self.key_queue.deadline(),
            _ => None,
        }
    }
}

/// One key event to the PS/2 keyboard, if the machine runs and has one.
fn deliver_key(board: &Option<super::PcBoard>, state: RunState, key: Qcode, down: bool) {
    if state != RunState::Running {
        return;
    }
    // QEMU's input layer sends `sysrq` as `print`: the keyboard makes
    // SysRq out of Alt+Print Screen itself.
    let key = if key == Qcode::SYSRQ {
        Qcode::PRINT
    } else {
        key
    };
    if let Some(board) = board {
        lock(&board.i8042).key_event(key, down);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Qcode {
        Qcode::from_name(name).expect("a QEMU key name")
    }

    /// Runs the queue at each of `times` (ms after `start`), recording
    /// when each event came out.
    fn drain(
        queue: &mut KeyQueue,
        start: Instant,
        times: &[u64],
    ) -> Vec<(u64, &'static str, bool)> {
        let mut out = vec![];
        for &ms in times {
            queue.run_due(start + Duration::from_millis(ms), |k, down| {
                out.push((ms, k.name(), down))
            });
        }
        out
    }

    #[test]
    fn events_wait_behind_delays() {
        let start = Instant::now();
        let mut queue = KeyQueue::default();
        let mut now_out = vec![];
        for (name, down, delay) in [("a", true, 0), ("b", true, 30), ("b", false, 0)] {
            queue.send(key(name), down, |k, d| now_out.push((k.name(), d)));
            queue.delay(delay, start);
        }
        // Only the first event goes at once; its delay is the default.
        assert_eq!(now_out, [("a", true)]);
        assert_eq!(queue.deadline(), Some(start + Duration::from_millis(10)));
        let out = drain(&mut queue, start, &[5, 10, 20, 39, 40, 50]);
        assert_eq!(out, [(10, "b", true), (40, "b", false)]);
        // The last delay still holds the queue until 50 ms.
        assert_eq!(queue.deadline(), None);
        assert_eq!(queue.count, 0);
    }

    #[test]
    fn a_full_queue_drops_what_comes() {
        let start = Instant::now();
        let mut queue = KeyQueue::default();
        let mut delivered = 0;
        for _ in 0..2000 {
            queue.send(key("a"), true, |_, _| delivered += 1);
            queue.delay(1, start);
        }
        assert_eq!(delivered, 1);
        assert!(queue.count <= QUEUE_LIMIT + 1);
        let times: Vec<u64> = (1..=2000).collect();
        // 1 + the 341 events that fit behind their delays (3 entries each).
        assert_eq!(drain(&mut queue, start, &times).len(), 341);
    }
}

//! Test doubles for the device-facing traits: they record what a device
//! did to its interrupt line, character backend and machine, and a clock the
//! test moves by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::chardev::CharBackend;
use super::clock::Clock;
use super::irq::InterruptLine;
use super::system::{SystemControl, SystemRequest};

/// An interrupt line that remembers its level and every change to it.
#[derive(Default)]
pub struct RecordingLine {
    levels: Mutex<Vec<bool>>,
}

impl RecordingLine {
    /// The level last driven, low if never driven.
    pub fn level(&self) -> bool {
        self.levels.lock().unwrap().last().copied().unwrap_or(false)
    }
    /// Every level driven so far, in order.
    pub fn history(&self) -> Vec<bool> {
        self.levels.lock().unwrap().clone()
    }
    /// How many times the line went from low to high.
    pub fn rising_edges(&self) -> usize {
        let levels = self.levels.lock().unwrap();
        let mut previous = false;
        let mut edges = 0;
        for &level in levels.iter() {
            if level && !previous {
                edges += 1;
            }
            previous = level;
        }
        edges
    }
}

impl InterruptLine for RecordingLine {
    fn set_level(&self, level: bool) {
        self.levels.lock().unwrap().push(level);
    }
}

/// A character backend that keeps what was written and counts
/// `accept_input` calls.
#[derive(Default)]
pub struct RecordingBackend {
    written: Mutex<Vec<u8>>,
    accept_input_calls: AtomicU64,
}

impl RecordingBackend {
    pub fn written(&self) -> Vec<u8> {
        self.written.lock().unwrap().clone()
    }
    pub fn accept_input_calls(&self) -> u64 {
        self.accept_input_calls.load(Ordering::SeqCst)
    }
}

impl CharBackend for RecordingBackend {
    fn write(&self, data: &[u8]) {
        self.written.lock().unwrap().extend_from_slice(data);
    }
    fn accept_input(&self) {
        self.accept_input_calls.fetch_add(1, Ordering::SeqCst);
    }
}

/// A machine that records the requests devices make.
#[derive(Default)]
pub struct RecordingSystem {
    requests: Mutex<Vec<SystemRequest>>,
}

impl RecordingSystem {
    pub fn requests(&self) -> Vec<SystemRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl SystemControl for RecordingSystem {
    fn request(&self, request: SystemRequest) {
        self.requests.lock().unwrap().push(request);
    }
}

/// A clock that only moves when told to.
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    pub fn at(now: Duration) -> Self {
        Self {
            nanos: AtomicU64::new(now.as_nanos() as u64),
        }
    }
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
    pub fn set(&self, now: Duration) {
        self.nanos.store(now.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

//! Firing device timers from the main loop.
//!
//! Devices with timers follow `clock::TimedDevice`: they say when they next
//! need attention and do the work when called. `TimerList` keeps them with
//! their clocks and tells the main loop how long it may sleep. A guest
//! access on a vCPU thread can arm a timer while the main loop sleeps, so
//! timed devices go on the bus inside `NotifyingDevice`, which tells the
//! main loop (through `TimerNotifier`) when a deadline changed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::bus::{lock, BusDevice};
use crate::core::clock::{Clock, TimedDevice};

/// A device on a bus that has timers.
pub trait TimedBusDevice: BusDevice + TimedDevice {}
impl<T: BusDevice + TimedDevice> TimedBusDevice for T {}

/// Wakes whoever waits for timers (the main loop).
pub trait TimerNotifier: Send + Sync {
    fn deadline_changed(&self);
}

/// A timed device and the clock its deadlines are on.
type TimedEntry = (Arc<Mutex<dyn TimedBusDevice>>, Arc<dyn Clock>);

/// Timed devices and their clocks.
#[derive(Default)]
pub struct TimerList {
    entries: Vec<TimedEntry>,
}

impl TimerList {
    pub fn add(&mut self, device: Arc<Mutex<dyn TimedBusDevice>>, clock: Arc<dyn Clock>) {
        self.entries.push((device, clock));
    }

    /// How long until the earliest deadline; zero when one is due. The
    /// devices on `skip` are left out: a clock that does not follow the
    /// host's time, such as the virtual clock a qtest harness steps, is
    /// not worth waiting for.
    pub fn time_to_next(&self, skip: Option<&Arc<dyn Clock>>) -> Option<Duration> {
        self.entries
            .iter()
            .filter(|(_, clock)| skip.is_none_or(|skip| !same_source(clock, skip)))
            .filter_map(|(device, clock)| {
                let deadline = lock(device).next_deadline()?;
                Some(deadline.saturating_sub(clock.now()))
            })
            .min()
    }

    /// How long until the earliest deadline of the devices whose clocks
    /// follow `clock` (`Clock::source`); zero when one is due.
    pub fn time_to_next_on(&self, clock: &Arc<dyn Clock>) -> Option<Duration> {
        self.entries
            .iter()
            .filter(|(_, c)| same_source(c, clock))
            .filter_map(|(device, c)| Some(lock(device).next_deadline()?.saturating_sub(c.now())))
            .min()
    }

    /// Fire every timer that is due.
    pub fn run_due(&self) {
        for (device, clock) in &self.entries {
            let mut device = lock(device);
            let now = clock.now();
            if device.next_deadline().is_some_and(|d| d <= now) {
                device.on_timer(now);
            }
        }
    }
}

fn same_source(a: &Arc<dyn Clock>, b: &Arc<dyn Clock>) -> bool {
    std::ptr::eq(a.source(), b.source())
}

/// A timed device as the bus sees it: every access is passed on, and a
/// deadline that changed on the way is reported to the notifier.
pub struct NotifyingDevice {
    device: Arc<Mutex<dyn TimedBusDevice>>,
    notifier: Arc<dyn TimerNotifier>,
}

impl NotifyingDevice {
    pub fn new(device: Arc<Mutex<dyn TimedBusDevice>>, notifier: Arc<dyn TimerNotifier>) -> Self {
        Self { device, notifier }
    }

    fn access(&mut self, f: impl FnOnce(&mut dyn TimedBusDevice)) {
        let mut device = lock(&self.device);
        let before = device.next_deadline();
        f(&mut *device);
        let after = device.next_deadline();
        drop(device);
        if after.is_some() && after != before {
            self.notifier.deadline_changed();
        }
    }
}

impl BusDevice for NotifyingDevice {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        self.access(|d| d.read(offset, data));
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        self.access(|d| d.write(offset, data));
    }

    fn reset(&mut self) {
        self.access(|d| d.reset());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A clock standing still at 10 s.
    struct Fixed;
    impl Clock for Fixed {
        fn now(&self) -> Duration {
            Duration::from_secs(10)
        }
    }

    /// Arms a timer at `now + offset` when written, counts firings.
    #[derive(Default)]
    struct OneShot {
        deadline: Option<Duration>,
        fired: usize,
    }
    impl BusDevice for OneShot {
        fn read(&mut self, _: u64, data: &mut [u8]) {
            data.fill(0);
        }
        fn write(&mut self, _: u64, data: &[u8]) {
            self.deadline = Some(Duration::from_secs(10 + u64::from(data[0])));
        }
    }
    impl TimedDevice for OneShot {
        fn next_deadline(&self) -> Option<Duration> {
            self.deadline
        }
        fn on_timer(&mut self, _now: Duration) {
            self.deadline = None;
            self.fired += 1;
        }
    }

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl TimerNotifier for Count {
        fn deadline_changed(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn arming_through_the_bus_notifies_and_due_timers_fire() {
        let device = Arc::new(Mutex::new(OneShot::default()));
        let notifier = Arc::new(Count::default());
        let mut list = TimerList::default();
        list.add(device.clone(), Arc::new(Fixed));
        let mut on_bus = NotifyingDevice::new(device.clone(), notifier.clone());
        assert_eq!(list.time_to_next(None), None);

        on_bus.read(0, &mut [0]);
        assert_eq!(notifier.0.load(Ordering::SeqCst), 0, "a read arms nothing");
        on_bus.write(0, &[5]);
        assert_eq!(notifier.0.load(Ordering::SeqCst), 1);
        assert_eq!(list.time_to_next(None), Some(Duration::from_secs(5)));
        list.run_due();
        assert_eq!(device.lock().unwrap().fired, 0, "not due yet");

        on_bus.write(0, &[0]);
        assert_eq!(list.time_to_next(None), Some(Duration::ZERO));
        list.run_due();
        assert_eq!(device.lock().unwrap().fired, 1);
        assert_eq!(list.time_to_next(None), None);
    }

    #[test]
    fn deadlines_can_be_asked_per_clock() {
        let (fixed, other): (Arc<dyn Clock>, Arc<dyn Clock>) = (Arc::new(Fixed), Arc::new(Fixed));
        let device = Arc::new(Mutex::new(OneShot::default()));
        device.lock().unwrap().write(0, &[3]);
        let mut list = TimerList::default();
        list.add(device, fixed.clone());
        assert_eq!(list.time_to_next_on(&fixed), Some(Duration::from_secs(3)));
        assert_eq!(list.time_to_next_on(&other), None);
        assert_eq!(list.time_to_next(Some(&fixed)), None);
        assert_eq!(
            list.time_to_next(Some(&other)),
            Some(Duration::from_secs(3))
        );
    }
}

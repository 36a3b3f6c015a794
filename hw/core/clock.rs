//! Time for devices with timers, and the hook the main loop drives them by.
//!
//! A device with a timer never sleeps or spawns threads: it reads time from
//! an injected `Clock`, says when it next needs attention
//! (`TimedDevice::next_deadline`) and does the work when the main loop calls
//! `TimedDevice::on_timer`. Tests inject a clock they move by hand, so timer
//! behaviour is deterministic.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time. `now()` is the time since the clock's origin: the Unix
/// epoch for wall clocks, an arbitrary start for monotonic ones.
pub trait Clock: Send + Sync {
    fn now(&self) -> Duration;

    /// The clock whose ticks this one follows, told apart by address:
    /// itself, or the clock a `DatedClock` is built on. Deadlines on
    /// clocks with the same source come closer at the same pace.
    fn source(&self) -> *const () {
        self as *const Self as *const ()
    }
}

/// The host's wall clock moved by a fixed offset: QEMU's `rtc_clock` as seen
/// through `-rtc base=`. `utc()` is the host time itself; `localtime()` shifts
/// it by the host's UTC offset so that a guest reading the RTC as UTC sees the
/// local time; `starting_at()` makes the clock read a given date now and run
/// on from there.
#[derive(Debug, Clone, Copy)]
pub struct HostClock {
    offset_secs: i64,
}

impl HostClock {
    /// `-rtc base=utc` (the default).
    pub fn utc() -> Self {
        Self { offset_secs: 0 }
    }

    /// `-rtc base=localtime`: the offset of the host's local time from UTC,
    /// taken once at start-up as QEMU does.
    pub fn localtime() -> Self {
        Self {
            offset_secs: host_utc_offset_secs(host_realtime().as_secs() as libc::time_t),
        }
    }

    /// `-rtc base=DATE`: the clock reads `start` (seconds since the epoch,
    /// UTC) now and advances with the host clock from there.
    pub fn starting_at(start: i64) -> Self {
        let now = host_realtime().as_secs() as i64;
        Self {
            offset_secs: start.saturating_sub(now),
        }
    }

    /// Seconds added to the host clock.
    pub fn offset_secs(&self) -> i64 {
        self.offset_secs
    }
}

impl Clock for HostClock {
    fn now(&self) -> Duration {
        let host = host_realtime();
        let shift = Duration::from_secs(self.offset_secs.unsigned_abs());
        if self.offset_secs >= 0 {
            host.saturating_add(shift)
        } else {
            host.saturating_sub(shift)
        }
    }
}

/// A monotonic clock starting at zero when created: for timers that only
/// measure intervals (QEMU_CLOCK_VIRTUAL's role under KVM).
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    start: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Time that moves only when told to: QEMU's virtual clock under the qtest
/// accelerator, where the test harness steps it (`clock_step`). Starts at
/// zero.
#[derive(Debug, Default)]
pub struct VirtualClock {
    nanos: std::sync::atomic::AtomicU64,
}

impl VirtualClock {
    /// Move the clock to `now` (never backwards: an earlier time is ignored).
    pub fn advance_to(&self, now: Duration) {
        let nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_max(nanos, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// A wall clock that reads `start` when `ticks` reads zero and advances
/// with it: QEMU's RTC with `-rtc clock=vm`, whose date moves with the
/// virtual clock.
pub struct DatedClock {
    start: Duration,
    ticks: std::sync::Arc<dyn Clock>,
}

impl DatedClock {
    pub fn new(start: Duration, ticks: std::sync::Arc<dyn Clock>) -> Self {
        Self { start, ticks }
    }
}

impl Clock for DatedClock {
    fn now(&self) -> Duration {
        self.start.saturating_add(self.ticks.now())
    }

    fn source(&self) -> *const () {
        self.ticks.source()
    }
}

/// A device whose timers the main loop fires.
///
/// Protocol: after creating the device, and after every bus access to it or
/// input delivered to it, the main loop asks `next_deadline()` and waits at
/// most until then (the deadline is on the device's own clock: wait for
/// `deadline - clock.now()`). When the time has come it calls
/// `on_timer(clock.now())`, which fires every timer due by `now` and may move
/// the deadline. Calling `on_timer` early is harmless: nothing is due.
pub trait TimedDevice {
    /// When the device next needs `on_timer`, or `None` when no timer runs.
    fn next_deadline(&self) -> Option<Duration>;
    /// Fire the timers due at or before `now`.
    fn on_timer(&mut self, now: Duration);
}

fn host_realtime() -> Duration {
    // A host clock before 1970 is a broken host; read it as the epoch.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

fn host_utc_offset_secs(at: libc::time_t) -> i64 {
    // SAFETY: localtime_r only writes the tm we hand it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&at, &mut tm).is_null() };
    if ok {
        tm.tm_gmtoff
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_clock_offsets_follow_the_host_clock() {
        let utc = HostClock::utc().now().as_secs() as i64;
        let host = host_realtime().as_secs() as i64;
        assert!((utc - host).abs() <= 1);
        // 2006-06-17T16:01:21Z, the example date of QEMU's -rtc documentation.
        let dated = HostClock::starting_at(1_150_560_081).now().as_secs();
        assert!((1_150_560_081..=1_150_560_083).contains(&dated));
    }

    #[test]
    fn virtual_clock_moves_only_forwards_when_told() {
        let clock = VirtualClock::default();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance_to(Duration::from_nanos(1500));
        clock.advance_to(Duration::from_nanos(1000));
        assert_eq!(clock.now(), Duration::from_nanos(1500));
    }

    #[test]
    fn dated_clock_follows_its_ticks() {
        let ticks = std::sync::Arc::new(VirtualClock::default());
        let dated = DatedClock::new(Duration::from_secs(1_150_560_081), ticks.clone());
        ticks.advance_to(Duration::from_secs(2));
        assert_eq!(dated.now(), Duration::from_secs(1_150_560_083));
        let ticks: std::sync::Arc<dyn Clock> = ticks;
        assert_eq!(dated.source(), ticks.source());
    }

    #[test]
    fn monotonic_clock_starts_near_zero_and_advances() {
        let clock = MonotonicClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(a < Duration::from_secs(1));
        assert!(b >= a);
    }
}

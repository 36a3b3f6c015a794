//! QMP events: the schema's events (`qapi::QmpEvent`), stamped when the
//! machine raises them, queued where they happen and sent by the monitors
//! to every client that negotiated capabilities.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

pub use qapi::types::ShutdownCause;
use qapi::types::{ResetEvent, RtcChangeEvent, ShutdownEvent};

/// Whether the guest caused it (the events' `guest` member): QEMU counts
/// every cause after `host-ui` as the guest's.
fn caused_by_guest(cause: ShutdownCause) -> bool {
    !matches!(
        cause,
        ShutdownCause::None
            | ShutdownCause::HostError
            | ShutdownCause::HostQmpQuit
            | ShutdownCause::HostQmpSystemReset
            | ShutdownCause::HostSignal
            | ShutdownCause::HostUi
    )
}

/// One event, stamped when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    pub event: qapi::QmpEvent,
    pub seconds: u64,
    pub microseconds: u32,
}

impl QmpEvent {
    /// `event`, stamped with the wall-clock time now.
    pub fn new(event: qapi::QmpEvent) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        QmpEvent {
            event,
            seconds: now.as_secs(),
            microseconds: now.subsec_micros(),
        }
    }

    pub fn stop() -> Self {
        QmpEvent::new(qapi::QmpEvent::Stop)
    }

    pub fn resume() -> Self {
        QmpEvent::new(qapi::QmpEvent::Resume)
    }

    /// The host asked the guest to power down (`system_powerdown`).
    pub fn powerdown() -> Self {
        QmpEvent::new(qapi::QmpEvent::Powerdown)
    }

    pub fn reset(reason: ShutdownCause) -> Self {
        QmpEvent::new(qapi::QmpEvent::Reset(ResetEvent {
            guest: caused_by_guest(reason),
            reason,
        }))
    }

    pub fn shutdown(reason: ShutdownCause) -> Self {
        QmpEvent::new(qapi::QmpEvent::Shutdown(ShutdownEvent {
            guest: caused_by_guest(reason),
            reason,
        }))
    }

    /// The guest set the RTC at `qom_path` to `offset` seconds from the
    /// host's clock (moved by `-rtc base=`).
    pub fn rtc_change(offset: i64, qom_path: String) -> Self {
        QmpEvent::new(qapi::QmpEvent::RtcChange(RtcChangeEvent {
            offset,
            qom_path,
        }))
    }

    /// The message as QEMU builds it: `event`, then `data` if the event
    /// has any, then `timestamp` (the writer puts them in QEMU's order).
    pub fn message(&self) -> Value {
        let mut message = Map::new();
        message.insert("event".to_string(), Value::from(self.event.name()));
        if let Some(data) = self.event.data() {
            message.insert("data".to_string(), data);
        }
        message.insert(
            "timestamp".to_string(),
            json!({"seconds": self.seconds, "microseconds": self.microseconds}),
        );
        Value::Object(message)
    }
}

/// How often QEMU sends each of the events a guest can raise at will
/// (QEMU's `monitor_qapi_event_conf`): at most once a second.
const THROTTLE_PERIOD: Duration = Duration::from_secs(1);

/// The events sent at most once per `THROTTLE_PERIOD`; of QEMU's, the
/// schema has only `RTC_CHANGE`.
fn is_throttled(event: &qapi::QmpEvent) -> bool {
    matches!(event, qapi::QmpEvent::RtcChange(_))
}

/// A throttled event sent within the last period: later ones wait for
/// the period to end, and only the latest of them is sent then.
#[derive(Debug)]
struct Throttle {
    name: &'static str,
    period_end: Instant,
    held: Option<QmpEvent>,
}

#[derive(Debug, Default)]
struct Pending {
    ready: Vec<QmpEvent>,
    throttles: Vec<Throttle>,
}

impl Pending {
    /// Send the held events whose period ended, each starting a new
    /// period; a period that ends with nothing held ends its throttle.
    fn release_due(&mut self, now: Instant) {
        let ready = &mut self.ready;
        self.throttles.retain_mut(|throttle| {
            if throttle.period_end > now {
                return true;
            }
            match throttle.held.take() {
                Some(event) => {
                    ready.push(event);
                    throttle.period_end = now + THROTTLE_PERIOD;
                    true
                }
                None => false,
            }
        });
    }
}

/// Events raised on the main thread and not sent yet. Cloning shares the
/// queue: the machine raises events into it, the monitors send them.
#[derive(Debug, Clone, Default)]
pub struct EventQueue(Rc<RefCell<Pending>>);

impl EventQueue {
    pub fn emit(&self, event: QmpEvent) {
        self.emit_at(event, Instant::now());
    }

    fn emit_at(&self, event: QmpEvent, now: Instant) {
        let mut pending = self.0.borrow_mut();
        pending.release_due(now);
        if is_throttled(&event.event) {
            let name = event.event.name();
            if let Some(throttle) = pending.throttles.iter_mut().find(|t| t.name == name) {
                throttle.held = Some(event);
                return;
            }
            pending.throttles.push(Throttle {
                name,
                period_end: now + THROTTLE_PERIOD,
                held: None,
            });
        }
        pending.ready.push(event);
    }

    /// The events ready to send, oldest first.
    pub fn take(&self) -> Vec<QmpEvent> {
        std::mem::take(&mut self.0.borrow_mut().ready)
    }

    /// When a throttled event's period ends: call `release_due` then.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.0.borrow().throttles.iter().map(|t| t.period_end).min()
    }

    /// Make ready the held events whose period ended by `now`.
    pub fn release_due(&self, now: Instant) {
        self.0.borrow_mut().release_due(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::json_writer::to_json;

    #[test]
    fn events_as_qemu_prints_them() {
        let mut stop = QmpEvent::stop();
        (stop.seconds, stop.microseconds) = (1795605958, 438821);
        assert_eq!(
            to_json(&stop.message(), false),
            r#"{"timestamp": {"seconds": 1795605958, "microseconds": 438821}, "event": "STOP"}"#
        );
        let mut quit = QmpEvent::shutdown(ShutdownCause::HostQmpQuit);
        (quit.seconds, quit.microseconds) = (1795605988, 678586);
        assert_eq!(
            to_json(&quit.message(), false),
            r#"{"timestamp": {"seconds": 1795605988, "microseconds": 678586}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#
        );
        let reset = QmpEvent::reset(ShutdownCause::GuestReset);
        assert_eq!(
            reset.message()["data"],
            json!({"guest": true, "reason": "guest-reset"})
        );
    }

    #[test]
    fn guest_causes_are_those_after_host_ui() {
        let guest: Vec<&str> = ShutdownCause::ALL
            .iter()
            .filter(|c| caused_by_guest(**c))
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            guest,
            [
                "guest-shutdown",
                "guest-reset",
                "guest-panic",
                "subsystem-reset",
                "snapshot-load"
            ]
        );
    }

    #[test]
    fn rtc_changes_are_sent_at_most_once_a_second_keeping_the_latest() {
        let queue = EventQueue::default();
        let start = Instant::now();
        let change = |offset| QmpEvent::rtc_change(offset, "/machine/rtc".to_string());
        let offsets = |events: Vec<QmpEvent>| -> Vec<Value> {
            events
                .iter()
                .map(|e| e.message()["data"]["offset"].clone())
                .collect()
        };
        // The first goes at once; the next two wait, and only the last of
        // them is sent when the second is over. Other events never wait.
        queue.emit_at(change(1), start);
        queue.emit_at(change(2), start + Duration::from_millis(100));
        queue.emit_at(QmpEvent::stop(), start + Duration::from_millis(150));
        queue.emit_at(change(3), start + Duration::from_millis(200));
        assert_eq!(queue.take().len(), 2);
        assert_eq!(queue.next_deadline(), Some(start + THROTTLE_PERIOD));
        queue.release_due(start + Duration::from_millis(999));
        assert!(queue.take().is_empty());
        let second = start + THROTTLE_PERIOD;
        queue.release_due(second);
        assert_eq!(offsets(queue.take()), [json!(3)]);
        // Sending it started another period, which ends with nothing held.
        assert_eq!(queue.next_deadline(), Some(second + THROTTLE_PERIOD));
        queue.release_due(second + THROTTLE_PERIOD);
        assert_eq!(queue.next_deadline(), None);
        queue.emit_at(change(4), second + THROTTLE_PERIOD);
        assert_eq!(offsets(queue.take()), [json!(4)]);
    }
}

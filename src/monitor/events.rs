//! QMP events: the schema's events (`qapi::QmpEvent`), stamped when the
//! machine raises them, queued where they happen and sent by the monitors
//! to every client that negotiated capabilities.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// Events raised on the main thread and not sent yet. Cloning shares the
/// queue: the machine raises events into it, the monitors send them.
#[derive(Debug, Clone, Default)]
pub struct EventQueue(Rc<RefCell<Vec<QmpEvent>>>);

impl EventQueue {
    pub fn emit(&self, event: QmpEvent) {
        self.0.borrow_mut().push(event);
    }

    /// The events raised since the last call, oldest first.
    pub fn take(&self) -> Vec<QmpEvent> {
        std::mem::take(&mut *self.0.borrow_mut())
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
}

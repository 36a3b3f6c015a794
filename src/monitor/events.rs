//! QMP events: what the machine announces (`STOP`, `RESUME`, `RESET`,
//! `SHUTDOWN`), queued where they happen and sent by the monitors to every
//! client that negotiated capabilities.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// Why the machine shut down or reset (QEMU's `ShutdownCause`, by its QMP
/// name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownCause {
    HostQmpQuit,
    HostQmpSystemReset,
    HostSignal,
    GuestShutdown,
    GuestReset,
}

impl ShutdownCause {
    pub fn name(self) -> &'static str {
        match self {
            ShutdownCause::HostQmpQuit => "host-qmp-quit",
            ShutdownCause::HostQmpSystemReset => "host-qmp-system-reset",
            ShutdownCause::HostSignal => "host-signal",
            ShutdownCause::GuestShutdown => "guest-shutdown",
            ShutdownCause::GuestReset => "guest-reset",
        }
    }

    /// Whether the guest asked for it (the events' `guest` member).
    pub fn by_guest(self) -> bool {
        matches!(
            self,
            ShutdownCause::GuestShutdown | ShutdownCause::GuestReset
        )
    }
}

/// One event, stamped when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    pub name: &'static str,
    /// Omitted on the wire when empty.
    pub data: Map<String, Value>,
    pub seconds: u64,
    pub microseconds: u32,
}

impl QmpEvent {
    /// Event `name` with `data`, stamped with the wall-clock time now.
    pub fn new(name: &'static str, data: Map<String, Value>) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        QmpEvent {
            name,
            data,
            seconds: now.as_secs(),
            microseconds: now.subsec_micros(),
        }
    }

    pub fn stop() -> Self {
        QmpEvent::new("STOP", Map::new())
    }

    pub fn resume() -> Self {
        QmpEvent::new("RESUME", Map::new())
    }

    /// The host asked the guest to power down (`system_powerdown`).
    pub fn powerdown() -> Self {
        QmpEvent::new("POWERDOWN", Map::new())
    }

    pub fn reset(cause: ShutdownCause) -> Self {
        QmpEvent::new("RESET", cause_data(cause))
    }

    pub fn shutdown(cause: ShutdownCause) -> Self {
        QmpEvent::new("SHUTDOWN", cause_data(cause))
    }

    /// The message as QEMU builds it.
    pub fn message(&self) -> Value {
        let mut message = Map::new();
        message.insert("event".to_string(), Value::from(self.name));
        if !self.data.is_empty() {
            message.insert("data".to_string(), Value::Object(self.data.clone()));
        }
        message.insert(
            "timestamp".to_string(),
            json!({"seconds": self.seconds, "microseconds": self.microseconds}),
        );
        Value::Object(message)
    }
}

fn cause_data(cause: ShutdownCause) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("guest".to_string(), Value::Bool(cause.by_guest()));
    data.insert("reason".to_string(), Value::from(cause.name()));
    data
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
}

//! QMP's error reply: a class and a human-readable description.

use serde_json::{json, Value};

/// The error classes QEMU 7.2 still reports (`qapi/error.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    GenericError,
    CommandNotFound,
    DeviceNotActive,
    DeviceNotFound,
    KVMMissingCap,
}

impl ErrorClass {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::GenericError => "GenericError",
            ErrorClass::CommandNotFound => "CommandNotFound",
            ErrorClass::DeviceNotActive => "DeviceNotActive",
            ErrorClass::DeviceNotFound => "DeviceNotFound",
            ErrorClass::KVMMissingCap => "KVMMissingCap",
        }
    }
}

/// A failed command, as the `error` member of a reply describes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{desc}")]
pub struct QmpError {
    pub class: ErrorClass,
    pub desc: String,
}

impl QmpError {
    pub fn new(class: ErrorClass, desc: impl Into<String>) -> Self {
        QmpError {
            class,
            desc: desc.into(),
        }
    }

    /// Most errors are of class GenericError.
    pub fn generic(desc: impl Into<String>) -> Self {
        QmpError::new(ErrorClass::GenericError, desc)
    }

    /// A command name the schema does not define.
    pub fn command_not_found(name: &str) -> Self {
        QmpError::new(
            ErrorClass::CommandNotFound,
            format!("The command {name} has not been found"),
        )
    }

    /// The `error` member of a reply: `{"class": ..., "desc": ...}`.
    pub fn to_json(&self) -> Value {
        json!({ "class": self.class.as_str(), "desc": self.desc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_member_has_class_and_desc() {
        assert_eq!(
            QmpError::command_not_found("query-events").to_json(),
            json!({"class": "CommandNotFound", "desc": "The command query-events has not been found"})
        );
    }
}

//! Errors the command line reports, in QEMU's format.

use std::fmt;

/// The program name QEMU prefixes to every message.
pub const PROGRAM: &str = "qemu-system-x86_64";

/// One or more lines for stderr, each `qemu-system-x86_64: [LOCATION: ]MESSAGE`;
/// the process exits with status 1 after printing them. A message may run
/// over several lines (QEMU's hints); only its first line gets the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    lines: Vec<String>,
}

impl CliError {
    /// An error tied to an option as the user wrote it, e.g. `-m 1Z`.
    pub fn at(location: &str, message: impl fmt::Display) -> Self {
        CliError {
            lines: vec![format!("{PROGRAM}: {location}: {message}")],
        }
    }

    /// An error QEMU reports without an option location.
    pub fn plain(message: impl fmt::Display) -> Self {
        CliError {
            lines: vec![format!("{PROGRAM}: {message}")],
        }
    }

    /// `at(location, ...)` when there is a location, else `plain(...)`.
    pub fn located(location: Option<&str>, message: impl fmt::Display) -> Self {
        match location {
            Some(location) => Self::at(location, message),
            None => Self::plain(message),
        }
    }

    /// Lines printed before this error (QEMU reports a cause, then the
    /// consequence, e.g. an invalid chardev then the serial port that
    /// could not use it).
    pub fn after(mut first: CliError, then: CliError) -> Self {
        first.lines.extend(then.lines);
        first
    }

    /// Warnings already printed when the error happened come first.
    pub fn with_warnings_before(mut self, warnings: &[String]) -> Self {
        let mut lines = warnings.to_vec();
        lines.append(&mut self.lines);
        self.lines = lines;
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join("\n"))
    }
}

impl std::error::Error for CliError {}

/// A warning in QEMU's format: `qemu-system-x86_64: [LOCATION: ]warning: ...`.
pub fn warning(location: Option<&str>, message: impl fmt::Display) -> String {
    match location {
        Some(location) => format!("{PROGRAM}: {location}: warning: {message}"),
        None => format!("{PROGRAM}: warning: {message}"),
    }
}

//! The QMP schema of rqemu as data, and the values the monitor and the
//! command line share with it.
//!
//! `schema/*.json` defines every command and event in QAPI's schema
//! language; `build.rs` generates from it the Rust types ([`types`]), the
//! [`commands::QmpCommands`] trait with [`commands::dispatch`], the events
//! ([`events::QmpEvent`]) and `query-qmp-schema`'s answer
//! ([`introspection`]).
//!
//! Adding a command: write its entry (and any new types) in the right
//! `schema/*.json` module, in QAPI's schema language, then implement the
//! new [`commands::QmpCommands`] method the build generates. Argument
//! decoding, `query-qmp-schema` and `query-commands` follow by themselves.
//!
//! The QMP server calls [`commands::dispatch`] (or
//! [`commands::QmpCommand::decode`] then `execute`), turns a
//! [`error::QmpError`] into the reply's `error` member with
//! [`error::QmpError::to_json`], and sends [`events::QmpEvent`]s with
//! their `name()` and `data()`.

pub mod commands;
pub mod error;
pub mod events;
pub mod introspection;
mod leftover_order;
pub mod types;
pub mod version;
pub mod visit;

pub use commands::{dispatch, CommandEntry, QmpCommand, QmpCommands, COMMANDS};
pub use error::{ErrorClass, QmpError};
pub use events::{QmpEvent, EVENT_NAMES};

// The generator's own tests run with the crate's. `build.rs` uses all of
// the generator; the tests only part of it.
#[cfg(test)]
#[allow(dead_code)]
mod gen {
    #[path = "introspect.rs"]
    pub mod introspect;
    #[path = "model.rs"]
    pub mod model;
    #[path = "parser.rs"]
    pub mod parser;
    #[path = "rust.rs"]
    pub mod rust;
}

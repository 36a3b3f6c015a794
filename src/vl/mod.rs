//! The command line, parsed the way QEMU 7.2 parses it, into a
//! `MachineDescription`: same options, same syntax, same errors in the same
//! order.
//!
//! - `options`: which options exist; argv split into options in order (clap).
//! - `keyval`, `json`, `opts_list`: the three body syntaxes (QemuOpts,
//!   keyval, JSON) and the parameter lists of QemuOpts options.
//! - `parse`: the option loop, then the steps QEMU takes after it
//!   (`parse::steps`), with single-option checks in `parse::checks`.
//! - `machine`, `smp`, `chardev`, `objects`, `netdev`, `qapi_members`:
//!   what each kind of option accepts.
//! - `description`: the result; `error`: QEMU's message format;
//!   `help`: help and version texts; `qdict`: reading values.

pub mod chardev;
pub mod description;
pub mod error;
mod help;
pub mod json;
pub mod keyval;
pub mod machine;
pub mod netdev;
pub mod objects;
pub mod options;
pub mod opts_list;
mod parse;
pub mod qapi_members;
pub mod qdict;
pub mod smp;

use hw::core::qdev::{validate_device_properties, PropertyInput, PropertyValue};
use serde_json::Value;

use description::{DeviceOptions, MachineDescription};
pub use error::CliError;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Build and run this machine.
    Run(Box<MachineDescription>),
    /// Print `stdout` (help, version), after the `warnings` lines on
    /// stderr, and exit with `code`.
    Exit {
        stdout: String,
        warnings: Vec<String>,
        code: i32,
    },
    /// `-cpu help`: the CPU code prints its model list (after `warnings`
    /// on stderr) and the process exits 0.
    CpuHelp { warnings: Vec<String> },
}

/// Parses `args` (without the program name). An error's `Display` is the
/// complete stderr text; the process then exits with status 1.
pub fn parse_command_line(args: &[String]) -> Result<Command, CliError> {
    let tokens = options::tokenize(args)?;
    parse::run(tokens)
}

/// Checks a `-device` against the device types implemented and returns
/// its typed property values (`id` and `driver` excluded), or QEMU's error
/// at the option's location (`-device nosuchdev: 'nosuchdev' is not a
/// valid device model name`).
pub fn validate_device(
    device: &DeviceOptions,
) -> Result<Vec<(&'static str, PropertyValue)>, CliError> {
    let inputs = device.properties.iter().map(|(name, value)| {
        let input = match value {
            Value::String(text) if device.json => PropertyInput::JsonString(text),
            Value::String(text) => PropertyInput::Text(text),
            Value::Bool(b) => PropertyInput::JsonBool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => PropertyInput::JsonInteger(i.into()),
                (None, Some(u)) => PropertyInput::JsonInteger(u.into()),
                _ => PropertyInput::JsonFloat(n.as_f64().unwrap_or_default()),
            },
            _ => PropertyInput::JsonOther,
        };
        (name.as_str(), input)
    });
    validate_device_properties(&device.driver, inputs)
        .map_err(|message| CliError::at(&device.location, message))
}

#[cfg(test)]
mod tests;

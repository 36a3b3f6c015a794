//! QAPI object members as QEMU's input visitor checks them: members in
//! schema order (missing, wrong type), then the unknown ones. Values are
//! strings from `key=value` bodies, typed from JSON.

use serde_json::Value;

use super::description::Dict;
use super::qdict::{expects_on_off, parse_bool, parse_i64, parse_size, parse_u64};

#[derive(Clone, Copy)]
pub enum Kind {
    Bool,
    Size,
    /// A signed integer.
    Integer,
    /// An unsigned integer.
    Unsigned,
    Text,
    /// A list or an enum the visitor checks later; taken as given.
    Other,
}

pub struct Member {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub const fn member(name: &'static str, kind: Kind) -> Member {
    Member {
        name,
        kind,
        required: false,
    }
}

pub const fn required(name: &'static str, kind: Kind) -> Member {
    Member {
        name,
        kind,
        required: true,
    }
}

/// How the values were written: strings (keyval or QemuOpts bodies) or
/// typed JSON; QEMU words the errors differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Strings,
    Json,
}

/// Checks `properties` against `members`; keys in `skip` are the
/// caller's (`id`, `type`).
pub fn check_members(
    members: &[&Member],
    properties: &Dict,
    form: Form,
    skip: &[&str],
) -> Result<(), String> {
    let json = form == Form::Json;
    let expects_integer = |name: &str, unsigned: bool| {
        let what = if unsigned { "a uint64" } else { "an int64" };
        format!("Parameter '{name}' expects {what} value")
    };
    for member in members {
        let name = member.name;
        let Some(value) = properties.get(name) else {
            if member.required {
                return Err(format!("Parameter '{name}' is missing"));
            }
            continue;
        };
        let wrong_type =
            |expected: &str| format!("Invalid parameter type for '{name}', expected: {expected}");
        match (member.kind, value) {
            (Kind::Bool, Value::Bool(_)) => {}
            (Kind::Bool, Value::String(text)) if !json => {
                parse_bool(text).ok_or_else(|| expects_on_off(name))?;
            }
            (Kind::Bool, _) => return Err(wrong_type("boolean")),
            (Kind::Size, Value::Number(n)) if n.is_u64() => {}
            (Kind::Size, Value::String(text)) if !json => {
                parse_size(text, 1)
                    .map_err(|_| format!("Parameter '{name}' expects a size value"))?;
            }
            (Kind::Size, _) => return Err(format!("Parameter '{name}' expects uint64")),
            (Kind::Integer, Value::Number(n)) if n.is_i64() => {}
            (Kind::Unsigned, Value::Number(n)) if n.is_u64() => {}
            (Kind::Integer, Value::String(text)) if !json => {
                parse_i64(text).ok_or_else(|| expects_integer(name, false))?;
            }
            (Kind::Unsigned, Value::String(text)) if !json => {
                parse_u64(text)
                    .filter(|_| !text.trim_start().starts_with('-'))
                    .ok_or_else(|| expects_integer(name, true))?;
            }
            (Kind::Integer | Kind::Unsigned, _) => return Err(wrong_type("integer")),
            (Kind::Text, Value::String(_)) => {}
            (Kind::Text, _) => return Err(wrong_type("string")),
            (Kind::Other, _) => {}
        }
    }
    if let Some(unknown) = properties
        .keys()
        .find(|key| !skip.contains(&key.as_str()) && members.iter().all(|m| m.name != key.as_str()))
    {
        return Err(if json {
            format!("Parameter '{unknown}' is unexpected")
        } else {
            format!("Invalid parameter '{unknown}'")
        });
    }
    Ok(())
}

//! `-object` types implemented, with their QAPI members, checked the way
//! QEMU's visitor checks them (members in schema order, then unknown ones).

use serde_json::Value;

use super::description::Dict;
use super::qdict::{expects_on_off, parse_bool, parse_size, parse_u64};

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Size,
    Integer,
    Text,
    /// A list or an enum the visitor checks later; taken as given.
    Other,
}

struct Member {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn member(name: &'static str, kind: Kind) -> Member {
    Member {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str, kind: Kind) -> Member {
    Member {
        name,
        kind,
        required: true,
    }
}

const MEMORY_BACKEND: &[Member] = &[
    member("dump", Kind::Bool),
    member("host-nodes", Kind::Other),
    member("merge", Kind::Bool),
    member("policy", Kind::Other),
    member("prealloc", Kind::Bool),
    member("prealloc-threads", Kind::Integer),
    member("prealloc-context", Kind::Text),
    member("share", Kind::Bool),
    member("reserve", Kind::Bool),
    required("size", Kind::Size),
    member("x-use-canonical-path-for-ramblock-id", Kind::Bool),
];

const MEMORY_BACKEND_FILE: &[Member] = &[
    member("align", Kind::Size),
    member("discard-data", Kind::Bool),
    required("mem-path", Kind::Text),
    member("pmem", Kind::Bool),
    member("readonly", Kind::Bool),
];

const MEMORY_BACKEND_MEMFD: &[Member] = &[
    member("hugetlb", Kind::Bool),
    member("hugetlbsize", Kind::Size),
    member("seal", Kind::Bool),
];

const SECRET: &[Member] = &[
    member("loaded", Kind::Bool),
    member("format", Kind::Other),
    member("keyid", Kind::Text),
    member("iv", Kind::Text),
    member("data", Kind::Text),
    member("file", Kind::Text),
];

/// The object types `-object` accepts, for `-object help` too.
pub const OBJECT_TYPES: &[&str] = &[
    "memory-backend-file",
    "memory-backend-memfd",
    "memory-backend-ram",
    "secret",
];

fn members(qom_type: &str) -> Vec<&'static Member> {
    let specific: &[Member] = match qom_type {
        "memory-backend-file" => MEMORY_BACKEND_FILE,
        "memory-backend-memfd" => MEMORY_BACKEND_MEMFD,
        "secret" => return SECRET.iter().collect(),
        _ => &[],
    };
    MEMORY_BACKEND.iter().chain(specific).collect()
}

/// Checks the properties of an object of a type in `OBJECT_TYPES`;
/// `json` tells typed JSON values from keyval strings.
pub fn check_object_properties(
    qom_type: &str,
    properties: &Dict,
    json: bool,
) -> Result<(), String> {
    let members = members(qom_type);
    for member in &members {
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
            (Kind::Integer, Value::String(text)) if !json => {
                parse_u64(text).ok_or_else(|| format!("Parameter '{name}' expects integer"))?;
            }
            (Kind::Integer, _) => return Err(wrong_type("integer")),
            (Kind::Text, Value::String(_)) => {}
            (Kind::Text, _) => return Err(wrong_type("string")),
            (Kind::Other, _) => {}
        }
    }
    if let Some(unknown) = properties
        .keys()
        .find(|key| members.iter().all(|m| m.name != key.as_str()))
    {
        return Err(if json {
            format!("Parameter '{unknown}' is unexpected")
        } else {
            format!("Invalid parameter '{unknown}'")
        });
    }
    Ok(())
}

/// Checks QEMU makes when it creates the object.
pub fn check_object_creation(qom_type: &str, properties: &Dict) -> Result<(), String> {
    if qom_type == "secret" && !properties.contains_key("data") && !properties.contains_key("file")
    {
        return Err("Either 'file' or 'data' must be provided".to_owned());
    }
    Ok(())
}

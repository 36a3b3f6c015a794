//! `-object` types implemented, with their QAPI members.

use super::description::Dict;
use super::qapi_members::{check_members, member, required, Form, Kind, Member};

const MEMORY_BACKEND: &[Member] = &[
    member("dump", Kind::Bool),
    member("host-nodes", Kind::Other),
    member("merge", Kind::Bool),
    member("policy", Kind::Other),
    member("prealloc", Kind::Bool),
    member("prealloc-threads", Kind::Unsigned),
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
/// Checks the properties of an object of a type in `OBJECT_TYPES`;
/// `json` tells typed JSON values from keyval strings.
pub fn check_object_properties(
    qom_type: &str,
    properties: &Dict,
    json: bool,
) -> Result<(), String> {
    let form = if json { Form::Json } else { Form::Strings };
    check_members(&members(qom_type), properties, form, &[])
}

/// Checks QEMU makes when it creates the object.
pub fn check_object_creation(qom_type: &str, properties: &Dict) -> Result<(), String> {
    if qom_type == "secret" && !properties.contains_key("data") && !properties.contains_key("file")
    {
        return Err("Either 'file' or 'data' must be provided".to_owned());
    }
    Ok(())
}

//! `query-qmp-schema` compared with QEMU 7.2's
//! (`reference/qemu-7.2/qmp/query-qmp-schema.json`): for every command and
//! event we define, the masked type names are resolved on both sides and
//! the resulting trees must be equal, except for the union branches we
//! deliberately lack.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use qapi::introspection::{command_list, qmp_schema, qmp_schema_json};
use qapi::{COMMANDS, EVENT_NAMES};
use serde_json::{json, Value};

type Entries = HashMap<String, Value>;

fn by_name(list: &Value) -> Entries {
    list.as_array()
        .expect("SchemaInfo list")
        .iter()
        .map(|e| (e["name"].as_str().expect("name").to_string(), e.clone()))
        .collect()
}

fn qemu() -> Value {
    let text = common::reference("qemu-7.2/qmp/query-qmp-schema.json");
    let reply: Value = serde_json::from_str(&text).expect("QEMU's schema");
    reply["return"].clone()
}

fn features(entry: &Value) -> Value {
    entry.get("features").cloned().unwrap_or(json!([]))
}

/// The tree of type `name` with masked names replaced by what they stand
/// for. `path` holds the types being expanded, to cut recursion.
fn resolve(entries: &Entries, name: &str, path: &mut Vec<String>) -> Value {
    let Some(entry) = entries.get(name) else {
        return json!({ "unknown": name });
    };
    if path.iter().any(|p| p == name) {
        return json!("<recursive>");
    }
    path.push(name.to_string());
    let tree = match entry["meta-type"].as_str() {
        Some("builtin") => json!({ "builtin": name }),
        Some("array") => {
            json!({ "array": resolve(entries, entry["element-type"].as_str().unwrap_or(""), path) })
        }
        Some("enum") => json!({ "enum": entry["members"], "features": features(entry) }),
        Some("alternate") => {
            let members: Vec<Value> = entry["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| resolve(entries, m["type"].as_str().unwrap_or(""), path))
                .collect();
            json!({ "alternate": members, "features": features(entry) })
        }
        Some("object") => {
            let members: Vec<Value> = entry["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    json!({
                        "name": m["name"],
                        "type": resolve(entries, m["type"].as_str().unwrap_or(""), path),
                        "optional": m.get("default").is_some(),
                        "features": features(m),
                    })
                })
                .collect();
            let variants: BTreeMap<String, Value> = entry
                .get("variants")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| {
                    (
                        v["case"].as_str().unwrap_or("").to_string(),
                        resolve(entries, v["type"].as_str().unwrap_or(""), path),
                    )
                })
                .collect();
            json!({
                "members": members,
                "tag": entry.get("tag"),
                "variants": variants,
                "features": features(entry),
            })
        }
        other => json!({ "unexpected meta-type": other }),
    };
    path.pop();
    tree
}

/// A command or event with its argument and return trees.
fn resolve_entity(entries: &Entries, name: &str) -> Value {
    let entry = &entries[name];
    let mut path = Vec::new();
    json!({
        "meta-type": entry["meta-type"],
        "features": features(entry),
        "allow-oob": entry.get("allow-oob"),
        "arg-type": resolve(entries, entry["arg-type"].as_str().unwrap_or(""), &mut path),
        "ret-type": entry.get("ret-type").and_then(Value::as_str).map(|r| resolve(entries, r, &mut path)),
    })
}

/// The union branches we deliberately lack: QEMU's chardev backends that
/// rqemu does not have. Each is (entity, path of members to the union,
/// removed discriminator values).
const DELIBERATELY_MISSING: &[(&str, &[&str], &[&str])] = &[(
    "chardev-add",
    &["arg-type", "backend"],
    &[
        "serial",
        "parallel",
        "udp",
        "msmouse",
        "wctablet",
        "braille",
        "testdev",
        "console",
        "spicevmc",
        "spiceport",
        "qemu-vdagent",
        "dbus",
        "vc",
        "memory",
    ],
)];

/// Removes `cases` from the union found by following `path` in `tree`.
fn remove_union_cases(tree: &mut Value, path: &[&str], cases: &[&str]) {
    let mut node = tree;
    for (i, step) in path.iter().enumerate() {
        node = if i == 0 {
            &mut node[*step]
        } else {
            let members = node["members"].as_array_mut().expect("members");
            let member = members
                .iter_mut()
                .find(|m| m["name"] == *step)
                .expect("member on path");
            &mut member["type"]
        };
    }
    let variants = node["variants"].as_object_mut().expect("a union");
    for case in cases {
        assert!(
            variants.remove(*case).is_some(),
            "QEMU has no branch {case}"
        );
    }
    let tag = node["tag"].as_str().expect("tag").to_string();
    let members = node["members"].as_array_mut().expect("members");
    let tag_member = members
        .iter_mut()
        .find(|m| m["name"] == tag.as_str())
        .expect("tag member");
    let values = tag_member["type"]["enum"].as_array_mut().expect("tag enum");
    values.retain(|v| !cases.contains(&v["name"].as_str().unwrap_or("")));
}

#[test]
fn every_command_and_event_matches_qemu() {
    let ours = by_name(&qmp_schema_json());
    let theirs = by_name(&qemu());
    let names: Vec<&str> = COMMANDS
        .iter()
        .map(|c| c.name)
        .chain(EVENT_NAMES.iter().copied())
        .collect();
    for name in names {
        assert!(theirs.contains_key(name), "QEMU 7.2 has no {name}");
        let our_tree = resolve_entity(&ours, name);
        let mut qemu_tree = resolve_entity(&theirs, name);
        for (entity, path, cases) in DELIBERATELY_MISSING {
            if *entity == name {
                remove_union_cases(&mut qemu_tree, path, cases);
            }
        }
        assert_eq!(
            our_tree,
            qemu_tree,
            "{name} differs from QEMU 7.2:\nours: {}\nQEMU: {}",
            serde_json::to_string_pretty(&our_tree).unwrap_or_default(),
            serde_json::to_string_pretty(&qemu_tree).unwrap_or_default()
        );
    }
}

#[test]
fn commands_and_events_keep_qemus_relative_order() {
    let qemu = qemu();
    let entities = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["meta-type"].as_str(), Some("command" | "event")))
            .map(|e| e["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let ours = entities(&qmp_schema_json());
    let ours_set: HashSet<&String> = ours.iter().collect();
    let qemu_order: Vec<String> = entities(&qemu)
        .into_iter()
        .filter(|n| ours_set.contains(n))
        .collect();
    assert_eq!(ours, qemu_order);
}

#[test]
fn layout_follows_introspect_py() {
    let list = qmp_schema_json();
    let list = list.as_array().expect("list");
    // Commands and events first, then the types.
    let first_type = list
        .iter()
        .position(|e| !matches!(e["meta-type"].as_str(), Some("command" | "event")))
        .expect("types");
    assert!(list[first_type..]
        .iter()
        .all(|e| !matches!(e["meta-type"].as_str(), Some("command" | "event"))));
    // As in QEMU, the first command has no arguments, so "0" is the empty
    // object and the first type listed.
    assert_eq!(list[0]["arg-type"], "0");
    assert_eq!(
        list[first_type],
        json!({"name": "0", "members": [], "meta-type": "object"})
    );
    let mut seen = HashSet::new();
    let entries = by_name(&qmp_schema_json());
    for e in &list[first_type..] {
        let name = e["name"].as_str().expect("name");
        assert!(seen.insert(name.to_string()), "{name} listed twice");
        match e["meta-type"].as_str() {
            // Built-ins keep their names; integer types all show as int.
            Some("builtin") => assert!(
                ["str", "int", "number", "bool", "null", "any"].contains(&name),
                "{name}"
            ),
            Some("array") => assert_eq!(
                name,
                format!("[{}]", e["element-type"].as_str().unwrap_or(""))
            ),
            _ => assert!(name.parse::<u32>().is_ok(), "{name} is not masked"),
        }
    }
    // Every type referenced is listed, and every listed type is used.
    let mut referenced = HashSet::new();
    for e in list {
        for key in ["arg-type", "ret-type", "element-type"] {
            if let Some(t) = e.get(key).and_then(Value::as_str) {
                referenced.insert(t.to_string());
            }
        }
        for m in e
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = m.get("type").and_then(Value::as_str) {
                referenced.insert(t.to_string());
            }
        }
        for v in e
            .get("variants")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            referenced.insert(v["type"].as_str().unwrap_or("").to_string());
        }
    }
    for t in &referenced {
        assert!(entries.contains_key(t), "{t} is referenced but not listed");
    }
    assert_eq!(referenced, seen, "listed types that nothing uses");
}

#[test]
fn typed_schema_serialises_back_to_the_same_json() {
    let typed = serde_json::to_value(qmp_schema()).expect("serialise");
    assert_eq!(typed, qmp_schema_json());
    // Optional members keep their `"default": null`.
    assert!(typed.to_string().contains("\"default\":null"));
}

#[test]
fn query_commands_lists_ours_in_qemus_order() {
    let listed: Vec<String> = command_list().into_iter().map(|c| c.name).collect();
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), COMMANDS.len());
    // QEMU 7.2's answer, restricted to our commands: the last registered
    // first.
    let text = common::reference("qemu-7.2/qmp/query-commands.json");
    let reply: Value = serde_json::from_str(&text).expect("query-commands.json");
    let qemu: Vec<String> = reply["return"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .filter(|n| unique.contains(&n.to_string()))
        .map(str::to_string)
        .collect();
    assert_eq!(listed, qemu);
    // QEMU 7.2 has no query-events (its reference answer is CommandNotFound).
    assert!(!listed.iter().any(|n| n == "query-events"));
}

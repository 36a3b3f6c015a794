//! libvirt 9.0's schema queries (`reference/libvirt-9.0/samples/
//! schema-queries-in-libvirt-9.0.0-binary.txt`) evaluated against our
//! `query-qmp-schema`, with libvirt's query rules (`virQEMUQAPISchemaPathGet`
//! in `src/qemu/qemu_qapi.c`):
//!
//! - the first component names a command or event;
//! - on a command or event, a component selects `arg-type` or `ret-type`;
//! - on an object, `name` selects a member, `*name` an optional member,
//!   `+case` a union branch;
//! - `^value` asks whether an enum has a value, `$feature` whether the
//!   entry has a feature, `!type` a built-in's JSON type; each ends a query;
//! - arrays are looked through; alternates try each branch.

mod common;

use std::collections::HashMap;

use qapi::introspection::qmp_schema_json;
use serde_json::Value;

struct Schema(HashMap<String, Value>);

impl Schema {
    fn new(list: &Value) -> Self {
        Schema(
            list.as_array()
                .into_iter()
                .flatten()
                .map(|e| (e["name"].as_str().unwrap_or("").to_string(), e.clone()))
                .collect(),
        )
    }

    /// Whether libvirt would find `query` (`virQEMUQAPISchemaPathExists`).
    fn answers(&self, query: &str) -> bool {
        let mut parts = query.split('/');
        let Some(first) = parts.next() else {
            return false;
        };
        let rest: Vec<&str> = parts.collect();
        self.traverse(first, &rest)
    }

    fn has_feature(entry: &Value, feature: &str) -> bool {
        entry["features"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == feature))
    }

    fn traverse(&self, name: &str, query: &[&str]) -> bool {
        let Some(entry) = self.0.get(name) else {
            return false;
        };
        let Some((&step, rest)) = query.split_first() else {
            return true;
        };
        let (modifier, word) = match step.chars().next() {
            Some(c) if !c.is_ascii_alphabetic() => (Some(c), &step[c.len_utf8()..]),
            _ => (None, step),
        };
        let last = rest.is_empty();
        match entry["meta-type"].as_str() {
            Some("array") => self.traverse(entry["element-type"].as_str().unwrap_or(""), query),
            Some("alternate") => entry["members"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| self.traverse(m["type"].as_str().unwrap_or(""), query)),
            Some("enum") => {
                modifier == Some('^')
                    && last
                    && entry["values"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|x| x == word))
            }
            Some("builtin") => modifier == Some('!') && last && entry["json-type"] == word,
            Some("command" | "event") => match modifier {
                Some('$') => last && Self::has_feature(entry, word),
                Some(_) => false,
                None => entry
                    .get(word)
                    .and_then(Value::as_str)
                    .is_some_and(|t| self.traverse(t, rest)),
            },
            Some("object") => match modifier {
                Some('$') => last && Self::has_feature(entry, word),
                Some('^' | '!') => false,
                Some('+') => Self::find(entry, "variants", "case", word)
                    .is_some_and(|v| self.traverse(v["type"].as_str().unwrap_or(""), rest)),
                _ => Self::find(entry, "members", "name", word)
                    .filter(|m| modifier != Some('*') || m.get("default").is_some())
                    .is_some_and(|m| self.traverse(m["type"].as_str().unwrap_or(""), rest)),
            },
            _ => false,
        }
    }

    fn find<'a>(entry: &'a Value, list: &str, key: &str, wanted: &str) -> Option<&'a Value> {
        entry[list].as_array()?.iter().find(|x| x[key] == wanted)
    }
}

fn queries() -> Vec<String> {
    common::reference("libvirt-9.0/samples/schema-queries-in-libvirt-9.0.0-binary.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The queries about what rqemu has: each must be answered.
const ANSWERED: &[&str] = &[
    "chardev-add/arg-type/backend/+socket/data/reconnect",
    "query-hotpluggable-cpus/ret-type/props/die-id",
    "query-iothreads/ret-type/poll-max-ns",
    "query-migrate/ret-type/blocked-reasons",
];

#[test]
fn queries_about_what_we_have_are_answered() {
    let ours = Schema::new(&qmp_schema_json());
    let answered: Vec<String> = queries().into_iter().filter(|q| ours.answers(q)).collect();
    assert_eq!(answered, ANSWERED);
}

#[test]
fn queries_we_answer_are_answered_by_qemu_too() {
    let text = common::reference("qemu-7.2/qmp/query-qmp-schema.json");
    let reply: Value = serde_json::from_str(&text).expect("QEMU's schema");
    let qemu = Schema::new(&reply["return"]);
    for q in ANSWERED {
        assert!(qemu.answers(q), "{q}");
    }
    // The evaluator itself, on QEMU's schema: features, enum values and
    // branches of things QEMU 7.2 has are found; things it lacks are not.
    assert!(qemu.answers("device_add/$json-cli-hotplug"));
    assert!(qemu.answers("blockdev-snapshot/$allow-write-only-overlay"));
    assert!(qemu.answers("screendump/arg-type/format/^png"));
    assert!(qemu.answers("netdev_add/arg-type/+stream"));
    assert!(qemu.answers("chardev-add/arg-type/backend/+qemu-vdagent"));
    assert!(!qemu.answers("blockdev-add/arg-type/+vxhs"));
    assert!(!qemu.answers("device_add/$no-such-feature"));
}

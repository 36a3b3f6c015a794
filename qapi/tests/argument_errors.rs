//! Argument decoding compared with QEMU 7.2: every request recorded in
//! `tests/data/qemu-7.2-argument-errors.log` and in the reference
//! transcript `transcript5-argerrors.log` for a command of our schema
//! must decode, or fail with QEMU's exact text.

mod common;

use std::path::Path;

use qapi::{ErrorClass, QmpCommand, COMMANDS};
use serde_json::{Map, Value};

/// A file under this crate's `tests/data/`.
fn data(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether QEMU's reply is an error of argument decoding (rather than one
/// of running the command, which decoding cannot reproduce).
fn is_argument_error(desc: &str) -> bool {
    desc.starts_with("Invalid parameter type for '")
        || (desc.starts_with("Parameter '")
            && (desc.ends_with("' is missing")
                || desc.ends_with("' is unexpected")
                || desc.contains("' does not accept value '")
                || desc.contains("' expects ")))
}

/// Decodes `request` and compares with QEMU's `reply`; returns whether the
/// request was about one of our commands.
fn check(request: &Value, reply: &Value) -> bool {
    let name = request["execute"].as_str().expect("execute");
    if !COMMANDS.iter().any(|c| c.name == name) {
        return false;
    }
    let empty = Map::new();
    let arguments = request
        .get("arguments")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let ours = QmpCommand::decode(name, arguments);
    match reply["error"]["desc"]
        .as_str()
        .filter(|d| is_argument_error(d))
    {
        Some(desc) => {
            let err = ours.expect_err(&format!("{request} should fail: {desc}"));
            assert_eq!(err.class, ErrorClass::GenericError, "{request}");
            assert_eq!(err.desc, desc, "{request}");
        }
        None => {
            let decoded = ours.unwrap_or_else(|e| panic!("{request} failed: {}", e.desc));
            assert_eq!(decoded.name(), name);
        }
    }
    true
}

#[test]
fn recorded_argument_errors() {
    let log = data("qemu-7.2-argument-errors.log");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("-> ") || l.starts_with("<- "))
        .collect();
    let mut checked = 0;
    for pair in lines.chunks(2) {
        let request: Value = serde_json::from_str(&pair[0][3..]).expect("request");
        let reply: Value = serde_json::from_str(&pair[1][3..]).expect("reply");
        if check(&request, &reply) {
            checked += 1;
        }
    }
    // Every recorded request is for a command of ours.
    assert_eq!(checked, lines.len() / 2);
    assert!(checked >= 149);
}

/// The text of one `b'...'` Python bytes literal from a transcript.
fn bytes_literal(line: &str) -> String {
    let inner = line.trim().trim_start_matches("b'").trim_end_matches('\'');
    inner
        .replace("\\r", "\r")
        .replace("\\n", "\n")
        .replace("\\'", "'")
        .replace("\\\\", "\\")
}

#[test]
fn reference_transcript_argument_errors() {
    let transcript = common::reference("qemu-7.2/qmp/transcript5-argerrors.log");
    let mut request: Option<Value> = None;
    let mut checked = Vec::new();
    for line in transcript.lines() {
        if let Some(sent) = line.strip_prefix("-> ") {
            request = serde_json::from_str(bytes_literal(sent).trim()).ok();
        } else if let (Some(received), Some(req)) = (line.strip_prefix("<- "), &request) {
            // The reply to the request: the message with its id (events may
            // come before it).
            let reply = bytes_literal(received)
                .split("\r\n")
                .filter_map(|m| serde_json::from_str::<Value>(m).ok())
                .find(|m| m.get("id").is_some() && m.get("id") == req.get("id"));
            if let Some(reply) = reply {
                if check(req, &reply) {
                    checked.push(req["id"].clone());
                }
            }
        }
    }
    // The argument errors of the transcript that concern our commands.
    for id in ["missing-arg", "wrong-type", "emptyargs"] {
        assert!(
            checked.contains(&Value::from(id)),
            "{id} not checked: {checked:?}"
        );
    }
}

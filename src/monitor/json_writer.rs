//! Values to JSON text exactly as QEMU 7.2 prints them (qobject/qjson.c):
//! `{"a": 1, "b": [1, 2]}` spacing, doubles as C's `%.17g`, everything
//! outside printable ASCII escaped as `\uXXXX` (upper-case hex), and object
//! members in the order QEMU's QDict hash table yields them.

use std::cmp::Reverse;
use std::fmt::Write;

use serde_json::{Map, Number, Value};

/// `value` as QEMU's compact (`pretty == false`) or indented JSON text.
pub fn to_json(value: &Value, pretty: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, value, pretty, 0);
    out
}

/// The bucket of QEMU's QDict hash table (512 buckets) a key falls in.
fn qdict_bucket(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let mut value = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345) % 512
}

/// The members of `map` in the order QEMU iterates a QDict: by hash
/// bucket, and within a bucket the member inserted last first. `map` keeps
/// insertion order, so values built in QEMU's insertion order (a QAPI
/// struct's member order, a client's input order) come out as QEMU's do.
pub fn qdict_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<(usize, &String, &Value)> = map
        .iter()
        .enumerate()
        .map(|(i, (k, v))| (i, k, v))
        .collect();
    members.sort_by_key(|&(i, k, _)| (qdict_bucket(k), Reverse(i)));
    members.into_iter().map(|(_, k, v)| (k, v)).collect()
}

fn newline(out: &mut String, pretty: bool, indent: usize) {
    if pretty {
        out.push('\n');
        out.push_str(&" ".repeat(indent * 4));
    }
}

fn write_value(out: &mut String, value: &Value, pretty: bool, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s),
        Value::Object(map) => {
            out.push('{');
            for (i, (key, member)) in qdict_order(map).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(if pretty { "," } else { ", " });
                }
                newline(out, pretty, indent + 1);
                write_string(out, key);
                out.push_str(": ");
                write_value(out, member, pretty, indent + 1);
            }
            newline(out, pretty, indent);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if pretty { "," } else { ", " });
                }
                newline(out, pretty, indent + 1);
                write_value(out, item, pretty, indent + 1);
            }
            newline(out, pretty, indent);
            out.push(']');
        }
    }
}

fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        format_g17(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// C's `printf("%.17g", x)`: 17 significant digits, trailing zeros
/// dropped, exponent form below 1e-4 and from 1e17.
fn format_g17(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let scientific = format!("{x:.16e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..17).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    } else {
        let decimals = (16 - exponent) as usize;
        trim(&format!("{x:.decimals$}"))
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_in_qemu_order() {
        // QEMU 7.2's query-version and query-status replies, built in the
        // QAPI members' order.
        let version = json!({"major": 7, "minor": 2, "micro": 0});
        assert_eq!(
            to_json(&version, false),
            r#"{"micro": 0, "minor": 2, "major": 7}"#
        );
        let status = json!({"running": false, "singlestep": false, "status": "prelaunch"});
        assert_eq!(
            to_json(&status, false),
            r#"{"status": "prelaunch", "singlestep": false, "running": false}"#
        );
        let reply = json!({"id": {"micro": 1, "minor": 2, "c": 3}, "return": {}});
        assert_eq!(
            to_json(&reply, false),
            r#"{"return": {}, "id": {"minor": 2, "micro": 1, "c": 3}}"#
        );
        let event = json!({"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-signal"},
            "timestamp": {"seconds": 1, "microseconds": 2}});
        assert_eq!(
            to_json(&event, false),
            r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-signal"}}"#
        );
    }

    #[test]
    fn numbers_as_printf_g17() {
        let cases = [
            (1.8446744073709552e19, "1.8446744073709552e+19"),
            (1500.0, "1500"),
            (322.54475, "322.54475000000002"),
            (0.1, "0.10000000000000001"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (-0.0, "-0"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (2.5e-300, "2.5e-300"),
        ];
        for (x, text) in cases {
            assert_eq!(format_g17(x), text, "{x}");
        }
        assert_eq!(
            to_json(&json!([-5, u64::MAX]), false),
            "[-5, 18446744073709551615]"
        );
    }

    #[test]
    fn strings_escaped_as_qemu() {
        assert_eq!(
            to_json(&json!("é\u{0}\u{7f}😀\"\\/\n\u{1}"), false),
            r#""\u00E9\u0000\u007F\uD83D\uDE00\"\\/\n\u0001""#
        );
    }

    #[test]
    fn pretty_as_qemu() {
        // transcript3: the greeting and the empty return of a pretty monitor.
        let greeting = json!({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22},
            "package": "p"}, "capabilities": ["oob"]}});
        assert_eq!(
            to_json(&greeting, true),
            "{\n    \"QMP\": {\n        \"version\": {\n            \"qemu\": {\n                \"micro\": 22,\n                \"minor\": 2,\n                \"major\": 7\n            },\n            \"package\": \"p\"\n        },\n        \"capabilities\": [\n            \"oob\"\n        ]\n    }\n}"
        );
        assert_eq!(
            to_json(&json!({"return": {}}), true),
            "{\n    \"return\": {\n    }\n}"
        );
    }
}

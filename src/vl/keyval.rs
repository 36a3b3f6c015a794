//! QEMU's two `key=value,...` syntaxes.
//!
//! * keyval (`-machine`, `-object`, `-blockdev`, `-audiodev`): keys are
//!   names (`[A-Za-z][A-Za-z0-9_-]*`, or digits after a dot), dotted keys
//!   nest, every parameter needs `=`.
//! * QemuOpts (`-device`, `-chardev`, `-m`, `-smp`, ...): flat, any key,
//!   a bare `foo` means `foo=on` (and `nofoo` means `foo=off`) with a
//!   deprecation warning.
//!
//! Both take `,,` as a literal comma and an implied name for a first
//! parameter given without `key=`, and both let the last repeat win.

use serde_json::{Map, Value};

use super::description::Dict;

/// `help` and `?` ask for help wherever a parameter may stand.
pub fn is_help(text: &str) -> bool {
    text == "help" || text == "?"
}

/// Reads a value up to the next single `,`; returns it and the rest after
/// that comma.
fn take_value(text: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if c == ',' {
            if chars.peek().map(|(_, next)| *next) == Some(',') {
                chars.next();
                value.push(',');
                continue;
            }
            return (value, &text[index + 1..]);
        }
        value.push(c);
    }
    (value, "")
}

/// A keyval body as a nested dictionary of strings.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Keyval {
    pub dict: Dict,
    /// `help` or `?` was one of the parameters.
    pub help: bool,
}

fn is_key_fragment(fragment: &str, first: bool) -> bool {
    let mut chars = fragment.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        Some(c) if c.is_ascii_digit() && !first => chars.all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// How the value of an implied first parameter is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpliedValue {
    /// Up to the first comma, as keyval does (`-machine q35,,x` is an
    /// empty parameter after `q35`).
    UpToComma,
    /// With `,,` escapes, as QemuOpts does; QEMU 7.2 reads `-object`'s
    /// type this way (`-object secret,,x` names the type `secret,x`).
    Escaped,
}

/// Parses a keyval body; `implied_key` names a first parameter written
/// without `key=`.
pub fn parse_keyval(
    body: &str,
    implied_key: Option<&str>,
    implied_value: ImpliedValue,
) -> Result<Keyval, String> {
    let mut result = Keyval::default();
    let mut rest = body;
    let mut first = true;
    while !rest.is_empty() {
        let key_len = rest.find(['=', ',']).unwrap_or(rest.len());
        let has_equals = rest[key_len..].starts_with('=');
        let escaped_implied =
            first && implied_key.is_some() && implied_value == ImpliedValue::Escaped;
        let (key, value, after) = if escaped_implied && !has_equals && !is_help(&rest[..key_len]) {
            let (value, after) = take_value(rest);
            (implied_key.unwrap_or_default().to_owned(), value, after)
        } else if key_len > 0 && !has_equals {
            if is_help(&rest[..key_len]) {
                result.help = true;
                rest = rest[key_len..].strip_prefix(',').unwrap_or("");
                first = false;
                continue;
            }
            match implied_key.filter(|_| first) {
                Some(implied) => {
                    let after = rest[key_len..].strip_prefix(',').unwrap_or("");
                    (implied.to_owned(), rest[..key_len].to_owned(), after)
                }
                None => {
                    let key = &rest[..key_len];
                    check_key(key)?;
                    return Err(format!("Expected '=' after parameter '{key}'"));
                }
            }
        } else {
            let key = &rest[..key_len];
            check_key(key)?;
            if !has_equals {
                return Err(format!("Expected '=' after parameter '{key}'"));
            }
            let (value, after) = take_value(&rest[key_len + 1..]);
            (key.to_owned(), value, after)
        };
        insert_dotted(&mut result.dict, &key, value)?;
        rest = after;
        first = false;
    }
    Ok(result)
}

fn check_key(key: &str) -> Result<(), String> {
    let valid = key
        .split('.')
        .enumerate()
        .all(|(index, fragment)| is_key_fragment(fragment, index == 0));
    if valid {
        Ok(())
    } else {
        Err(format!("Invalid parameter '{key}'"))
    }
}

fn insert_dotted(dict: &mut Dict, key: &str, value: String) -> Result<(), String> {
    let fragments: Vec<&str> = key.split('.').collect();
    let mut current = dict;
    for (depth, fragment) in fragments.iter().enumerate() {
        let prefix = fragments[..=depth].join(".");
        let inconsistent = || format!("Parameters '{prefix}.*' used inconsistently");
        if depth + 1 == fragments.len() {
            if current.get(*fragment).is_some_and(Value::is_object) {
                return Err(inconsistent());
            }
            current.insert((*fragment).to_owned(), Value::String(value));
            return Ok(());
        }
        let entry = current
            .entry((*fragment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        current = match entry {
            Value::Object(map) => map,
            _ => return Err(inconsistent()),
        };
    }
    Ok(())
}

/// A QemuOpts body: parameters in the order given.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QemuOpts {
    pub entries: Vec<(String, String)>,
    /// `help` or `?` was given as a bare parameter.
    pub help: bool,
    /// Deprecation warnings for short-form booleans, QEMU's text without
    /// the program and location prefix (the caller adds them).
    pub warnings: Vec<String>,
}

impl QemuOpts {
    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Like `to_dict`, but the keys in `lists` keep every value given, in
    /// order, as a list.
    pub fn to_dict_with_lists(&self, lists: &[&str]) -> Dict {
        let mut dict = self.to_dict(lists);
        for (key, value) in self
            .entries
            .iter()
            .filter(|(k, _)| lists.contains(&k.as_str()))
        {
            let entry = dict
                .entry(key.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::String(value.clone()));
            }
        }
        dict
    }

    /// The parameters as a flat dictionary of strings, last repeat winning,
    /// without `skip` (keys the caller stores elsewhere).
    pub fn to_dict(&self, skip: &[&str]) -> Dict {
        let mut dict = Dict::new();
        for (key, value) in &self.entries {
            if !skip.contains(&key.as_str()) {
                dict.insert(key.clone(), Value::String(value.clone()));
            }
        }
        dict
    }
}

/// Parses a QemuOpts body. `warn_on_flag` is off where QEMU parses
/// silently (the options after `unix:PATH,` in `-serial`).
pub fn parse_qemu_opts(body: &str, implied_key: Option<&str>, warn_on_flag: bool) -> QemuOpts {
    let mut opts = QemuOpts::default();
    let mut rest = body;
    let mut first = true;
    while !rest.is_empty() {
        let name_len = rest.find(['=', ',']).unwrap_or(rest.len());
        if rest[name_len..].starts_with('=') {
            let (value, after) = take_value(&rest[name_len + 1..]);
            opts.entries.push((rest[..name_len].to_owned(), value));
            rest = after;
        } else if let Some(implied) = implied_key.filter(|_| first) {
            let (value, after) = take_value(rest);
            opts.entries.push((implied.to_owned(), value));
            rest = after;
        } else {
            let name = &rest[..name_len];
            rest = rest[name_len..].strip_prefix(',').unwrap_or("");
            if is_help(name) {
                opts.help = true;
            } else {
                let (key, value) = match name.strip_prefix("no") {
                    Some(key) => (key, "off"),
                    None => (name, "on"),
                };
                if warn_on_flag {
                    // QEMU's advice for `nodelay` names the option as typed.
                    let advice = if key == "delay" {
                        format!("nodelay={}", if value == "off" { "on" } else { "off" })
                    } else {
                        format!("{key}={value}")
                    };
                    opts.warnings.push(format!(
                        "short-form boolean option '{name}' deprecated\nPlease use {advice} instead"
                    ));
                }
                opts.entries.push((key.to_owned(), value.to_owned()));
            }
        }
        first = false;
    }
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyval_errors_match_qemu() {
        // Recorded from QEMU 7.2 `-machine ARG`.
        let cases = [
            ("none,=x", "Invalid parameter ''"),
            (",x=1", "Invalid parameter ''"),
            ("none,1a=2", "Invalid parameter '1a'"),
            ("none,a..b=1", "Invalid parameter 'a..b'"),
            ("none,,x", "Invalid parameter ''"),
            ("none,,", "Invalid parameter ''"),
            ("none,,,kernel=a", "Invalid parameter ''"),
            ("none,a=1,a.b=2", "Parameters 'a.*' used inconsistently"),
            (
                "none,nosuchbool",
                "Expected '=' after parameter 'nosuchbool'",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                parse_keyval(body, Some("type"), ImpliedValue::UpToComma),
                Err(expected.to_owned()),
                "{body}"
            );
        }
    }

    #[test]
    fn keyval_nests_escapes_and_lets_the_last_win() {
        let parsed = parse_keyval(
            "secret,,x,id=s,cache.direct=on,id=t,",
            Some("qom-type"),
            ImpliedValue::Escaped,
        )
        .unwrap();
        assert_eq!(parsed.dict["qom-type"], "secret,x");
        assert_eq!(parsed.dict["id"], "t");
        assert_eq!(parsed.dict["cache"]["direct"], "on");
        assert!(
            parse_keyval("q35,help", Some("type"), ImpliedValue::UpToComma)
                .unwrap()
                .help
        );
        let object =
            parse_keyval(",,secret,id=s", Some("qom-type"), ImpliedValue::Escaped).unwrap();
        assert_eq!(object.dict["qom-type"], ",secret");
    }

    #[test]
    fn qemu_opts_short_form_booleans() {
        let opts = parse_qemu_opts("socket,id=c1,server,nowait,nodelay", Some("backend"), true);
        assert_eq!(opts.get("server"), Some("on"));
        assert_eq!(opts.get("wait"), Some("off"));
        assert_eq!(opts.get("delay"), Some("off"));
        assert_eq!(
            opts.warnings,
            [
                "short-form boolean option 'server' deprecated\nPlease use server=on instead",
                "short-form boolean option 'nowait' deprecated\nPlease use wait=off instead",
                "short-form boolean option 'nodelay' deprecated\nPlease use nodelay=on instead",
            ]
        );
        let name = parse_qemu_opts("foo,,bar,debug-threads=on", Some("guest"), true);
        assert_eq!(name.get("guest"), Some("foo,bar"));
    }
}

//! The JSON form of option arguments (`-device '{"driver":...}'`), read as
//! QEMU's own JSON parser reads it: single-quoted strings are accepted,
//! and errors carry QEMU's words (`JSON parse error, premature EOI`, ...).
//! serde_json cannot take QEMU's dialect nor name errors the way QEMU does,
//! hence this small parser; it produces serde_json values.

use serde_json::{Map, Number, Value};

/// QEMU refuses documents nested deeper than this.
const MAX_NESTING: usize = 1024;

/// Parses one JSON object; the argument must start with `{`.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, String> {
    check_nesting(text)?;
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos < parser.chars.len() {
        return Err("Expecting at most one JSON value".to_owned());
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("JSON parse error, expecting value".to_owned()),
    }
}

/// QEMU's lexer counts brackets outside strings before parsing anything.
fn check_nesting(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '{' | '[' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err("JSON nesting depth limit exceeded".to_owned());
                    }
                }
                '}' | ']' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    Ok(())
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

fn parse_error(what: impl std::fmt::Display) -> String {
    format!("JSON parse error, {what}")
}

fn premature_eoi() -> String {
    parse_error("premature EOI")
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    /// A lexer error: the token text from `start` through the offending
    /// character.
    fn stray(&self, start: usize) -> String {
        let end = (self.pos + 1).min(self.chars.len());
        let text: String = self.chars[start..end].iter().collect();
        parse_error(format!("stray '{text}'"))
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_whitespace();
        let Some(c) = self.peek() else {
            return Err(premature_eoi());
        };
        match c {
            '{' => self.object(),
            '[' => self.list(),
            '"' | '\'' => self.string().map(Value::String),
            '-' | '0'..='9' => self.number(),
            c if c.is_ascii_alphabetic() => self.keyword(),
            '}' | ']' | ',' | ':' => Err(parse_error("expecting value")),
            _ => Err(self.stray(self.pos)),
        }
    }

    fn object(&mut self) -> Result<Value, String> {
        self.pos += 1; // '{'
        let mut map = Map::new();
        self.skip_whitespace();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_whitespace();
            let key = match self.peek() {
                None => return Err(premature_eoi()),
                Some('"' | '\'') => self.string()?,
                Some(_) => {
                    // Lex the token first: lexer errors win over the parser's.
                    self.value()?;
                    return Err(parse_error("key is not a string in object"));
                }
            };
            self.skip_whitespace();
            match self.peek() {
                None => return Err(premature_eoi()),
                Some(':') => self.pos += 1,
                Some(_) => return Err(parse_error("missing : in object pair")),
            }
            let value = self.value()?;
            if map.insert(key, value).is_some() {
                return Err(parse_error("duplicate key"));
            }
            self.skip_whitespace();
            match self.peek() {
                None => return Err(premature_eoi()),
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                Some(_) => return Err(parse_error("expected separator in dict")),
            }
        }
    }

    fn list(&mut self) -> Result<Value, String> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_whitespace();
            match self.peek() {
                None => return Err(premature_eoi()),
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(_) => return Err(parse_error("expected separator in list")),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.pos;
        let quote = self.chars[start];
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                self.pos = self.chars.len();
                return Err(self.stray(start));
            };
            if (c as u32) < 0x20 {
                return Err(self.stray(start));
            }
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(escape) = self.peek() else {
                self.pos = self.chars.len();
                return Err(self.stray(start));
            };
            self.pos += 1;
            match escape {
                '"' => out.push('"'),
                '\'' => out.push('\''),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => out.push(self.unicode_escape(start)?),
                _ => return Err(parse_error("invalid escape sequence in string")),
            }
        }
    }

    fn hex4(&mut self, start: usize) -> Result<u32, String> {
        let mut code = 0;
        for _ in 0..4 {
            let Some(digit) = self.peek().and_then(|c| c.to_digit(16)) else {
                return Err(self.stray(start));
            };
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }

    fn unicode_escape(&mut self, start: usize) -> Result<char, String> {
        let first = self.hex4(start)?;
        let code = if (0xd800..0xdc00).contains(&first)
            && self.chars.get(self.pos) == Some(&'\\')
            && self.chars.get(self.pos + 1) == Some(&'u')
        {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4(start)?;
            if (0xdc00..0xe000).contains(&second) {
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            } else {
                self.pos = save;
                first
            }
        } else {
            first
        };
        char::from_u32(code)
            .filter(|c| *c != '\0')
            .ok_or_else(|| parse_error(format!("\\u{first:04x} is not a valid Unicode character")))
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        match self.peek() {
            Some('0') => {
                self.pos += 1;
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    return Err(self.stray(start));
                }
            }
            Some('1'..='9') => self.digits(),
            _ => return Err(self.stray(start)),
        }
        let mut is_float = false;
        if self.peek() == Some('.') {
            is_float = true;
            self.pos += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.stray(start));
            }
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.stray(start));
            }
            self.digits();
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if !is_float {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Number(n.into()));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::Number(n.into()));
            }
        }
        // QEMU keeps out-of-range numbers as doubles, infinities included;
        // JSON values cannot hold infinities, the largest double stands in.
        let float: f64 = text.parse().unwrap_or(f64::MAX);
        let float = if float.is_finite() {
            float
        } else {
            f64::MAX.copysign(float)
        };
        Ok(Number::from_f64(float).map_or(Value::Null, Value::Number))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn keyword(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match word.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            _ => Err(parse_error(format!("invalid keyword '{word}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_object;

    /// Messages recorded from QEMU 7.2 with `-object ARG -accel help`.
    #[test]
    fn errors_match_qemu() {
        let cases = [
            ("{", "JSON parse error, premature EOI"),
            (r#"{"a":tru}"#, "JSON parse error, invalid keyword 'tru'"),
            (r#"{"a":1,}"#, "JSON parse error, expecting value"),
            ("{1:2}", "JSON parse error, key is not a string in object"),
            (
                r#"{"a":"\q"}"#,
                "JSON parse error, invalid escape sequence in string",
            ),
            (
                r#"{"a":[1 2]}"#,
                "JSON parse error, expected separator in list",
            ),
            (r#"{"a":1}}"#, "Expecting at most one JSON value"),
            (r#"{"a":@}"#, "JSON parse error, stray '@'"),
            (r#"{"a":"x"#, "JSON parse error, stray '\"x'"),
            ("{\"a\":\"\u{1}\"}", "JSON parse error, stray '\"\u{1}'"),
            (r#"{"a" 1}"#, "JSON parse error, missing : in object pair"),
            (r#"{"a""#, "JSON parse error, premature EOI"),
            (r#"{"a":1"#, "JSON parse error, premature EOI"),
            (
                r#"{"a":1 "b":2}"#,
                "JSON parse error, expected separator in dict",
            ),
            (r#"{"a":}"#, "JSON parse error, expecting value"),
            ("{,}", "JSON parse error, expecting value"),
            (
                r#"{"a":"\ud800"}"#,
                "JSON parse error, \\ud800 is not a valid Unicode character",
            ),
            (r#"{"a":01}"#, "JSON parse error, stray '01'"),
            (r#"{"a":-}"#, "JSON parse error, stray '-}'"),
            (r#"{"a":1.}"#, "JSON parse error, stray '1.}'"),
            (r#"{"a":1}{"b":1}"#, "Expecting at most one JSON value"),
            (r#"{"a":true,"a":false}"#, "JSON parse error, duplicate key"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_object(text), Err(expected.to_owned()), "{text}");
        }
    }

    #[test]
    fn accepts_qemu_dialect() {
        let map = parse_object(
            "{'qom-type':'secret', \"n\": 18446744073709551615, \"x\": \"\\u00e9\", \"b\": null}",
        )
        .unwrap();
        assert_eq!(map["qom-type"], "secret");
        assert_eq!(map["n"].as_u64(), Some(u64::MAX));
        assert_eq!(map["x"], "\u{e9}");
        assert!(map["b"].is_null());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_object(&deep).is_ok());
        let deeper = format!("{{\"a\":{}{}}}", "[".repeat(1100), "]".repeat(1100));
        assert_eq!(
            parse_object(&deeper),
            Err("JSON nesting depth limit exceeded".to_owned())
        );
    }
}

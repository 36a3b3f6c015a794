//! The tokens of one input value to a `serde_json::Value` (QEMU's
//! json-parser.c), with QEMU's error texts. The first error found is the
//! one reported.

use serde_json::{Map, Number, Value};

use super::json_stream::{Token, TokenKind};
use super::unicode::{decode_codepoint, is_valid_codepoint, lossy_c_string};

type Parsed<T> = Result<T, String>;

/// QEMU formats the detail into a 1024-byte buffer: what does not fit
/// (a long token quoted in it) is cut off.
const DETAIL_LIMIT: usize = 1023;

fn error<T>(what: impl std::fmt::Display) -> Parsed<T> {
    let mut detail = what.to_string();
    if detail.len() > DETAIL_LIMIT {
        let mut end = DETAIL_LIMIT;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
    }
    Err(format!("JSON parse error, {detail}"))
}

/// Parses one value from `tokens` (which the streamer gathered so that
/// they hold at most one value).
pub fn parse_tokens(tokens: &[Token]) -> Result<Value, String> {
    Parser { tokens, next: 0 }.value()
}

struct Parser<'a> {
    tokens: &'a [Token],
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Parsed<&Token> {
        match self.tokens.get(self.next) {
            Some(token) => Ok(token),
            None => error("premature EOI"),
        }
    }

    fn pop(&mut self) -> Parsed<&Token> {
        let token = self.tokens.get(self.next);
        self.next += 1;
        token.map_or_else(|| error("premature EOI"), Ok)
    }

    fn value(&mut self) -> Parsed<Value> {
        match self.peek()?.kind {
            TokenKind::LeftCurly => self.object(),
            TokenKind::LeftSquare => self.array(),
            TokenKind::Integer | TokenKind::Float | TokenKind::String | TokenKind::Keyword => {
                let token = self.pop()?;
                literal(token)
            }
            _ => error("expecting value"),
        }
    }

    fn object(&mut self) -> Parsed<Value> {
        self.pop()?; // '{'
        let mut map = Map::new();
        if self.peek()?.kind == TokenKind::RightCurly {
            self.pop()?;
            return Ok(Value::Object(map));
        }
        loop {
            self.pair(&mut map)?;
            match self.pop()?.kind {
                TokenKind::RightCurly => return Ok(Value::Object(map)),
                TokenKind::Comma => {}
                _ => return error("expected separator in dict"),
            }
        }
    }

    fn pair(&mut self, map: &mut Map<String, Value>) -> Parsed<()> {
        let Value::String(key) = self.value()? else {
            return error("key is not a string in object");
        };
        if self.pop()?.kind != TokenKind::Colon {
            return error("missing : in object pair");
        }
        let value = self.value()?;
        if map.contains_key(&key) {
            return error("duplicate key");
        }
        map.insert(key, value);
        Ok(())
    }

    fn array(&mut self) -> Parsed<Value> {
        self.pop()?; // '['
        let mut items = Vec::new();
        if self.peek()?.kind == TokenKind::RightSquare {
            self.pop()?;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            match self.pop()?.kind {
                TokenKind::RightSquare => return Ok(Value::Array(items)),
                TokenKind::Comma => {}
                _ => return error("expected separator in list"),
            }
        }
    }
}

fn literal(token: &Token) -> Parsed<Value> {
    // The lexer only makes number and keyword tokens of ASCII bytes.
    let text = || String::from_utf8_lossy(&token.text);
    match token.kind {
        TokenKind::String => string(&token.text).map(Value::String),
        TokenKind::Keyword => match &*text() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            other => error(format!("invalid keyword '{other}'")),
        },
        // An integer is an i64 if it fits, else a u64, else a double.
        TokenKind::Integer => {
            let text = text();
            if let Ok(n) = text.parse::<i64>() {
                Ok(Value::from(n))
            } else if let Ok(n) = text.parse::<u64>() {
                Ok(Value::from(n))
            } else {
                Ok(double(&text))
            }
        }
        _ => Ok(double(&text())),
    }
}

/// A double as `strtod` reads JSON's number syntax. Infinity (from an
/// exponent too large) has no JSON value and becomes null.
fn double(text: &str) -> Value {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Four hex digits at the start of `bytes`.
fn hex4(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(..4)?;
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// The contents of a string token, quotes and escapes resolved.
fn string(token: &[u8]) -> Parsed<String> {
    let quote = token[0];
    let mut text = String::new();
    let mut at = 1;
    while let Some(&byte) = token.get(at) {
        if byte == quote {
            break;
        }
        if byte != b'\\' {
            let (cp, used) = decode_codepoint(&token[at..]);
            let Some(c) = cp else {
                return error("invalid UTF-8 sequence in string");
            };
            text.push(c);
            at += used;
            continue;
        }
        let escape_start = at;
        at += 2;
        let c = match token.get(escape_start + 1) {
            Some(b'"') => '"',
            Some(b'\'') => '\'',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let mut cp = hex4(token.get(at..).unwrap_or_default());
                at += 4;
                // A leading surrogate must be followed by a trailing one.
                if let Some(lead @ 0xD800..=0xDBFF) = cp {
                    if token.get(at..at + 2) == Some(b"\\u") {
                        cp = match hex4(token.get(at + 2..).unwrap_or_default()) {
                            Some(trail @ 0xDC00..=0xDFFF) => {
                                at += 6;
                                Some(0x10000 + ((lead & 0x3FF) << 10) + (trail & 0x3FF))
                            }
                            _ => None,
                        };
                    }
                }
                match cp
                    .filter(|&cp| is_valid_codepoint(cp))
                    .and_then(char::from_u32)
                {
                    Some(c) => c,
                    None => {
                        let end = at.min(token.len());
                        return error(format!(
                            "{} is not a valid Unicode character",
                            lossy_c_string(&token[escape_start..end])
                        ));
                    }
                }
            }
            _ => return error("invalid escape sequence in string"),
        };
        text.push(c);
    }
    Ok(text)
}

//! Typed access to a chardev's properties, with QEMU's messages for values
//! of the wrong kind. Values are strings from `key=value` syntax or typed
//! JSON values from QMP.

use serde_json::Value;

use super::ChardevError;
use crate::vl::description::Dict;

pub(crate) struct Props<'a> {
    dict: &'a Dict,
}

impl<'a> Props<'a> {
    pub(crate) fn new(dict: &'a Dict) -> Self {
        Props { dict }
    }

    /// A string property; numbers and booleans are given in their text form.
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        match self.dict.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "on" } else { "off" }.to_string()),
            _ => None,
        }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.dict.contains_key(key)
    }

    /// An on/off property, accepting QEMU's spellings of a boolean.
    pub(crate) fn bool(&self, key: &str, default: bool) -> Result<bool, ChardevError> {
        let Some(value) = self.dict.get(key) else {
            return Ok(default);
        };
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "on" | "yes" | "true" | "y" => Some(true),
                "off" | "no" | "false" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| ChardevError::new(format!("Parameter '{key}' expects 'on' or 'off'")))
    }

    /// A number property, read as QEMU reads its number options: as an
    /// unsigned 64-bit value, a negative one wrapping around (`-1` is
    /// 2^64-1), which the socket backend then takes as signed.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, ChardevError> {
        let Some(value) = self.dict.get(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|v| v as u64)),
            Value::String(s) => parse_u64(s),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| ChardevError::new(format!("Parameter '{key}' expects a number")))
    }

    /// A size property: a number with an optional k/M/G/T/P/E suffix.
    pub(crate) fn size(&self, key: &str) -> Result<Option<u64>, ChardevError> {
        let Some(value) = self.dict.get(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => parse_size(s),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            ChardevError::new(format!(
                "Parameter '{key}' expects a non-negative number below 2^64\n\
                 Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n\
                 and exabytes, respectively."
            ))
        })
    }
}

/// Decimal, or hexadecimal with `0x`, as QEMU's number options; a minus
/// sign negates modulo 2^64, as `strtoull` does.
fn parse_u64(s: &str) -> Option<u64> {
    let (negative, magnitude) = match s.strip_prefix('-') {
        Some(magnitude) => (true, magnitude),
        None => (false, s),
    };
    let value = match magnitude
        .strip_prefix("0x")
        .or_else(|| magnitude.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => magnitude.parse().ok()?,
    };
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn parse_size(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(digits_end);
    let base: u64 = digits.parse().ok()?;
    let shift = match suffix {
        "" | "b" | "B" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    base.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("64k"), Some(65536));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("abc"), None);
        assert_eq!(parse_size("16E"), None);
    }
}

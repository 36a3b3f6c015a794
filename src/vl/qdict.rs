//! Reading option values the way QEMU's visitors read them: booleans,
//! sizes with suffixes, integers.

/// `on`/`yes`/`true`/`y` and `off`/`no`/`false`/`n`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "on" | "yes" | "true" | "y" => Some(true),
        "off" | "no" | "false" | "n" => Some(false),
        _ => None,
    }
}

/// Whether boolean option `key` of `dict` is on (a JSON true, or on/yes/
/// true/y); absent or anything else is off.
pub fn is_on(dict: &super::description::Dict, key: &str) -> bool {
    flag(dict, key, false)
}

/// Boolean option `key` of `dict` (a JSON boolean, or on/yes/true/y and
/// off/no/false/n); `default` when absent or not a boolean.
pub fn flag(dict: &super::description::Dict, key: &str, default: bool) -> bool {
    match dict.get(key) {
        Some(serde_json::Value::String(s)) => parse_bool(s).unwrap_or(default),
        Some(serde_json::Value::Bool(b)) => *b,
        _ => default,
    }
}

/// QEMU's message for a value that is not a boolean.
pub fn expects_on_off(name: &str) -> String {
    format!("Parameter '{name}' expects 'on' or 'off'")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeError {
    Invalid,
    OutOfRange,
}

/// A parsed size; `hex_with_suffix` is set for the deprecated `0x10M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub bytes: u64,
    pub hex_with_suffix: bool,
}

fn suffix_multiplier(suffix: char) -> Option<u64> {
    let shift = match suffix.to_ascii_uppercase() {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        'P' => 50,
        'E' => 60,
        _ => return None,
    };
    Some(1u64 << shift)
}

/// QEMU's `qemu_strtosz`: a decimal number with an optional fraction, or a
/// hexadecimal one, then an optional unit suffix (B k M G T P E, any case);
/// without a suffix the number counts `default_unit`s. Fractions need a unit
/// larger than a byte.
pub fn parse_size(text: &str, default_unit: u64) -> Result<Size, SizeError> {
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if text.contains('-') {
        return Err(SizeError::Invalid);
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let (hex, digits_start) = match text.get(..2) {
        Some("0x" | "0X") => (true, 2),
        _ => (false, 0),
    };
    let radix = if hex { 16 } else { 10 };
    let rest = &text[digits_start..];
    let integer_len = rest
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(rest.len());
    if integer_len == 0 {
        return Err(SizeError::Invalid);
    }
    let integer =
        u64::from_str_radix(&rest[..integer_len], radix).map_err(|_| SizeError::OutOfRange)?;
    let mut rest = &rest[integer_len..];
    let mut fraction = None;
    if let Some(after_dot) = rest.strip_prefix('.') {
        if hex {
            return Err(SizeError::Invalid);
        }
        let len = after_dot
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_dot.len());
        let digits = &after_dot[..len];
        fraction = Some(
            format!("0.{digits}0")
                .parse::<f64>()
                .map_err(|_| SizeError::Invalid)?,
        );
        rest = &after_dot[len..];
    }
    let mut chars = rest.chars();
    let (multiplier, has_suffix) = match chars.next() {
        None => (default_unit, false),
        Some(c) => (suffix_multiplier(c).ok_or(SizeError::Invalid)?, true),
    };
    if chars.next().is_some() {
        return Err(SizeError::Invalid);
    }
    if fraction.is_some_and(|f| f != 0.0) && multiplier == 1 {
        return Err(SizeError::Invalid);
    }
    let whole = integer
        .checked_mul(multiplier)
        .ok_or(SizeError::OutOfRange)?;
    let extra = fraction.map_or(0.0, |f| f * multiplier as f64) as u64;
    let bytes = whole.checked_add(extra).ok_or(SizeError::OutOfRange)?;
    Ok(Size {
        bytes,
        hex_with_suffix: hex && has_suffix,
    })
}

/// QEMU's message for a bad size in a QemuOpts option.
pub fn size_error_message(name: &str, value: &str, error: SizeError) -> String {
    match error {
        SizeError::OutOfRange => format!("Value '{value}' is out of range for parameter '{name}'"),
        SizeError::Invalid => format!(
            "Parameter '{name}' expects a non-negative number below 2^64\n\
             Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n\
             and exabytes, respectively."
        ),
    }
}

/// The warning QEMU gives for `0x10M`.
pub fn hex_suffix_warning(value: &str) -> String {
    format!("Using a multiplier suffix on hex numbers is deprecated: {value}")
}

/// C's `strtoull` with base 0 as QEMU's string visitors use it (shared with
/// the device property parser).
pub use hw::core::qdev::parse_c_integer as parse_u64;

/// C's `strtoll` with base 0, as QEMU reads signed integers: `None` if the
/// text is not entirely a number or does not fit.
pub fn parse_i64(text: &str) -> Option<i64> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if digits.starts_with(['-', '+']) {
        return None;
    }
    let magnitude = i128::from(parse_u64(digits)?);
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_qemu_reads_them() {
        const MIB: u64 = 1 << 20;
        let ok = |text: &str| parse_size(text, MIB).map(|s| s.bytes);
        assert_eq!(ok("1.5G"), Ok(1536 * MIB));
        assert_eq!(ok("512"), Ok(512 * MIB));
        assert_eq!(ok("256k"), Ok(256 << 10));
        assert_eq!(ok("1b"), Ok(1));
        assert_eq!(ok("1.G"), Ok(1024 * MIB));
        assert_eq!(ok(" 1"), Ok(MIB));
        assert_eq!(
            parse_size("0x10M", MIB).map(|s| s.hex_with_suffix),
            Ok(true)
        );
        // Refused by QEMU 7.2 `-m`.
        for bad in ["1Q", "1Z", "0x1.8G", "1e3", "-1", ".5G", "1.5", "1.5b"] {
            let unit = if bad == "1.5" { 1 } else { MIB };
            assert_eq!(parse_size(bad, unit), Err(SizeError::Invalid), "{bad}");
        }
        assert_eq!(parse_size("17179869184G", MIB), Err(SizeError::OutOfRange));
    }

    #[test]
    fn integers_as_strtoull() {
        assert_eq!(parse_u64("0x10"), Some(16));
        assert_eq!(parse_u64(" 1"), Some(1));
        assert_eq!(parse_u64("010"), Some(8));
        assert_eq!(parse_u64("-1"), Some(u64::MAX));
        assert_eq!(parse_u64("1k"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("99999999999999999999999"), None);
    }
}

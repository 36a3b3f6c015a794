//! QEMU's "modified UTF-8" rules (its util/unicode.c): what the JSON parser
//! accepts in strings and how the JSON writer reads back the text it prints.
//!
//! Modified UTF-8 is UTF-8 where U+0000 may also be written `C0 80`;
//! surrogates and Unicode noncharacters are not valid code points.

/// Whether `cp` may appear in a QEMU string: within Unicode, not a
/// surrogate, not a noncharacter (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF).
pub fn is_valid_codepoint(cp: u32) -> bool {
    cp <= 0x10FFFF
        && !(0xFDD0..=0xFDEF).contains(&cp)
        && (cp & 0xFFFE) != 0xFFFE
        && !(0xD800..=0xDFFF).contains(&cp)
}

/// Decodes the code point at the start of `bytes`; returns it (`None` when
/// the sequence is invalid) and how many bytes were consumed, which is at
/// least one for non-empty input, as QEMU steps over a bad sequence.
pub fn decode_codepoint(bytes: &[u8]) -> (Option<char>, usize) {
    // Smallest code point of a sequence of 2, 3, 4, 5, 6 bytes.
    const MIN_CP: [u32; 5] = [0x80, 0x800, 0x10000, 0x200000, 0x4000000];
    let Some(&lead) = bytes.first() else {
        return (None, 0);
    };
    if lead < 0x80 {
        return (Some(char::from(lead)), 1);
    }
    // Impossible bytes, or a continuation byte where a sequence starts.
    if lead >= 0xFE || lead & 0x40 == 0 {
        return (None, 1);
    }
    let len = lead.leading_ones() as usize;
    let mut cp = u32::from(lead) & (0x7F >> len);
    for i in 1..len {
        match bytes.get(i) {
            Some(&b) if b & 0xC0 == 0x80 => cp = (cp << 6) | u32::from(b & 0x3F),
            _ => return (None, i),
        }
    }
    let overlong = cp < MIN_CP[len - 2] && !(cp == 0 && len == 2);
    if !is_valid_codepoint(cp) || overlong {
        return (None, len);
    }
    (char::from_u32(cp), len)
}

/// `bytes` as text the way QEMU prints a C string it holds: up to the first
/// NUL byte, each invalid sequence replaced by U+FFFD.
pub fn lossy_c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut rest = &bytes[..end];
    let mut text = String::new();
    while !rest.is_empty() {
        let (cp, used) = decode_codepoint(rest);
        text.push(cp.unwrap_or('\u{FFFD}'));
        rest = &rest[used..];
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_qemu_does() {
        assert_eq!(decode_codepoint(b"A"), (Some('A'), 1));
        assert_eq!(decode_codepoint("é".as_bytes()), (Some('é'), 2));
        assert_eq!(decode_codepoint("😀".as_bytes()), (Some('😀'), 4));
        // The modified UTF-8 spelling of U+0000.
        assert_eq!(decode_codepoint(b"\xC0\x80"), (Some('\0'), 2));
        // Overlong, truncated, stray continuation, impossible, noncharacter.
        assert_eq!(decode_codepoint(b"\xC1\x81"), (None, 2));
        assert_eq!(decode_codepoint(b"\xC3("), (None, 1));
        assert_eq!(decode_codepoint(b"\x80"), (None, 1));
        assert_eq!(decode_codepoint(b"\xFF"), (None, 1));
        assert_eq!(decode_codepoint(b"\xEF\xBF\xBF"), (None, 3));
        assert_eq!(decode_codepoint(b"\xED\xA0\x80"), (None, 3));
    }

    #[test]
    fn lossy_text_stops_at_nul_and_replaces_bad_bytes() {
        assert_eq!(lossy_c_string(b"\"\xFF"), "\"\u{FFFD}");
        assert_eq!(lossy_c_string(b"\x00abc"), "");
        assert_eq!(lossy_c_string(b"a\xC3"), "a\u{FFFD}");
    }
}

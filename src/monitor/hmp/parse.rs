//! Reading an HMP command line as QEMU's monitor/hmp.c does: the command
//! name (looked up in a table, `info` in its sub-table), then the
//! arguments its type string describes, with QEMU's error messages.
//!
//! Argument types used here (QEMU's `args_type` letters): `s` a word or
//! quoted string, `S` the rest of the line, `i` a 32-bit and `l` a 64-bit
//! expression, `/` a memory dump format, `-x` a flag; `?` after a type
//! makes the argument optional.

/// A `/fmt` argument: `count`, `format` (`x`, `d`, `u`, `o`, `c`, `i`)
/// and unit `size` in bytes (`None` for `i` without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpFormat {
    pub count: i64,
    pub format: u8,
    pub size: Option<u8>,
}

/// The format and size `/fmt` defaults to: the last ones given, by any
/// monitor of the process, as in QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpDefaults {
    format: u8,
    size: u8,
}

impl Default for DumpDefaults {
    fn default() -> Self {
        DumpDefaults {
            format: b'x',
            size: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    Str(String),
    Int(i64),
    Flag,
    Format(DumpFormat),
}

/// The arguments of one command, by their `args_type` key.
#[derive(Debug, Default)]
pub struct Args(Vec<(String, ArgValue)>);

impl Args {
    fn get(&self, key: &str) -> Option<&ArgValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(ArgValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(ArgValue::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(ArgValue::Flag))
    }

    pub fn format(&self) -> Option<DumpFormat> {
        match self.get("fmt") {
            Some(ArgValue::Format(f)) => Some(*f),
            _ => None,
        }
    }
}

/// Whether `name` is one of the `|`-separated names of `names`.
pub fn names_match(name: &str, names: &str) -> bool {
    names.split('|').any(|n| n == name)
}

/// QEMU's isspace for the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A cursor over a command line.
pub struct Cursor<'a> {
    text: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Cursor {
            text: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> u8 {
        self.text.get(self.pos).copied().unwrap_or(0)
    }

    fn peek_at(&self, offset: usize) -> u8 {
        self.text.get(self.pos + offset).copied().unwrap_or(0)
    }

    pub fn skip_spaces(&mut self) {
        while is_space(self.peek()) {
            self.pos += 1;
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// The text from `start` up to the cursor.
    pub fn since(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    /// The text from `start` up to the cursor, without trailing blanks.
    pub fn since_trimmed(&self, start: usize) -> String {
        let mut end = self.pos;
        while end > start && is_space(self.text[end - 1]) {
            end -= 1;
        }
        String::from_utf8_lossy(&self.text[start..end]).into_owned()
    }

    /// The command name: up to a blank or a `/`; `None` on a blank line.
    pub fn command_name(&mut self) -> Option<String> {
        self.skip_spaces();
        if self.at_end() {
            return None;
        }
        let start = self.pos;
        while !self.at_end() && self.peek() != b'/' && !is_space(self.peek()) {
            self.pos += 1;
        }
        Some(self.since(start))
    }

    /// QEMU's get_str: a word, or a double-quoted string with `\n`, `\r`,
    /// `\\`, `\'` and `\"` escapes. Its two complaints go to stdout, as
    /// QEMU prints them there.
    pub fn word(&mut self) -> Option<String> {
        self.skip_spaces();
        if self.at_end() {
            return None;
        }
        let mut out = Vec::new();
        if self.peek() == b'"' {
            self.pos += 1;
            while !self.at_end() && self.peek() != b'"' {
                let mut c = self.peek();
                self.pos += 1;
                if c == b'\\' {
                    c = self.peek();
                    self.pos += 1;
                    c = match c {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b'\\' | b'\'' | b'"' => c,
                        _ => {
                            println!("unsupported escape code: '\\{}'", char::from(c));
                            return None;
                        }
                    };
                }
                out.push(c);
            }
            if self.peek() != b'"' {
                println!("unterminated string");
                return None;
            }
            self.pos += 1;
        } else {
            while !self.at_end() && !is_space(self.peek()) {
                out.push(self.peek());
                self.pos += 1;
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    /// The rest of the line.
    fn rest(&mut self) -> String {
        let start = self.pos;
        self.pos = self.text.len();
        self.since(start)
    }
}

/// Looks up `$name` registers for expressions.
pub type Registers<'r> = dyn FnMut(&str) -> Option<i64> + 'r;

/// An expression (QEMU's get_expr): integers in C notation, character
/// constants, `$register`, unary `+ - ~`, `* / %`, `& | ^`, `+ -`, from
/// tightest to loosest, and parentheses. Errors are QEMU's messages.
struct Expr<'c, 'a, 'r> {
    cur: &'c mut Cursor<'a>,
    registers: &'c mut Registers<'r>,
}

impl Expr<'_, '_, '_> {
    /// Steps over the current character and the blanks after it.
    fn next(&mut self) {
        if !self.cur.at_end() {
            self.cur.pos += 1;
            self.cur.skip_spaces();
        }
    }

    fn unary(&mut self) -> Result<i64, String> {
        match self.cur.peek() {
            b'+' => {
                self.next();
                self.unary()
            }
            b'-' => {
                self.next();
                Ok(self.unary()?.wrapping_neg())
            }
            b'~' => {
                self.next();
                Ok(!self.unary()?)
            }
            b'(' => {
                self.next();
                let n = self.sum()?;
                if self.cur.peek() != b')' {
                    return Err("')' expected".into());
                }
                self.next();
                Ok(n)
            }
            b'\'' => {
                self.cur.pos += 1;
                if self.cur.at_end() {
                    return Err("character constant expected".into());
                }
                let n = i64::from(self.cur.peek() as i8);
                self.cur.pos += 1;
                if self.cur.peek() != b'\'' {
                    return Err("missing terminating ' character".into());
                }
                self.next();
                Ok(n)
            }
            b'$' => {
                self.cur.pos += 1;
                let start = self.cur.pos;
                while matches!(self.cur.peek(), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.')
                {
                    self.cur.pos += 1;
                }
                let name = self.cur.since(start);
                self.cur.skip_spaces();
                (self.registers)(&name).ok_or_else(|| "unknown register".to_string())
            }
            0 if self.cur.at_end() => Err("unexpected end of expression".into()),
            _ => {
                let n = self.number()?;
                self.cur.skip_spaces();
                Ok(n)
            }
        }
    }

    /// strtoull with base 0 at the cursor.
    fn number(&mut self) -> Result<i64, String> {
        let c = self.cur.peek();
        let (radix, digits_from) = if c == b'0' && matches!(self.cur.peek_at(1), b'x' | b'X') {
            if self.cur.peek_at(2).is_ascii_hexdigit() {
                (16, 2)
            } else {
                // "0x" without hex digits reads as the number 0.
                self.cur.pos += 1;
                return Ok(0);
            }
        } else if c == b'0' {
            (8, 0)
        } else {
            (10, 0)
        };
        if !c.is_ascii_digit() {
            return Err(format!("invalid char '{}' in expression", char::from(c)));
        }
        self.cur.pos += digits_from;
        let mut value: u64 = 0;
        let mut overflow = false;
        while let Some(d) = char::from(self.cur.peek()).to_digit(radix) {
            match value
                .checked_mul(u64::from(radix))
                .and_then(|v| v.checked_add(u64::from(d)))
            {
                Some(v) => value = v,
                None => overflow = true,
            }
            self.cur.pos += 1;
        }
        if overflow {
            return Err("number too large".into());
        }
        Ok(value as i64)
    }

    fn product(&mut self) -> Result<i64, String> {
        let mut val = self.unary()?;
        loop {
            let op = self.cur.peek();
            if !matches!(op, b'*' | b'/' | b'%') {
                return Ok(val);
            }
            self.next();
            let rhs = self.unary()?;
            val = match op {
                b'*' => val.wrapping_mul(rhs),
                _ if rhs == 0 => return Err("division by zero".into()),
                b'/' => val.wrapping_div(rhs),
                _ => val.wrapping_rem(rhs),
            };
        }
    }

    fn logic(&mut self) -> Result<i64, String> {
        let mut val = self.product()?;
        loop {
            let op = self.cur.peek();
            if !matches!(op, b'&' | b'|' | b'^') {
                return Ok(val);
            }
            self.next();
            let rhs = self.product()?;
            val = match op {
                b'&' => val & rhs,
                b'|' => val | rhs,
                _ => val ^ rhs,
            };
        }
    }

    fn sum(&mut self) -> Result<i64, String> {
        let mut val = self.logic()?;
        loop {
            let op = self.cur.peek();
            if !matches!(op, b'+' | b'-') {
                return Ok(val);
            }
            self.next();
            let rhs = self.logic()?;
            val = if op == b'+' {
                val.wrapping_add(rhs)
            } else {
                val.wrapping_sub(rhs)
            };
        }
    }
}

/// Parses the arguments `args_type` describes for command `name` (its
/// table name, as QEMU's messages show it). On error, returns the lines
/// QEMU prints.
pub fn parse_arguments(
    cur: &mut Cursor,
    name: &str,
    args_type: &str,
    defaults: &mut DumpDefaults,
    registers: &mut Registers,
) -> Result<Args, String> {
    let mut args = Args::default();
    for spec in args_type.split(',').filter(|s| !s.is_empty()) {
        let Some((key, ty)) = spec.split_once(':') else {
            continue;
        };
        let ty = ty.as_bytes();
        let optional = ty.get(1) == Some(&b'?');
        match ty[0] {
            b's' => {
                cur.skip_spaces();
                if optional && cur.at_end() {
                    continue;
                }
                let word = cur
                    .word()
                    .ok_or_else(|| format!("{name}: string expected\n"))?;
                args.0.push((key.to_string(), ArgValue::Str(word)));
            }
            b'S' => {
                cur.skip_spaces();
                if cur.at_end() {
                    if optional {
                        continue;
                    }
                    return Err(format!("{name}: string expected\n"));
                }
                args.0.push((key.to_string(), ArgValue::Str(cur.rest())));
            }
            b'/' => {
                let format = dump_format(cur, defaults)?;
                args.0.push((key.to_string(), ArgValue::Format(format)));
            }
            c @ (b'i' | b'l') => {
                cur.skip_spaces();
                if optional && cur.at_end() {
                    continue;
                }
                let val = Expr {
                    cur: &mut *cur,
                    registers: &mut *registers,
                }
                .sum()
                .map_err(|e| format!("{e}\n"))?;
                if c == b'i' && (val >> 32) & 0xffff_ffff != 0 {
                    return Err(format!(
                        "'{name}' has failed: integer is for 32-bit values\n"
                    ));
                }
                args.0.push((key.to_string(), ArgValue::Int(val)));
            }
            b'-' => {
                let flag = ty.get(1).copied().unwrap_or(0);
                let start = cur.pos;
                cur.skip_spaces();
                if cur.peek() == b'-' {
                    let given = cur.peek_at(1);
                    if given == flag {
                        cur.pos += 2;
                        args.0.push((key.to_string(), ArgValue::Flag));
                    } else if args_type.contains(&format!("-{}", char::from(given))) {
                        // Another flag of this command: left for its turn.
                        cur.pos = start;
                    } else {
                        return Err(format!(
                            "{name}: unsupported option -{}\n",
                            char::from(given)
                        ));
                    }
                }
            }
            other => return Err(format!("{name}: unknown type '{}'\n", char::from(other))),
        }
    }
    cur.skip_spaces();
    if !cur.at_end() {
        return Err(format!(
            "{name}: extraneous characters at the end of line\n"
        ));
    }
    Ok(args)
}

/// `/[count][format][size]`, defaulting to the last format and size.
fn dump_format(cur: &mut Cursor, defaults: &mut DumpDefaults) -> Result<DumpFormat, String> {
    cur.skip_spaces();
    if cur.peek() != b'/' {
        return Ok(DumpFormat {
            count: 1,
            format: defaults.format,
            size: (defaults.format != b'i').then_some(defaults.size),
        });
    }
    cur.pos += 1;
    let mut count: i64 = 1;
    if cur.peek().is_ascii_digit() {
        count = 0;
        while cur.peek().is_ascii_digit() {
            count = count
                .wrapping_mul(10)
                .wrapping_add(i64::from(cur.peek() - b'0'));
            cur.pos += 1;
        }
        // QEMU keeps the count in a C int.
        count = i64::from(count as i32);
    }
    let mut format = None;
    let mut size = None;
    loop {
        match cur.peek() {
            c @ (b'o' | b'd' | b'u' | b'x' | b'i' | b'c') => format = Some(c),
            b'b' => size = Some(1),
            b'h' => size = Some(2),
            b'w' => size = Some(4),
            b'g' | b'L' => size = Some(8),
            _ => break,
        }
        cur.pos += 1;
    }
    if !cur.at_end() && !is_space(cur.peek()) {
        return Err(format!(
            "invalid char in format: '{}'\n",
            char::from(cur.peek())
        ));
    }
    let format = format.unwrap_or(defaults.format);
    if format != b'i' {
        let unit = size.unwrap_or(defaults.size);
        defaults.size = unit;
        size = Some(unit);
    }
    defaults.format = format;
    Ok(DumpFormat {
        count,
        format,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, args_type: &str) -> Result<Args, String> {
        let mut defaults = DumpDefaults::default();
        let mut cur = Cursor::new(line);
        parse_arguments(&mut cur, "cmd", args_type, &mut defaults, &mut |r: &str| {
            (r == "pc").then_some(0xfff0)
        })
    }

    fn expr(text: &str) -> Result<i64, String> {
        parse(text, "addr:l").map(|a| a.int("addr").unwrap_or(-1))
    }

    #[test]
    fn expressions_as_qemu() {
        assert_eq!(expr("0x10 + 2*3"), Ok(22));
        assert_eq!(expr("010"), Ok(8));
        assert_eq!(expr("1 | 2 + 4"), Ok(7));
        assert_eq!(expr("(1 + 2) * -3"), Ok(-9));
        assert_eq!(expr("~0"), Ok(-1));
        assert_eq!(expr("'a'"), Ok(97));
        assert_eq!(expr("$pc + 1"), Ok(0xfff1));
        assert_eq!(expr("0xffffffffffffffff"), Ok(-1));
        // The texts QEMU 7.2 prints, checked against it.
        assert_eq!(expr(""), Err("unexpected end of expression\n".into()));
        assert_eq!(expr("1+"), Err("unexpected end of expression\n".into()));
        assert_eq!(expr("(1"), Err("')' expected\n".into()));
        assert_eq!(expr("$eax"), Err("unknown register\n".into()));
        assert_eq!(
            expr("99999999999999999999"),
            Err("number too large\n".into())
        );
        assert_eq!(expr("'a"), Err("missing terminating ' character\n".into()));
        assert_eq!(expr("1/0"), Err("division by zero\n".into()));
        assert_eq!(expr("x"), Err("invalid char 'x' in expression\n".into()));
        assert_eq!(
            expr("0x"),
            Err("cmd: extraneous characters at the end of line\n".into())
        );
    }

    #[test]
    fn dump_formats_remember_the_last_one() {
        let mut defaults = DumpDefaults::default();
        let mut fmt = |text: &str| {
            let mut cur = Cursor::new(text);
            dump_format(&mut cur, &mut defaults)
        };
        let f = |count, format, size| {
            Ok(DumpFormat {
                count,
                format,
                size,
            })
        };
        assert_eq!(fmt(" 0"), f(1, b'x', Some(4)));
        assert_eq!(fmt("/10db 0"), f(10, b'd', Some(1)));
        assert_eq!(fmt("/2 0"), f(2, b'd', Some(1)));
        assert_eq!(fmt("/i"), f(1, b'i', None));
        assert_eq!(fmt(" 0"), f(1, b'i', None));
        assert_eq!(fmt("/xg"), f(1, b'x', Some(8)));
        assert_eq!(fmt("/3z 0"), Err("invalid char in format: 'z'\n".into()));
    }

    #[test]
    fn flags_words_and_integers() {
        let args = parse(" -a ", "cpustate_all:-a,vcpu:i?").unwrap();
        assert!(args.flag("cpustate_all"));
        assert_eq!(args.int("vcpu"), None);
        assert_eq!(
            parse("-b", "cpustate_all:-a,vcpu:i?").unwrap_err(),
            "cmd: unsupported option -b\n"
        );
        assert_eq!(
            parse("0x100000000", "vcpu:i?").unwrap_err(),
            "'cmd' has failed: integer is for 32-bit values\n"
        );
        let args = parse("\"a b\\n\" 7", "keys:s,hold-time:i?").unwrap();
        assert_eq!(args.str("keys"), Some("a b\n"));
        assert_eq!(args.int("hold-time"), Some(7));
        assert_eq!(parse("", "keys:s").unwrap_err(), "cmd: string expected\n");
        let args = parse("  info  status ", "name:S?").unwrap();
        assert_eq!(args.str("name"), Some("info  status "));
    }
}

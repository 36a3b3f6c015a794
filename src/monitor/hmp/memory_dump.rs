//! `x` and `xp`: guest memory dumps in QEMU's format (monitor's
//! memory_dump); `x` reads through the guest page tables
//! (`crate::cpu::paging`).

use std::fmt::Write;

use kvm_bindings::kvm_sregs;

use crate::cpu::paging::{read_virtual, PhysicalMemory};

use super::parse::DumpFormat;

/// A character as QEMU's monitor prints it: quoted, C escapes.
fn quoted_char(out: &mut String, c: u8) {
    match c {
        b'\'' => out.push_str("'\\''"),
        b'\\' => out.push_str("'\\\\'"),
        b'\n' => out.push_str("'\\n'"),
        b'\r' => out.push_str("'\\r'"),
        32..=126 => {
            let _ = write!(out, "'{}'", char::from(c));
        }
        _ => {
            let _ = write!(out, "'\\x{c:02x}'");
        }
    }
}

/// The dump of `x` (`sregs` given: virtual addresses) or `xp`.
pub fn dump(
    mem: &dyn PhysicalMemory,
    sregs: Option<&kvm_sregs>,
    format: DumpFormat,
    mut addr: u64,
) -> String {
    let mut out = String::new();
    if format.format == b'i' {
        // There is no disassembler here.
        let _ = writeln!(out, "0x{addr:08x}: Asm output not supported on this arch");
        return out;
    }
    let mut size = u64::from(format.size.unwrap_or(4));
    let mut len = i64::from(size as i32).wrapping_mul(format.count);
    let line_size = if size == 1 { 8 } else { 16 };
    let digits = match format.format {
        b'o' => (size * 8).div_ceil(3) as usize,
        b'u' | b'd' => (size * 8 * 10).div_ceil(33) as usize,
        b'c' => {
            size = 1;
            0
        }
        _ => (size * 8 / 4) as usize,
    };
    let mut buf = [0u8; 16];
    while len > 0 {
        let _ = write!(out, "{addr:016x}:");
        let l = len.min(line_size) as usize;
        let ok = match sregs {
            Some(sregs) => read_virtual(mem, sregs, addr, &mut buf[..l]),
            None => mem.read(addr, &mut buf[..l]),
        };
        if !ok {
            out.push_str(" Cannot access memory\n");
            break;
        }
        for unit in buf[..l].chunks(size as usize) {
            let mut bytes = [0u8; 8];
            bytes[..unit.len()].copy_from_slice(unit);
            let v = u64::from_le_bytes(bytes);
            out.push(' ');
            match format.format {
                b'o' if v == 0 => {
                    let _ = write!(out, "{:>digits$}", 0);
                }
                b'o' => {
                    let _ = write!(out, "{:>digits$}", format!("0{v:o}"));
                }
                b'u' => {
                    let _ = write!(out, "{v:digits$}");
                }
                b'd' => {
                    let _ = write!(out, "{:digits$}", v as i64);
                }
                b'c' => quoted_char(&mut out, v as u8),
                _ => {
                    let _ = write!(out, "0x{v:0digits$x}");
                }
            }
        }
        out.push('\n');
        addr = addr.wrapping_add(l as u64);
        len -= l as i64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::paging::testing::ram;

    fn fmt(count: i64, format: u8, size: u8) -> DumpFormat {
        DumpFormat {
            count,
            format,
            size: Some(size),
        }
    }

    #[test]
    fn formats_as_qemu() {
        let mem = ram();
        assert_eq!(
            dump(&mem, None, fmt(4, b'x', 4), 0x10),
            "0000000000000010: 0x13121110 0x17161514 0x1b1a1918 0x1f1e1d1c\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(3, b'x', 1), 0x0),
            "0000000000000000: 0x00 0x01 0x02\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(2, b'd', 2), 0xfe),
            "00000000000000fe: 65534   256\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(2, b'o', 1), 0x0),
            "0000000000000000:   0  01\n"
        );
        assert_eq!(
            dump(&mem, None, fmt(3, b'c', 4), 0x26),
            "0000000000000026: '&' '\\'' '(' ')' '*' '+' ',' '-' '.' '/' '0' '1'\n",
            "/3cw: the count is in words, printed as characters, as QEMU does"
        );
        assert_eq!(
            dump(&mem, None, fmt(3, b'x', 8), 0xfff0),
            "000000000000fff0: 0xf7f6f5f4f3f2f1f0 0xfffefdfcfbfaf9f8\n\
             0000000000010000: Cannot access memory\n"
        );
    }
}

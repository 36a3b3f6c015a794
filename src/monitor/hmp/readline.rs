//! The line editor of a terminal monitor (QEMU's util/readline.c): it
//! echoes what is typed by redrawing the line with ANSI sequences exactly
//! as QEMU does, keeps a history, and hands over each line on Enter.
//!
//! Keys: printable characters insert, Backspace/DEL and Ctrl-H delete
//! back, Ctrl-D deletes forward, Ctrl-A/Home and Ctrl-E/End move to the
//! ends, Ctrl-W deletes a word, left/right arrows move, up/down walk the
//! history.

/// QEMU's line length limit; characters past it are dropped.
const LINE_MAX: usize = 4095;
/// How many lines the history keeps.
const HISTORY_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Esc,
    /// After ESC [ (or the 8-bit CSI), with the number read so far.
    Csi(u32),
    /// After ESC O.
    Ss3,
}

/// One terminal's line editor.
#[derive(Debug, Default)]
pub struct ReadLine {
    line: Vec<u8>,
    cursor: usize,
    /// What the terminal shows: the line and the cursor as last drawn.
    shown: Vec<u8>,
    shown_cursor: usize,
    escape: Escape,
    history: Vec<Vec<u8>>,
    /// The history entry being edited, if any.
    history_pos: Option<usize>,
}

impl ReadLine {
    /// The prompt is printed: the terminal line is empty again.
    pub fn prompt_shown(&mut self) {
        self.shown.clear();
        self.shown_cursor = 0;
        self.escape = Escape::None;
    }

    /// Forget the half-typed line (a new client connected).
    pub fn restart(&mut self) {
        self.line.clear();
        self.cursor = 0;
    }

    /// Takes one input byte; appends the echo to `out` (with `\n` line
    /// ends) and returns the line when the byte ended one.
    pub fn feed(&mut self, byte: u8, out: &mut Vec<u8>) -> Option<String> {
        let mut entered = None;
        match self.escape {
            Escape::None => match byte {
                1 => self.cursor = 0,
                4 => self.delete_char(),
                5 => self.cursor = self.line.len(),
                b'\n' | b'\r' => {
                    let line = std::mem::take(&mut self.line);
                    self.add_history(&line);
                    out.push(b'\n');
                    self.cursor = 0;
                    self.shown.clear();
                    self.shown_cursor = 0;
                    entered = Some(String::from_utf8_lossy(&line).into_owned());
                }
                23 => self.delete_word(),
                27 => self.escape = Escape::Esc,
                8 | 127 => self.backspace(),
                155 => self.escape = Escape::Csi(0),
                32.. => self.insert(byte),
                _ => {}
            },
            Escape::Esc => {
                self.escape = match byte {
                    b'[' => Escape::Csi(0),
                    b'O' => Escape::Ss3,
                    _ => Escape::None,
                }
            }
            Escape::Csi(param) => {
                self.escape = Escape::None;
                match byte {
                    b'A' | b'F' => self.history_up(),
                    b'B' | b'E' => self.history_down(),
                    b'D' => self.cursor = self.cursor.saturating_sub(1),
                    b'C' => self.cursor = (self.cursor + 1).min(self.line.len()),
                    b'0'..=b'9' => {
                        let digit = u32::from(byte - b'0');
                        self.escape = Escape::Csi(param.wrapping_mul(10).wrapping_add(digit));
                    }
                    b'~' => match param {
                        1 => self.cursor = 0,
                        3 => self.delete_char(),
                        4 => self.cursor = self.line.len(),
                        _ => {}
                    },
                    _ => {}
                }
            }
            Escape::Ss3 => {
                self.escape = Escape::None;
                match byte {
                    b'F' => self.cursor = self.line.len(),
                    b'H' => self.cursor = 0,
                    _ => {}
                }
            }
        }
        self.redraw(out);
        entered
    }

    fn insert(&mut self, byte: u8) {
        if self.line.len() < LINE_MAX {
            self.line.insert(self.cursor, byte);
            self.cursor += 1;
        }
    }

    fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.delete_char();
        }
    }

    fn delete_char(&mut self) {
        if self.cursor < self.line.len() {
            self.line.remove(self.cursor);
        }
    }

    /// Ctrl-W: the blanks before the cursor and the word before them.
    fn delete_word(&mut self) {
        if self.cursor == 0 {
            return;
        }
        let mut start = self.cursor - 1;
        while start > 0 && self.line[start].is_ascii_whitespace() {
            start -= 1;
        }
        while start > 0 {
            if self.line[start].is_ascii_whitespace() {
                start += 1;
                break;
            }
            start -= 1;
        }
        self.line.drain(start..self.cursor);
        self.cursor = start;
    }

    fn show_history(&mut self, index: Option<usize>) {
        self.history_pos = index;
        self.line = index.map_or_else(Vec::new, |i| self.history[i].clone());
        self.cursor = self.line.len();
    }

    fn history_up(&mut self) {
        match self.history_pos {
            Some(0) => {}
            Some(i) => self.show_history(Some(i - 1)),
            None if self.history.is_empty() => {}
            None => self.show_history(Some(self.history.len() - 1)),
        }
    }

    fn history_down(&mut self) {
        match self.history_pos {
            None => {}
            Some(i) if i + 1 < self.history.len() => self.show_history(Some(i + 1)),
            Some(_) => self.show_history(None),
        }
    }

    /// A line entered goes to the end of the history, moved there if it
    /// is already in it; the oldest line goes when the history is full.
    fn add_history(&mut self, line: &[u8]) {
        self.history_pos = None;
        if line.is_empty() {
            return;
        }
        if let Some(i) = self.history.iter().position(|h| h == line) {
            self.history.remove(i);
        } else if self.history.len() == HISTORY_MAX {
            self.history.remove(0);
        }
        self.history.push(line.to_vec());
    }

    /// Brings the terminal up to date: when the text changed, back to the
    /// start of the line, the whole line, erase to the end; then cursor
    /// moves.
    fn redraw(&mut self, out: &mut Vec<u8>) {
        if self.line != self.shown {
            for _ in 0..self.shown_cursor {
                out.extend_from_slice(b"\x1b[D");
            }
            out.extend_from_slice(&self.line);
            out.extend_from_slice(b"\x1b[K");
            self.shown.clone_from(&self.line);
            self.shown_cursor = self.line.len();
        }
        let arrow: &[u8] = if self.cursor > self.shown_cursor {
            b"\x1b[C"
        } else {
            b"\x1b[D"
        };
        for _ in 0..self.cursor.abs_diff(self.shown_cursor) {
            out.extend_from_slice(arrow);
        }
        self.shown_cursor = self.cursor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_in(rl: &mut ReadLine, input: &[u8]) -> (String, Vec<String>) {
        let mut out = Vec::new();
        let mut lines = Vec::new();
        for &b in input {
            if let Some(line) = rl.feed(b, &mut out) {
                lines.push(line);
            }
        }
        (String::from_utf8_lossy(&out).into_owned(), lines)
    }

    /// QEMU 7.2's echo of `info kvm` typed at once, captured over a socket.
    #[test]
    fn echo_as_qemu() {
        let mut rl = ReadLine::default();
        let (echo, lines) = type_in(&mut rl, b"info kvm\r");
        assert_eq!(
            echo,
            "i\x1b[K\x1b[Din\x1b[K\x1b[D\x1b[Dinf\x1b[K\x1b[D\x1b[D\x1b[Dinfo\x1b[K\
             \x1b[D\x1b[D\x1b[D\x1b[Dinfo \x1b[K\x1b[D\x1b[D\x1b[D\x1b[D\x1b[Dinfo k\x1b[K\
             \x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[Dinfo kv\x1b[K\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\
             \x1b[D\x1b[Dinfo kvm\x1b[K\n"
        );
        assert_eq!(lines, ["info kvm"]);
    }

    #[test]
    fn editing_keys() {
        let mut rl = ReadLine::default();
        // Type "stpo", back over "po", retype; Ctrl-A, Ctrl-E; arrows.
        let (_, lines) = type_in(&mut rl, b"\x7f\x08stpo\x7f\x7fop\r");
        assert_eq!(lines, ["stop"]);
        let (_, lines) = type_in(&mut rl, b"nfo\x01i\x05 kvm\x1b[D\x1b[D\x1b[D\x1b[C\x04\r");
        assert_eq!(lines, ["info km"]);
        let (_, lines) = type_in(&mut rl, b"info kvm\x17status\r");
        assert_eq!(lines, ["info status"]);
    }

    #[test]
    fn history_walks_back_and_forth() {
        let mut rl = ReadLine::default();
        type_in(&mut rl, b"stop\rcont\rstop\r");
        let (_, lines) = type_in(&mut rl, b"\x1b[A\x1b[A\r");
        assert_eq!(lines, ["cont"], "repeated lines move to the end");
        let (_, lines) = type_in(&mut rl, b"\x1b[A\x1b[A\x1b[B\r");
        assert_eq!(lines, ["cont"]);
        let (_, lines) = type_in(&mut rl, b"\x1b[A\x1b[B\x1b[Bx\r");
        assert_eq!(lines, ["x"]);
    }
}

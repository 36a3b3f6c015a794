//! `stdio` backend: the terminal QEMU was started from.
//!
//! When stdin is a terminal it is put in raw mode (no echo, no line
//! editing; Ctrl-C still raises SIGINT unless `signal=off`) and restored
//! when the process exits.

use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fd_io::{read_fd, set_nonblocking, write_now, OutputPacer};
use super::props::Props;
use super::{Chardev, ChardevError, ChardevRead};
use crate::os;

/// Only one chardev may own the process's stdin and stdout.
static STDIO_TAKEN: AtomicBool = AtomicBool::new(false);

pub(crate) struct StdioChardev {
    /// Stdin reached its end: stop polling it.
    input_closed: bool,
    pacer: OutputPacer,
}

pub(crate) fn open(props: &Props) -> Result<Box<dyn Chardev>, ChardevError> {
    if os::daemon::is_daemonized() {
        return Err(ChardevError::new("cannot use stdio with -daemonize"));
    }
    let allow_signals = props.bool("signal", true)?;
    if STDIO_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(ChardevError::new(
            "cannot use stdio by multiple character devices",
        ));
    }
    set_nonblocking(libc::STDIN_FILENO, true)
        .map_err(|e| ChardevError::io("Failed to set FD nonblocking", &e))?;
    make_terminal_raw(allow_signals);
    Ok(Box::new(StdioChardev {
        input_closed: false,
        pacer: OutputPacer::default(),
    }))
}

/// QEMU's terminal settings for stdio: raw input, processed output.
fn make_terminal_raw(allow_signals: bool) {
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut tty: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 and a valid termios pointer.
    if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut tty) } != 0 {
        return; // not a terminal
    }
    os::exit_actions::restore_terminal_at_exit(libc::STDIN_FILENO, tty);
    tty.c_iflag &= !(libc::IGNBRK
        | libc::BRKINT
        | libc::PARMRK
        | libc::ISTRIP
        | libc::INLCR
        | libc::IGNCR
        | libc::ICRNL
        | libc::IXON);
    tty.c_oflag |= libc::OPOST;
    tty.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::IEXTEN);
    if !allow_signals {
        tty.c_lflag &= !libc::ISIG;
    }
    tty.c_cflag &= !(libc::CSIZE | libc::PARENB);
    tty.c_cflag |= libc::CS8;
    tty.c_cc[libc::VMIN] = 1;
    tty.c_cc[libc::VTIME] = 0;
    // SAFETY: fd 0 and a valid termios.
    unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &tty) };
}

impl Chardev for StdioChardev {
    fn input_fd(&self) -> Option<RawFd> {
        (!self.input_closed).then_some(libc::STDIN_FILENO)
    }
    fn read_input(&mut self, buf: &mut [u8]) -> ChardevRead {
        let result = read_fd(libc::STDIN_FILENO, buf);
        if result == ChardevRead::Disconnected {
            self.input_closed = true;
        }
        result
    }
    fn filename(&self) -> String {
        "stdio".to_string()
    }
    fn write(&mut self, data: &[u8]) {
        self.pacer.write(libc::STDOUT_FILENO, data);
    }

    fn write_now(&mut self, data: &[u8]) -> usize {
        write_now(libc::STDOUT_FILENO, data)
    }
}

//! QEMU's chardev multiplexer (`mux=on`, `mon:stdio`): several frontends
//! share one chardev; Ctrl-A starts an escape sequence that the user types
//! to switch between them or to stop the emulator.

/// Ctrl-A, QEMU's default escape character.
const ESCAPE: u8 = 0x01;

/// QEMU's Ctrl-A h text, byte for byte (with its `\n\r` line ends).
pub(crate) const HELP: &str = "\n\r\
C-a h    print this help\n\r\
C-a x    exit emulator\n\r\
C-a s    save disk data back to file (if -snapshot)\n\r\
C-a t    toggle console timestamps\n\r\
C-a b    send break (magic sysrq)\n\r\
C-a c    switch between console and monitor\n\r\
C-a C-a  sends C-a\n\r";

/// What Ctrl-A x prints before the process exits with status 0.
pub(crate) const TERMINATED: &str = "QEMU: Terminated\n\r";

/// What one input byte means to the multiplexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MuxAction {
    /// Deliver this byte to the frontend that has the focus.
    Deliver(u8),
    /// Part of an escape sequence: nothing to deliver.
    Consumed,
    PrintHelp,
    Terminate,
    /// Give the focus to the next frontend.
    SwitchFocus,
}

#[derive(Debug, Default)]
pub(crate) struct MuxEscapes {
    got_escape: bool,
}

impl MuxEscapes {
    pub(crate) fn process(&mut self, byte: u8) -> MuxAction {
        if !self.got_escape {
            if byte == ESCAPE {
                self.got_escape = true;
                return MuxAction::Consumed;
            }
            return MuxAction::Deliver(byte);
        }
        self.got_escape = false;
        match byte {
            ESCAPE => MuxAction::Deliver(ESCAPE),
            b'h' | b'?' => MuxAction::PrintHelp,
            b'x' => MuxAction::Terminate,
            b'c' => MuxAction::SwitchFocus,
            // `s` (commit -snapshot disks), `t` (timestamps), `b` (break)
            // and unknown keys: swallowed.
            _ => MuxAction::Consumed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> Vec<MuxAction> {
        let mut mux = MuxEscapes::default();
        input.iter().map(|&b| mux.process(b)).collect()
    }

    #[test]
    fn escapes_as_in_qemu() {
        use MuxAction::*;
        assert_eq!(
            run(b"a\x01\x01b\x01c\x01h\x01z\x01x"),
            [
                Deliver(b'a'),
                Consumed,
                Deliver(0x01),
                Deliver(b'b'),
                Consumed,
                SwitchFocus,
                Consumed,
                PrintHelp,
                Consumed,
                Consumed,
                Consumed,
                Terminate
            ]
        );
    }

    #[test]
    fn help_text_is_qemus() {
        // Captured from QEMU 7.2: `printf '\x01h' | qemu-system-x86_64 ...
        // -chardev stdio,mux=on,id=c0 -mon chardev=c0`, after the prompt.
        let captured = "\n\rC-a h    print this help\n\rC-a x    exit emulator\n\r\
            C-a s    save disk data back to file (if -snapshot)\n\r\
            C-a t    toggle console timestamps\n\rC-a b    send break (magic sysrq)\n\r\
            C-a c    switch between console and monitor\n\rC-a C-a  sends C-a\n\r";
        assert_eq!(HELP, captured);
    }
}

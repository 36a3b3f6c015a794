//! `pipe` backend: `path.in`/`path.out` (usually FIFOs), or `path` both ways.

use std::fs::{File, OpenOptions};
use std::os::unix::io::{AsRawFd, RawFd};

use super::fd_io::{read_fd, set_nonblocking, write_now, OutputPacer};
use super::props::Props;
use super::{Chardev, ChardevError, ChardevRead};

pub(crate) struct PipeChardev {
    input: File,
    output: File,
    /// The input side reached its end (no writer left): stop polling it.
    input_closed: bool,
    pacer: OutputPacer,
}

fn open_rw(path: &str) -> std::io::Result<File> {
    // Read-write so that opening a FIFO does not wait for the other side.
    OpenOptions::new().read(true).write(true).open(path)
}

pub(crate) fn open(props: &Props) -> Result<Box<dyn Chardev>, ChardevError> {
    let path = props
        .string("path")
        .ok_or_else(|| ChardevError::new("chardev: pipe: no device path given"))?;
    let (input, output) = match (
        open_rw(&format!("{path}.in")),
        open_rw(&format!("{path}.out")),
    ) {
        (Ok(input), Ok(output)) => (input, output),
        _ => {
            let both = open_rw(&path)
                .map_err(|e| ChardevError::io(format!("Could not open '{path}'"), &e))?;
            let other = both
                .try_clone()
                .map_err(|e| ChardevError::io(format!("Could not open '{path}'"), &e))?;
            (both, other)
        }
    };
    for file in [&input, &output] {
        set_nonblocking(file.as_raw_fd(), true)
            .map_err(|e| ChardevError::io("Failed to set FD nonblocking", &e))?;
    }
    Ok(Box::new(PipeChardev {
        input,
        output,
        input_closed: false,
        pacer: OutputPacer::default(),
    }))
}

impl Chardev for PipeChardev {
    fn input_fd(&self) -> Option<RawFd> {
        (!self.input_closed).then(|| self.input.as_raw_fd())
    }
    fn read_input(&mut self, buf: &mut [u8]) -> ChardevRead {
        let result = read_fd(self.input.as_raw_fd(), buf);
        if result == ChardevRead::Disconnected {
            self.input_closed = true;
        }
        result
    }
    fn filename(&self) -> String {
        "pipe".to_string()
    }
    fn write(&mut self, data: &[u8]) {
        self.pacer.write(self.output.as_raw_fd(), data);
    }

    fn write_now(&mut self, data: &[u8]) -> usize {
        write_now(self.output.as_raw_fd(), data)
    }
}

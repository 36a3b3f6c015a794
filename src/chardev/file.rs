//! `null` and `file` backends: output only.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::RawFd;

use super::props::Props;
use super::{Chardev, ChardevError, ChardevRead};

/// `-chardev null`: output vanishes, no input.
pub(crate) struct Null;

impl Chardev for Null {
    fn input_fd(&self) -> Option<RawFd> {
        None
    }
    fn read_input(&mut self, _buf: &mut [u8]) -> ChardevRead {
        ChardevRead::WouldBlock
    }
    fn filename(&self) -> String {
        "null".to_string()
    }
    fn write(&mut self, _data: &[u8]) {}
}

/// `-chardev file,path=P[,append=on]`: output goes to a file, created with
/// mode 0666 (less the umask) and truncated unless `append=on`.
pub(crate) struct FileChardev {
    file: File,
}

pub(crate) fn open(props: &Props) -> Result<Box<dyn Chardev>, ChardevError> {
    let path = props
        .string("path")
        .ok_or_else(|| ChardevError::new("chardev: file: no filename given"))?;
    let append = props.bool("append", false)?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).mode(0o666);
    if append {
        options.append(true);
    } else {
        options.truncate(true);
    }
    let file = options
        .open(&path)
        .map_err(|e| ChardevError::io(format!("Could not open '{path}'"), &e))?;
    Ok(Box::new(FileChardev { file }))
}

impl Chardev for FileChardev {
    fn input_fd(&self) -> Option<RawFd> {
        None
    }
    fn read_input(&mut self, _buf: &mut [u8]) -> ChardevRead {
        ChardevRead::WouldBlock
    }
    fn filename(&self) -> String {
        "file".to_string()
    }
    fn write(&mut self, data: &[u8]) {
        // A full disk loses output, as in QEMU; the guest does not notice.
        let _ = self.file.write_all(data);
    }
}

//! The qtest protocol server (QEMU's `softmmu/qtest.c`): a test harness on
//! a chardev sends one command a line and gets one `OK ...`/`FAIL ...`
//! answer a line, preceded by the asynchronous `IRQ raise N`/`IRQ lower N`
//! lines of the inputs it intercepts. Accesses go through the machine's
//! buses and RAM as a CPU's would. Unlike QEMU, which aborts on a
//! malformed command, a bad line is answered with `FAIL` and the session
//! goes on.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hw::core::bus::lock;
use hw::core::chardev::{CharBackend, CharEvent, CharFrontend};

use crate::chardev::{ChardevSet, ConnectError};
use crate::machine::Machine;

use super::base64;

/// What came from the chardev, in order: bytes and connection changes.
enum Incoming {
    Bytes(Vec<u8>),
    Event(CharEvent),
}

struct QtestFrontend(Arc<Mutex<VecDeque<Incoming>>>);

impl CharFrontend for QtestFrontend {
    fn can_receive(&self) -> usize {
        // QEMU's qtest takes input in 1 KiB pieces.
        1024
    }

    fn receive(&mut self, data: &[u8]) {
        lock(&self.0).push_back(Incoming::Bytes(data.to_vec()));
    }

    fn event(&mut self, event: CharEvent) {
        lock(&self.0).push_back(Incoming::Event(event));
    }
}

/// Where the conversation is logged (`-qtest-log`), with the time since
/// the harness connected, as QEMU writes it.
struct Log {
    out: Box<dyn Write + Send>,
    opened: Option<Instant>,
}

impl Log {
    fn elapsed(&self) -> f64 {
        self.opened.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    fn line(&mut self, text: &str) {
        // A log that cannot be written is not worth stopping the test for.
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

/// The server on its chardev.
pub struct QtestServer {
    incoming: Arc<Mutex<VecDeque<Incoming>>>,
    /// Received bytes not yet ending in a newline.
    partial: Vec<u8>,
    output: Arc<dyn CharBackend>,
    log: Option<Log>,
}

impl QtestServer {
    /// Attach to chardev `id`; log to `log` (stderr when `None`, nothing
    /// for `none`).
    pub fn connect(
        chardevs: &mut ChardevSet,
        id: &str,
        log: Option<&Path>,
    ) -> Result<Self, String> {
        let out: Option<Box<dyn Write + Send>> = match log {
            None => Some(Box::new(std::io::stderr())),
            Some(path) if path == Path::new("none") => None,
            // QEMU goes on without a log when the file cannot be opened.
            Some(path) => File::create(path)
                .ok()
                .map(|f| Box::new(f) as Box<dyn Write + Send>),
        };
        let incoming = Arc::new(Mutex::new(VecDeque::new()));
        let mut output = None;
        chardevs
            .connect_new_frontend(id, |backend| {
                output = Some(backend);
                QtestFrontend(incoming.clone())
            })
            .map_err(|e: ConnectError| e.to_string())?;
        let output = output.ok_or_else(|| format!("chardev '{id}' has no backend"))?;
        Ok(Self {
            incoming,
            partial: Vec::new(),
            output,
            log: out.map(|out| Log { out, opened: None }),
        })
    }

    /// Answer every complete line received so far, and send the interrupt
    /// changes that happened meanwhile (a timer's, say).
    pub fn process(&mut self, machine: &mut Machine) {
        loop {
            let next = lock(&self.incoming).pop_front();
            match next {
                Some(Incoming::Event(event)) => self.connection(event, machine),
                Some(Incoming::Bytes(bytes)) => {
                    self.partial.extend_from_slice(&bytes);
                    while let Some(line) = take_line(&mut self.partial) {
                        let reply = self.command(&line, machine);
                        self.send_interrupts(machine);
                        self.send(&reply);
                    }
                }
                None => break,
            }
        }
        self.send_interrupts(machine);
    }

    fn connection(&mut self, event: CharEvent, machine: &Machine) {
        if event == CharEvent::Opened {
            if let Some(inputs) = machine.qtest_ioapic_inputs() {
                inputs.forget_levels();
            }
        }
        let Some(log) = &mut self.log else {
            return;
        };
        match event {
            CharEvent::Opened => {
                log.opened = Some(Instant::now());
                log.line("[I 0.000000] OPENED\n");
            }
            CharEvent::Closed => {
                let line = format!("[I +{:.6}] CLOSED\n", log.elapsed());
                log.line(&line);
                log.opened = None;
            }
        }
    }

    fn send_interrupts(&mut self, machine: &Machine) {
        if let Some(inputs) = machine.qtest_ioapic_inputs() {
            for event in inputs.take_events() {
                self.send(&format!("{event}\n"));
            }
        }
    }

    fn send(&mut self, text: &str) {
        if let Some(log) = &mut self.log {
            let line = format!("[S +{:.6}] {text}", log.elapsed());
            log.line(&line);
        }
        self.output.write_all(text.as_bytes());
    }

    fn command(&mut self, line: &str, machine: &mut Machine) -> String {
        let words: Vec<&str> = line.split(' ').collect();
        if let Some(log) = &mut self.log {
            let text = format!("[R +{:.6}] {}\n", log.elapsed(), words.join(" "));
            log.line(&text);
        }
        match run(&words, machine) {
            Ok(reply) => reply,
            Err(Failure(message)) => format!("FAIL {message}\n"),
        }
    }
}

/// The chardev closes when the process ends: QEMU logs it as a
/// disconnection.
impl Drop for QtestServer {
    fn drop(&mut self) {
        if let Some(log) = self.log.as_mut().filter(|log| log.opened.is_some()) {
            let line = format!("[I +{:.6}] CLOSED\n", log.elapsed());
            log.line(&line);
        }
    }
}

/// One line without its newline, taken from the front of `bytes`.
fn take_line(bytes: &mut Vec<u8>) -> Option<String> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let line: Vec<u8> = bytes.drain(..=end).take(end).collect();
    Some(String::from_utf8_lossy(&line).into_owned())
}

/// Why a command failed: the text after `FAIL `.
struct Failure(String);

fn malformed(command: &str) -> Failure {
    Failure(format!("malformed command '{command}'"))
}

/// An unsigned number as C's strtoul with base 0 reads it: decimal, `0x`
/// hexadecimal or `0` octal.
fn number(text: Option<&&str>) -> Option<u64> {
    let text = *text?;
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse().ok()
    }
}

/// A signed number (`clock_step`, `clock_set`, `set_irq_in`).
fn signed(text: Option<&&str>) -> Option<i64> {
    match text?.strip_prefix('-') {
        Some(rest) => number(Some(&rest))
            .and_then(|n| i64::try_from(n).ok())
            .map(|n| -n),
        None => number(text).and_then(|n| i64::try_from(n).ok()),
    }
}

fn access_size(command: &str, suffix_at: usize) -> usize {
    match command.as_bytes().get(suffix_at) {
        Some(b'w') => 2,
        Some(b'l') => 4,
        Some(b'q') => 8,
        _ => 1,
    }
}

fn run(words: &[&str], machine: &mut Machine) -> Result<String, Failure> {
    let command = words[0];
    let bad = || malformed(command);
    match command {
        "outb" | "outw" | "outl" => {
            let port = number(words.get(1))
                .filter(|p| *p <= 0xffff)
                .ok_or_else(bad)?;
            let value = number(words.get(2)).ok_or_else(bad)?;
            let size = access_size(command, 3);
            machine.port_write(port as u16, &value.to_le_bytes()[..size]);
            Ok("OK\n".into())
        }
        "inb" | "inw" | "inl" => {
            let port = number(words.get(1))
                .filter(|p| *p <= 0xffff)
                .ok_or_else(bad)?;
            let mut data = [0u8; 4];
            let size = access_size(command, 2);
            machine.port_read(port as u16, &mut data[..size]);
            Ok(format!("OK 0x{:04x}\n", u32::from_le_bytes(data)))
        }
        "writeb" | "writew" | "writel" | "writeq" => {
            let addr = number(words.get(1)).ok_or_else(bad)?;
            let value = number(words.get(2)).ok_or_else(bad)?;
            let size = access_size(command, 5);
            machine.physical_write(addr, &value.to_le_bytes()[..size]);
            Ok("OK\n".into())
        }
        "readb" | "readw" | "readl" | "readq" => {
            let addr = number(words.get(1)).ok_or_else(bad)?;
            let mut data = [0u8; 8];
            let size = access_size(command, 4);
            machine.physical_read(addr, &mut data[..size]);
            Ok(format!("OK 0x{:016x}\n", u64::from_le_bytes(data)))
        }
        "read" | "b64read" => {
            let addr = number(words.get(1)).ok_or_else(bad)?;
            let len = number(words.get(2)).ok_or_else(bad)?;
            if command == "read" && len == 0 {
                return Err(bad());
            }
            let mut data = vec![0u8; checked_len(len)?];
            machine.physical_read(addr, &mut data);
            if command == "read" {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                Ok(format!("OK 0x{hex}\n"))
            } else {
                Ok(format!("OK {}\n", base64::encode(&data)))
            }
        }
        "write" | "b64write" => {
            let addr = number(words.get(1)).ok_or_else(bad)?;
            let len = checked_len(number(words.get(2)).ok_or_else(bad)?)?;
            let text = words.get(3).ok_or_else(bad)?;
            if text.len() < 3 {
                // QEMU's answer, without the OK/FAIL word.
                return Ok("ERR invalid argument size\n".into());
            }
            let mut data = if command == "write" {
                hex_data(text).ok_or_else(bad)?
            } else {
                base64::decode(text).ok_or_else(bad)?
            };
            // Short data is padded with zeros, long data cut.
            data.resize(len, 0);
            machine.physical_write(addr, &data);
            Ok("OK\n".into())
        }
        "memset" => {
            let addr = number(words.get(1)).ok_or_else(bad)?;
            let len = checked_len(number(words.get(2)).ok_or_else(bad)?)?;
            let pattern = number(words.get(3)).ok_or_else(bad)?;
            if len > 0 {
                machine.physical_write(addr, &vec![pattern as u8; len]);
            }
            Ok("OK\n".into())
        }
        "endianness" => Ok("OK little\n".into()),
        "clock_step" if machine.virtual_clock().is_some() => {
            let step = match words.get(1) {
                Some(_) => Some(signed(words.get(1)).ok_or_else(bad)?),
                None => machine.virtual_time_to_next_timer(),
            };
            let now = machine.virtual_clock_ns().unwrap_or(0);
            if let Some(step) = step {
                machine.warp_virtual_clock(now.saturating_add(step));
            }
            Ok(format!("OK {}\n", machine.virtual_clock_ns().unwrap_or(0)))
        }
        "clock_set" if machine.virtual_clock().is_some() => {
            let target = signed(words.get(1)).ok_or_else(bad)?;
            machine.warp_virtual_clock(target);
            Ok(format!("OK {}\n", machine.virtual_clock_ns().unwrap_or(0)))
        }
        "irq_intercept_in" => {
            let path = words.get(1).ok_or_else(bad)?;
            let inputs = intercepted_ioapic(machine, path)?;
            inputs.intercept();
            Ok("OK\n".into())
        }
        "set_irq_in" => {
            let path = words.get(1).ok_or_else(bad)?;
            let name = words.get(2).ok_or_else(bad)?;
            let input = signed(words.get(3)).ok_or_else(bad)?;
            let level = signed(words.get(4)).ok_or_else(bad)?;
            intercepted_ioapic(machine, path)?;
            if *name != "unnamed-gpio-in" {
                return Err(Failure(format!("Unknown input '{name}'")));
            }
            let input = u32::try_from(input).map_err(|_| bad())?;
            machine.set_qtest_ioapic_input(input, level != 0);
            Ok("OK\n".into())
        }
        _ => Err(Failure(format!("Unknown command '{command}'"))),
    }
}

/// The IOAPIC's inputs, when `path` names the IOAPIC: the only device
/// whose interrupt inputs can be intercepted so far.
fn intercepted_ioapic(
    machine: &Machine,
    path: &str,
) -> Result<Arc<super::chipset::IoapicInputs>, Failure> {
    if !machine.qom().names_ioapic(path) {
        return Err(Failure("Unknown device".into()));
    }
    machine
        .qtest_ioapic_inputs()
        .ok_or_else(|| Failure("Unknown device".into()))
}

/// A length the process can allocate: QEMU would abort on a larger one.
fn checked_len(len: u64) -> Result<usize, Failure> {
    const LIMIT: u64 = 1 << 30;
    usize::try_from(len)
        .ok()
        .filter(|_| len <= LIMIT)
        .ok_or_else(|| Failure(format!("length {len} too large")))
}

/// `0x` and hexadecimal digits, two per byte.
fn hex_data(text: &str) -> Option<Vec<u8>> {
    let digits = text.strip_prefix("0x")?.as_bytes();
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_strtoul_base_0() {
        assert_eq!(number(Some(&"0x1f")), Some(31));
        assert_eq!(number(Some(&"017")), Some(15));
        assert_eq!(number(Some(&"10")), Some(10));
        assert_eq!(number(Some(&"0")), Some(0));
        assert_eq!(number(Some(&"zz")), None);
        assert_eq!(signed(Some(&"-5")), Some(-5));
    }

    #[test]
    fn lines_are_taken_one_at_a_time() {
        let mut bytes = b"inb 0x70\noutb".to_vec();
        assert_eq!(take_line(&mut bytes).as_deref(), Some("inb 0x70"));
        assert_eq!(take_line(&mut bytes), None);
        assert_eq!(bytes, b"outb");
    }

    #[test]
    fn hex_data_is_two_digits_a_byte() {
        assert_eq!(hex_data("0x01ff"), Some(vec![1, 0xff]));
        assert_eq!(hex_data("01ff"), None);
    }
}

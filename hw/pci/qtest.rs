//! Test support: QEMU 7.2 driven through its qtest protocol, and the same
//! port and memory accesses made to our models, so a test can run one
//! sequence of accesses on both and compare what the guest would read.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::core::bus::Bus;

/// QEMU 7.2, the reference the models are compared with.
pub const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// Port and memory accesses as a guest makes them.
pub trait GuestAccess {
    /// Write `size` (1, 2 or 4) bytes of `value` to `port`.
    fn outp(&mut self, port: u16, size: usize, value: u32);
    fn inp(&mut self, port: u16, size: usize) -> u32;
    fn writel(&mut self, addr: u64, value: u32);
    fn readl(&mut self, addr: u64) -> u32;

    /// A configuration write through mechanism #1.
    fn config_writel(&mut self, bus: u8, devfn: u8, offset: u8, value: u32) {
        self.outp(0xcf8, 4, config_address(bus, devfn, offset));
        self.outp(0xcfc, 4, value);
    }
    fn config_readl(&mut self, bus: u8, devfn: u8, offset: u8) -> u32 {
        self.outp(0xcf8, 4, config_address(bus, devfn, offset));
        self.inp(0xcfc, 4)
    }
}

pub fn config_address(bus: u8, devfn: u8, offset: u8) -> u32 {
    0x8000_0000 | u32::from(bus) << 16 | u32::from(devfn) << 8 | u32::from(offset)
}

/// A QEMU process stopped before the guest runs (`-S`), answering qtest
/// commands on its stdin/stdout.
pub struct Qtest {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Intercepted interrupt inputs that are high (`irq_intercept_in`).
    high_irqs: BTreeSet<u32>,
}

impl Qtest {
    /// Start QEMU with `-machine {machine},accel=tcg` and `extra` arguments.
    pub fn start(machine: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(QEMU)
            .args(["-machine", &format!("{machine},accel=tcg")])
            .args(["-display", "none", "-nodefaults", "-S", "-qtest", "stdio"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("QEMU 7.2 runs");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Self {
            child,
            stdin,
            stdout,
            high_irqs: BTreeSet::new(),
        }
    }

    /// Report the levels of the GPIO inputs of the device at QOM path
    /// `path` (such as `ioapic`) instead of delivering them.
    pub fn intercept_irqs(&mut self, path: &str) {
        self.command(&format!("irq_intercept_in {path}"));
    }

    /// The intercepted inputs that are high after the last command.
    pub fn high_irqs(&self) -> &BTreeSet<u32> {
        &self.high_irqs
    }

    /// Send one command and return what follows `OK` in its answer,
    /// noting the interrupt changes QEMU reports meanwhile.
    pub fn command(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("QEMU takes commands");
        loop {
            let mut answer = String::new();
            let n = self.stdout.read_line(&mut answer).expect("QEMU answers");
            assert!(n > 0, "QEMU exited on `{line}`");
            let answer = answer.trim_end();
            if let Some(rest) = answer.strip_prefix("OK") {
                return rest.trim().to_string();
            }
            if let Some(irq) = answer.strip_prefix("IRQ raise ") {
                self.high_irqs.insert(irq.parse().expect("an IRQ number"));
                continue;
            }
            if let Some(irq) = answer.strip_prefix("IRQ lower ") {
                self.high_irqs.remove(&irq.parse().expect("an IRQ number"));
                continue;
            }
            assert!(
                !answer.starts_with("ERR") && !answer.starts_with("FAIL"),
                "QEMU refused `{line}`: {answer}"
            );
        }
    }

    fn value(&mut self, line: &str) -> u32 {
        let answer = self.command(line);
        let hex = answer.trim_start_matches("0x");
        u32::from_str_radix(hex, 16).expect("a hexadecimal answer")
    }
}

impl Drop for Qtest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn suffix(size: usize) -> char {
    match size {
        1 => 'b',
        2 => 'w',
        _ => 'l',
    }
}

impl GuestAccess for Qtest {
    fn outp(&mut self, port: u16, size: usize, value: u32) {
        self.command(&format!("out{} {port:#x} {value:#x}", suffix(size)));
    }
    fn inp(&mut self, port: u16, size: usize) -> u32 {
        self.value(&format!("in{} {port:#x}", suffix(size)))
    }
    fn writel(&mut self, addr: u64, value: u32) {
        self.command(&format!("writel {addr:#x} {value:#x}"));
    }
    fn readl(&mut self, addr: u64) -> u32 {
        self.value(&format!("readl {addr:#x}"))
    }
}

/// Our models on a port bus and a memory bus; unassigned reads return all
/// ones, as on QEMU's PC. `after_write` lets the test apply what a write
/// changed (such as moving the ECAM window), as the machine will.
pub struct Model {
    pub pio: Bus,
    pub mmio: Bus,
    pub after_write: Box<dyn FnMut(&Bus)>,
}

impl Model {
    pub fn new(pio: Bus, mmio: Bus) -> Self {
        Self {
            pio,
            mmio,
            after_write: Box::new(|_| {}),
        }
    }
}

fn to_u32(data: &[u8]) -> u32 {
    data.iter().rev().fold(0, |v, &b| v << 8 | u32::from(b))
}

impl GuestAccess for Model {
    fn outp(&mut self, port: u16, size: usize, value: u32) {
        self.pio
            .write(u64::from(port), &value.to_le_bytes()[..size]);
        (self.after_write)(&self.mmio);
    }
    fn inp(&mut self, port: u16, size: usize) -> u32 {
        let mut data = [0xffu8; 4];
        self.pio.read(u64::from(port), &mut data[..size]);
        to_u32(&data[..size])
    }
    fn writel(&mut self, addr: u64, value: u32) {
        self.mmio.write(addr, &value.to_le_bytes());
        (self.after_write)(&self.mmio);
    }
    fn readl(&mut self, addr: u64) -> u32 {
        let mut data = [0xffu8; 4];
        self.mmio.read(addr, &mut data);
        to_u32(&data)
    }
}

/// Run QEMU with its human monitor on stdio, send `commands` and `quit`,
/// and return what the last command printed (lines between its echo and
/// the next prompt, without the terminal's carriage returns).
pub fn hmp(machine: &str, extra: &[&str], commands: &[String]) -> String {
    let mut child = Command::new(QEMU)
        .args(["-machine", &format!("{machine},accel=tcg")])
        .args(["-display", "none", "-nodefaults", "-S", "-monitor", "stdio"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("QEMU 7.2 runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    for command in commands {
        writeln!(stdin, "{command}").expect("QEMU takes commands");
    }
    writeln!(stdin, "quit").expect("QEMU takes commands");
    let output = child.wait_with_output().expect("QEMU exits");
    let text = String::from_utf8_lossy(&output.stdout);
    let last = commands.last().expect("a command");
    let lines: Vec<&str> = text.split("\r\n").collect();
    let echo = lines
        .iter()
        .rposition(|l| l.starts_with("(qemu)") && l.contains(last.as_str()))
        .expect("the command's echo");
    lines[echo + 1..]
        .iter()
        .take_while(|l| !l.starts_with("(qemu)"))
        .map(|l| format!("{l}\n"))
        .collect()
}

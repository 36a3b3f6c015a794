//! Comparing the models with QEMU 7.2 itself: the same qtest script is run
//! by QEMU's `pc` machine (TCG, stopped with `-S`, whose PICs, IOAPIC, PIT
//! and speaker port are exactly the userspace models these follow; without
//! HPET, whose reset would drive IRQ 0 from the PIT's pre-reset state) and by
//! a small machine made of our models, and the answers must match line for
//! line. QEMU's virtual clock stands still while the machine is stopped, so
//! the PIT reads deterministically on both sides.
//!
//! Where the IOAPIC's messages go is seen through QEMU's CPU 0 local APIC:
//! the script line `lapic_irr` (not a qtest command) compares the IRR
//! that QEMU's `info lapic` shows with the vectors our messages would leave
//! in the IRR of a local APIC in its power-on state (APIC id 0). The line
//! `system_reset` resets both machines.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::bus::{lock, Bus};
use crate::core::irq::{GsiLine, InterruptLine};
use crate::core::testing::ManualClock;
use crate::intc::gsi::GsiRouter;
use crate::intc::i8259::{PicPorts, PicRegisters, I8259};
use crate::intc::ioapic::{Ioapic, MsiMessage, MsiSink, IOAPIC_BASE, IOAPIC_SIZE};
use crate::timer::i8254::{
    SpeakerPort, I8254, PIT_IOBASE, PIT_IO_SIZE, PIT_IRQ, SPEAKER_IOBASE, SPEAKER_IO_SIZE,
};

/// The QOM paths of the chips in QEMU 7.2's `pc` machine with
/// `-nodefaults`.
pub const MASTER_PIC: &str = "/machine/unattached/device[6]";
pub const SLAVE_PIC: &str = "/machine/unattached/device[7]";
pub const IOAPIC: &str = "/machine/i440fx/ioapic";

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// QEMU 7.2 speaking qtest on its standard input and output, and QMP on a
/// socket.
pub struct Qemu {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    qmp_path: PathBuf,
    qmp: Option<(BufReader<UnixStream>, UnixStream)>,
    firmware: Option<PathBuf>,
}

/// A unique path in the temporary directory.
fn temp_path(what: &str) -> PathBuf {
    static INSTANCES: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "rqemu-hw-qtest-{}-{}-{what}",
        std::process::id(),
        INSTANCES.fetch_add(1, Ordering::SeqCst)
    ))
}

/// 64 KiB of firmware whose reset vector disables interrupts and halts,
/// so that QEMU's machine can run with the devices untouched.
fn write_halting_firmware() -> PathBuf {
    let mut image = vec![0xf4u8; 0x10000]; // hlt
                                           // At 0xffff0: cli; hlt; jmp back to the hlt.
    image[0xfff0..0xfff4].copy_from_slice(&[0xfa, 0xf4, 0xeb, 0xfd]);
    let path = temp_path("halt.bin");
    std::fs::write(&path, image).unwrap();
    path
}

impl Qemu {
    /// QEMU stopped before running any firmware: its virtual clock stands
    /// still.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// QEMU whose CPU halts at once when it runs (`cont`), so that time can
    /// pass without anything touching the devices.
    pub fn start_halting() -> Self {
        Self::start_with(Some(write_halting_firmware()))
    }

    fn start_with(firmware: Option<PathBuf>) -> Self {
        let qmp_path = temp_path("qmp.sock");
        let mut child = Command::new(QEMU)
            .args([
                "-machine",
                "pc,accel=tcg,hpet=off",
                "-display",
                "none",
                "-nodefaults",
            ])
            .args(["-S", "-qtest", "stdio", "-qmp"])
            .arg(format!("unix:{},server=on,wait=off", qmp_path.display()))
            .args(
                firmware
                    .iter()
                    .flat_map(|f| ["-bios".as_ref(), f.as_os_str()]),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {QEMU}: {e}"));
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            input,
            output,
            qmp_path,
            qmp: None,
            firmware,
        }
    }

    /// Run a QMP command (JSON text) and return the reply line; events
    /// read on the way are dropped.
    pub fn qmp(&mut self, command: &str) -> String {
        self.qmp_until(command, |line| {
            line.contains("\"return\"") || line.contains("\"error\"")
        })
    }

    /// A machine reset (QMP `system_reset`), complete when QEMU reports its
    /// RESET event.
    pub fn system_reset(&mut self) {
        let mut returned = false;
        let mut reset = false;
        self.qmp_until(r#"{"execute": "system_reset"}"#, |line| {
            returned |= line.contains("\"return\"");
            reset |= line.contains("\"RESET\"");
            returned && reset
        });
    }

    fn qmp_until(&mut self, command: &str, mut done: impl FnMut(&str) -> bool) -> String {
        if self.qmp.is_none() {
            let stream = self.connect_qmp();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut greeting = String::new();
            reader.read_line(&mut greeting).unwrap();
            self.qmp = Some((reader, stream));
            self.qmp(r#"{"execute": "qmp_capabilities"}"#);
        }
        let (reader, writer) = self.qmp.as_mut().unwrap();
        writeln!(writer, "{command}").unwrap();
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "QMP closed");
            if done(&line) {
                return line;
            }
        }
    }

    /// A connection to QEMU's QMP socket, which QEMU creates while it
    /// starts.
    fn connect_qmp(&self) -> UnixStream {
        for _ in 0..500 {
            if let Ok(stream) = UnixStream::connect(&self.qmp_path) {
                return stream;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no QMP socket at {}", self.qmp_path.display());
    }

    /// The vectors in CPU 0's local APIC IRR, as `info lapic` lists them
    /// (`(none)`, or e.g. `53(level) 68`).
    pub fn lapic_irr(&mut self) -> String {
        let reply = self.qmp(
            r#"{"execute": "human-monitor-command", "arguments": {"command-line": "info lapic"}}"#,
        );
        // The text is a JSON string: its tabs and newlines are escaped.
        let irr = reply
            .split("\\nIRR\\t")
            .nth(1)
            .and_then(|rest| rest.split("\\n").next())
            .unwrap_or_else(|| panic!("no IRR in {reply}"));
        irr.trim_end_matches("\\r").trim().to_string()
    }

    /// The lines QEMU answers `command` with: interrupt events, then the
    /// final `OK ...` or `FAIL ...`.
    pub fn command(&mut self, command: &str) -> Vec<String> {
        writeln!(self.input, "{command}").unwrap();
        self.input.flush().unwrap();
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.output.read_line(&mut line).unwrap();
            assert!(n > 0, "QEMU exited during {command:?}");
            let line = line.trim_end().to_string();
            let last = line.starts_with("OK") || line.starts_with("FAIL");
            lines.push(line);
            if last {
                return lines;
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.qmp_path);
        if let Some(firmware) = &self.firmware {
            let _ = std::fs::remove_file(firmware);
        }
    }
}

/// The master PIC's output as qtest reports it once intercepted.
#[derive(Default)]
struct InterceptedIntr {
    intercepted: Mutex<bool>,
    events: Mutex<Vec<String>>,
}

impl InterruptLine for InterceptedIntr {
    fn set_level(&self, level: bool) {
        if *self.intercepted.lock().unwrap() {
            let word = if level { "raise" } else { "lower" };
            self.events.lock().unwrap().push(format!("IRQ {word} 0"));
        }
    }
}

/// Messages the IOAPIC sent, for the tests to look at.
#[derive(Default)]
pub struct RecordingSink(pub Mutex<Vec<MsiMessage>>);

impl MsiSink for RecordingSink {
    fn deliver(&self, message: MsiMessage) {
        self.0.lock().unwrap().push(message);
    }
}

/// Our models wired as on QEMU's `pc`, answering the qtest commands the
/// comparisons use.
pub struct ModelPc {
    pub pics: Arc<Mutex<I8259>>,
    pub ioapic: Arc<Mutex<Ioapic>>,
    pub messages: Arc<RecordingSink>,
    pub clock: Arc<ManualClock>,
    intr: Arc<InterceptedIntr>,
    io: Bus,
    mmio: Bus,
}

impl ModelPc {
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::at(Duration::from_secs(1000)));
        let intr = Arc::new(InterceptedIntr::default());
        let pics = Arc::new(Mutex::new(I8259::new(intr.clone())));
        let messages = Arc::new(RecordingSink::default());
        let ioapic = Arc::new(Mutex::new(Ioapic::new(
            messages.clone(),
            pics.clone(),
            clock.clone(),
        )));
        let router = Arc::new(GsiRouter::new(pics.clone(), ioapic.clone()));
        let pit_irq = Arc::new(GsiLine::new(router, u32::from(PIT_IRQ)));
        let pit = Arc::new(Mutex::new(I8254::new(pit_irq, clock.clone())));
        let io = Bus::new();
        for registers in PicRegisters::ALL {
            let ports = PicPorts::new(pics.clone(), registers);
            io.insert(
                u64::from(registers.base()),
                registers.size(),
                registers.region_name(),
                Arc::new(Mutex::new(ports)),
            )
            .unwrap();
        }
        io.insert(u64::from(PIT_IOBASE), PIT_IO_SIZE, "pit", pit.clone())
            .unwrap();
        let speaker = SpeakerPort::new(pit.clone());
        io.insert(
            u64::from(SPEAKER_IOBASE),
            SPEAKER_IO_SIZE,
            "pcspk",
            Arc::new(Mutex::new(speaker)),
        )
        .unwrap();
        let mmio = Bus::new();
        mmio.insert(IOAPIC_BASE, IOAPIC_SIZE, "ioapic", ioapic.clone())
            .unwrap();
        Self {
            pics,
            ioapic,
            messages,
            clock,
            intr,
            io,
            mmio,
        }
    }

    /// What `Qemu::lapic_irr` shows after our messages: fixed,
    /// lowest-priority and (QEMU's APIC has no special case for them)
    /// ExtINT messages to APIC id 0 (or broadcast, 0xff) in
    /// physical mode set their vector in the IRR, with the trigger mode of
    /// the last one; logical destinations match nothing, the logical
    /// destination register being 0 after reset. QEMU's APIC window takes
    /// a write to its offsets 0x010-0xff0 (destination 0 and a non-zero
    /// reserved byte) for a write to a register of the APIC page, not a
    /// message.
    pub fn lapic_irr(&self) -> String {
        let mut irr = BTreeMap::new();
        for message in self.messages.0.lock().unwrap().iter() {
            let offset = message.address & 0xf_ffff;
            let is_message = offset > 0xfff || (offset >> 4) & 0xff == 0;
            let to_cpu0 =
                !message.logical_destination() && matches!(message.destination(), 0 | 0xff);
            if is_message && to_cpu0 && matches!(message.delivery_mode(), 0 | 1 | 7) {
                irr.insert(message.vector(), message.level_triggered());
            }
        }
        if irr.is_empty() {
            return "(none)".to_string();
        }
        let vectors: Vec<String> = irr
            .iter()
            .map(|(vector, &level)| format!("{vector}{}", if level { "(level)" } else { "" }))
            .collect();
        vectors.join(" ")
    }

    /// A machine reset: every device on the buses back to power-on state.
    pub fn system_reset(&mut self) {
        self.io.reset_devices();
        self.mmio.reset_devices();
        // The local APIC's IRR is cleared too.
        self.messages.0.lock().unwrap().clear();
    }

    pub fn command(&mut self, command: &str) -> Vec<String> {
        let words: Vec<&str> = command.split_whitespace().collect();
        let number = |i: usize| -> u64 {
            let word: &str = words[i];
            match word.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                None => word.parse().unwrap(),
            }
        };
        let size = |name: &str| match name.chars().last() {
            Some('b') => 1,
            Some('w') => 2,
            Some('l') => 4,
            _ => 8,
        };
        let answer = match words[0] {
            "outb" | "outw" | "outl" => {
                let bytes = number(2).to_le_bytes();
                assert!(self.io.write(number(1), &bytes[..size(words[0])]));
                "OK".to_string()
            }
            "inb" | "inw" | "inl" => {
                let mut bytes = [0u8; 8];
                assert!(self.io.read(number(1), &mut bytes[..size(words[0])]));
                format!("OK 0x{:04x}", u64::from_le_bytes(bytes))
            }
            "writeb" | "writew" | "writel" | "writeq" => {
                let bytes = number(2).to_le_bytes();
                assert!(self.mmio.write(number(1), &bytes[..size(words[0])]));
                "OK".to_string()
            }
            "readb" | "readw" | "readl" | "readq" => {
                let mut bytes = [0u8; 8];
                assert!(self.mmio.read(number(1), &mut bytes[..size(words[0])]));
                format!("OK 0x{:016x}", u64::from_le_bytes(bytes))
            }
            "irq_intercept_out" => {
                assert_eq!(words[1], MASTER_PIC);
                *self.intr.intercepted.lock().unwrap() = true;
                "OK".to_string()
            }
            "set_irq_in" => {
                assert_eq!(words[2], "unnamed-gpio-in");
                let (n, level) = (number(3), number(4) != 0);
                match words[1] {
                    MASTER_PIC => lock(&self.pics).set_irq(n as u8, level),
                    SLAVE_PIC => lock(&self.pics).set_irq(8 + n as u8, level),
                    IOAPIC => lock(&self.ioapic).set_irq(n as u32, level),
                    other => panic!("no model for {other}"),
                }
                "OK".to_string()
            }
            other => panic!("no model for qtest command {other}"),
        };
        let mut lines = std::mem::take(&mut *self.intr.events.lock().unwrap());
        lines.push(answer);
        lines
    }
}

/// Run `script` on QEMU 7.2 and on the models, and fail at the first answer
/// that differs, showing the script up to there.
pub fn assert_same_as_qemu(script: &[String]) {
    let mut qemu = Qemu::start();
    let mut model = ModelPc::new();
    for (i, command) in script.iter().enumerate() {
        let (expected, actual) = if command == "lapic_irr" {
            (vec![qemu.lapic_irr()], vec![model.lapic_irr()])
        } else if command == "system_reset" {
            // Interrupt events of the reset show with the next answer.
            qemu.system_reset();
            model.system_reset();
            (vec![], vec![])
        } else {
            (qemu.command(command), model.command(command))
        };
        if expected != actual {
            let start = i.saturating_sub(40);
            panic!(
                "answers differ at command {i} {command:?}:\n  QEMU 7.2: {expected:?}\n  models:   {actual:?}\nscript (from command {start}):\n{}",
                script[start..=i].join("\n")
            );
        }
    }
}

/// `assert_same_as_qemu` for a script written as one command per line;
/// `#` starts a comment line, `$MASTER`, `$SLAVE` and `$IOAPIC` stand for
/// the chips' QOM paths.
pub fn assert_script_same_as_qemu(script: &str) {
    let lines: Vec<String> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.replace("$MASTER", MASTER_PIC)
                .replace("$SLAVE", SLAVE_PIC)
                .replace("$IOAPIC", IOAPIC)
        })
        .collect();
    assert_same_as_qemu(&lines);
}

/// A small deterministic random generator (xorshift64*), so that random
/// scripts are the same on every run.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

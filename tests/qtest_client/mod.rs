//! A small qtest client for the tests, in the spirit of QEMU's libqtest:
//! starts an emulator whose devices the test drives through the qtest
//! protocol, with a QMP monitor beside it on the same machine.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

#[path = "../qmp_client/mod.rs"]
mod qmp_client;

pub use qmp_client::Client as QmpClient;
use qmp_client::{scratch, Vm};

/// A machine stopped before any guest code runs (`-S`), its qtest socket
/// connected.
pub struct QtestMachine {
    vm: Vm,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    qmp_socket: PathBuf,
    /// `IRQ raise N`/`IRQ lower N` lines received so far, in order.
    irqs: Vec<String>,
}

/// The socket exists before it listens: try for a while.
fn connect(socket: &std::path::Path, program: &str) -> UnixStream {
    let start = std::time::Instant::now();
    loop {
        match UnixStream::connect(socket) {
            Ok(stream) => return stream,
            Err(e) if start.elapsed() > Duration::from_secs(10) => {
                panic!("{program}: qtest socket: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

impl QtestMachine {
    /// `program` running QEMU's `pc` machine with `extra` arguments.
    pub fn start(program: &str, name: &str, extra: &[&str]) -> QtestMachine {
        let dir = scratch(&format!("qtest-{name}"));
        let qtest_socket = dir.join("qtest.sock");
        let qmp_socket = dir.join("qmp.sock");
        let mut args: Vec<String> = [
            "-machine",
            "pc",
            "-S",
            "-display",
            "none",
            "-nodefaults",
            "-qtest-log",
            "/dev/null",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push("-qmp".into());
        args.push(format!("unix:{},server=on,wait=off", qmp_socket.display()));
        args.push("-qtest".into());
        args.push(format!(
            "unix:{},server=on,wait=off",
            qtest_socket.display()
        ));
        args.extend(extra.iter().map(|s| s.to_string()));
        let vm = Vm::start(program, &args, &qtest_socket);
        let writer = connect(&qtest_socket, program);
        writer
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let reader = BufReader::new(writer.try_clone().expect("clone"));
        QtestMachine {
            vm,
            reader,
            writer,
            qmp_socket,
            irqs: Vec::new(),
        }
    }

    /// A QMP client on the same machine, capabilities negotiated.
    pub fn qmp(&self) -> QmpClient {
        QmpClient::negotiated(&self.qmp_socket)
    }

    /// End the emulator through QMP `quit`, as a test harness does, and
    /// wait for it to exit.
    pub fn quit(self) {
        let mut qmp = self.qmp();
        qmp.send(br#"{"execute": "quit"}"#);
        let (status, stderr) = self.vm.wait(Duration::from_secs(10));
        assert!(status.success(), "{status}: {stderr}");
    }

    /// Send one command line; its `OK ...`/`FAIL ...` answer, the
    /// interrupt lines before it kept for `take_irqs`.
    pub fn command(&mut self, line: &str) -> String {
        writeln!(self.writer, "{line}").expect("qtest write");
        loop {
            let mut reply = String::new();
            let n = self.reader.read_line(&mut reply).expect("qtest read");
            assert!(n > 0, "qtest connection closed during {line:?}");
            let reply = reply.trim_end().to_string();
            if reply.starts_with("IRQ ") {
                self.irqs.push(reply);
            } else {
                return reply;
            }
        }
    }

    /// The value of an `OK 0x...` answer.
    fn value(&mut self, line: &str) -> u64 {
        let reply = self.command(line);
        let hex = reply
            .strip_prefix("OK 0x")
            .unwrap_or_else(|| panic!("{line:?} answered {reply:?}"));
        u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{line:?} answered {reply:?}"))
    }

    fn ok(&mut self, line: &str) {
        let reply = self.command(line);
        assert_eq!(reply, "OK", "{line:?}");
    }

    pub fn outb(&mut self, port: u16, value: u8) {
        self.ok(&format!("outb 0x{port:x} 0x{value:x}"));
    }
    pub fn outw(&mut self, port: u16, value: u16) {
        self.ok(&format!("outw 0x{port:x} 0x{value:x}"));
    }
    pub fn outl(&mut self, port: u16, value: u32) {
        self.ok(&format!("outl 0x{port:x} 0x{value:x}"));
    }
    pub fn inb(&mut self, port: u16) -> u8 {
        self.value(&format!("inb 0x{port:x}")) as u8
    }
    pub fn inw(&mut self, port: u16) -> u16 {
        self.value(&format!("inw 0x{port:x}")) as u16
    }
    pub fn inl(&mut self, port: u16) -> u32 {
        self.value(&format!("inl 0x{port:x}")) as u32
    }
    pub fn readl(&mut self, addr: u64) -> u32 {
        self.value(&format!("readl 0x{addr:x}")) as u32
    }
    pub fn writel(&mut self, addr: u64, value: u32) {
        self.ok(&format!("writel 0x{addr:x} 0x{value:x}"));
    }

    /// Advance the virtual clock by `ns` (qtest accelerator only); the
    /// clock's new time.
    pub fn clock_step(&mut self, ns: u64) -> u64 {
        let reply = self.command(&format!("clock_step {ns}"));
        reply
            .strip_prefix("OK ")
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("clock_step answered {reply:?}"))
    }

    pub fn irq_intercept_in(&mut self, path: &str) {
        self.ok(&format!("irq_intercept_in {path}"));
    }

    /// The interrupt lines received since the last call.
    pub fn take_irqs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.irqs)
    }

    /// A configuration register of a device on PCI bus 0, through ports
    /// 0xcf8/0xcfc.
    pub fn pci_config_readl(&mut self, devfn: u8, offset: u8) -> u32 {
        self.outl(
            0xcf8,
            0x8000_0000 | u32::from(devfn) << 8 | u32::from(offset),
        );
        self.inl(0xcfc)
    }

    /// `len` bytes of fw_cfg item `key`, through the 0x510 ports.
    pub fn fw_cfg_read(&mut self, key: u16, len: usize) -> Vec<u8> {
        self.outw(0x510, key);
        (0..len).map(|_| self.inb(0x511)).collect()
    }

    /// A CMOS/RTC register, through ports 0x70/0x71.
    pub fn cmos_read(&mut self, index: u8) -> u8 {
        self.outb(0x70, index);
        self.inb(0x71)
    }
}

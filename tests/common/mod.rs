//! Shared helpers for the integration tests: building the test guests in
//! tests/guests with gcc and binutils, and running the emulator (ours or
//! QEMU 7.2) on them.

#![allow(dead_code)] // each test binary uses a part of this module

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Our emulator.
pub const RQEMU: &str = env!("CARGO_BIN_EXE_qemu-system-x86_64");
/// QEMU 7.2, the reference.
pub const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// A test guest and how it is built.
#[derive(Clone, Copy, Debug)]
pub enum Guest {
    /// PVH, ELF32 (tests/guests/pvh.S). Also the demo guest.
    Pvh32,
    /// PVH, the same code as an ELF64 file.
    Pvh64,
    /// Multiboot, flat binary with the a.out kludge.
    MultibootFlat,
    /// Multiboot, ELF32.
    MultibootElf,
    /// Linux boot protocol, bzImage layout.
    BzImage,
    /// Starts the second CPU (PVH).
    Smp,
    /// Resets through the i8042 on its first boot (PVH).
    ResetI8042,
    /// Resets with a triple fault on its first boot (PVH).
    ResetTripleFault,
    /// Reads fw_cfg: signature, numbered items, etc/e820 (PVH).
    FwCfg,
    /// Scans PCI bus 0 through ports 0xcf8/0xcfc (PVH).
    PciScan,
    /// Waits for an NMI, then exits (PVH).
    Nmi,
    /// Prints what it reads from the PS/2 keyboard (PVH).
    Keyboard,
    /// Sets the CMOS clock to 2030-01-02 03:04:05 and a minute on, then
    /// halts (PVH).
    Rtc,
}

impl Guest {
    pub fn file_name(self) -> &'static str {
        match self {
            Guest::Pvh32 => "pvh32.elf",
            Guest::Pvh64 => "pvh64.elf",
            Guest::MultibootFlat => "multiboot.bin",
            Guest::MultibootElf => "multiboot.elf",
            Guest::BzImage => "bzImage",
            Guest::Smp => "smp.elf",
            Guest::ResetI8042 => "reset.elf",
            Guest::ResetTripleFault => "reset-triple-fault.elf",
            Guest::FwCfg => "fwcfg.elf",
            Guest::PciScan => "pciscan.elf",
            Guest::Nmi => "nmi.elf",
            Guest::Keyboard => "keyboard.elf",
            Guest::Rtc => "rtc.elf",
        }
    }

    const ALL: [Guest; 13] = [
        Guest::Pvh32,
        Guest::Pvh64,
        Guest::MultibootFlat,
        Guest::MultibootElf,
        Guest::BzImage,
        Guest::Smp,
        Guest::ResetI8042,
        Guest::ResetTripleFault,
        Guest::FwCfg,
        Guest::PciScan,
        Guest::Nmi,
        Guest::Keyboard,
        Guest::Rtc,
    ];

    /// (source, extra gcc flags, 64-bit object, linker script, flat binary)
    fn recipe(
        self,
    ) -> (
        &'static str,
        &'static [&'static str],
        bool,
        &'static str,
        bool,
    ) {
        match self {
            Guest::Pvh32 => ("pvh.S", &[], false, "guest.ld", false),
            Guest::Pvh64 => ("pvh.S", &[], true, "guest.ld", false),
            Guest::MultibootFlat => ("multiboot.S", &[], false, "guest.ld", true),
            Guest::MultibootElf => (
                "multiboot.S",
                &["-DMULTIBOOT_ELF"],
                false,
                "guest.ld",
                false,
            ),
            Guest::BzImage => ("bzimage.S", &[], true, "bzimage.ld", true),
            Guest::Smp => ("smp.S", &[], false, "guest.ld", false),
            Guest::ResetI8042 => ("reset.S", &[], false, "guest.ld", false),
            Guest::ResetTripleFault => ("reset.S", &["-DTRIPLE_FAULT"], false, "guest.ld", false),
            Guest::FwCfg => ("fwcfg.S", &[], false, "guest.ld", false),
            Guest::PciScan => ("pciscan.S", &[], false, "guest.ld", false),
            Guest::Nmi => ("nmi.S", &[], false, "guest.ld", false),
            Guest::Keyboard => ("keyboard.S", &[], false, "guest.ld", false),
            Guest::Rtc => ("rtc.S", &[], false, "guest.ld", false),
        }
    }
}

fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests")
}

fn run_tool(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn build_guest(guest: Guest, src: &Path, out: &Path) {
    let (source, flags, elf64, script, flat) = guest.recipe();
    let stem = guest.file_name().replace('.', "_");
    let object = out.join(format!("{stem}.o"));
    let linked = out.join(format!("{stem}.linked"));
    let source = src.join(source);
    let object_s = object.to_str().expect("utf-8 path");
    let linked_s = linked.to_str().expect("utf-8 path");
    let include = format!("-I{}", src.display());
    let mut gcc_args = vec!["-c", "-o", object_s, &include];
    if !elf64 {
        gcc_args.push("-m32");
    }
    gcc_args.extend_from_slice(flags);
    let source_s = source.to_str().expect("utf-8 path");
    gcc_args.push(source_s);
    run_tool("gcc", &gcc_args);
    let script = src.join(script);
    let emulation = if elf64 { "elf_x86_64" } else { "elf_i386" };
    run_tool(
        "ld",
        &[
            "--no-warn-rwx-segments",
            "-m",
            emulation,
            "-T",
            script.to_str().expect("utf-8 path"),
            "-o",
            linked_s,
            object_s,
        ],
    );
    let target = out.join(guest.file_name());
    if flat {
        run_tool(
            "objcopy",
            &[
                "-O",
                "binary",
                "-j",
                ".setup",
                "-j",
                ".multiboot",
                "-j",
                ".text",
                "-j",
                ".rodata",
                "-j",
                ".data",
                linked_s,
                target.to_str().expect("utf-8 path"),
            ],
        );
    } else {
        fs::rename(&linked, &target).expect("rename guest");
    }
}

/// The directory holding every built guest. Built once per set of
/// sources: the directory name carries a hash of them, and a build goes
/// to a private directory renamed into place, so concurrent test
/// processes never see a half-built set.
pub fn guests_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = sources_dir();
        let mut names: Vec<PathBuf> = fs::read_dir(&src)
            .expect("tests/guests")
            .map(|e| e.expect("dir entry").path())
            .collect();
        names.sort();
        let mut hasher = DefaultHasher::new();
        for name in &names {
            name.file_name().hash(&mut hasher);
            fs::read(name).expect("guest source").hash(&mut hasher);
        }
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!("guests-{:016x}", hasher.finish()));
        if dir.is_dir() {
            return dir;
        }
        let scratch = base.join(format!("guests-build-{}", std::process::id()));
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch).expect("guest build directory");
        for guest in Guest::ALL {
            build_guest(guest, &src, &scratch);
        }
        if fs::rename(&scratch, &dir).is_err() {
            // Another test process got there first.
            let _ = fs::remove_dir_all(&scratch);
        }
        dir
    })
}

pub fn guest(guest: Guest) -> PathBuf {
    guests_dir().join(guest.file_name())
}

/// A file for tests to pass as `-initrd`, with fixed contents.
pub fn data_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = guests_dir().join(name);
    if fs::read(&path).ok().as_deref() != Some(contents) {
        let scratch = guests_dir().join(format!("{name}.{}", std::process::id()));
        fs::write(&scratch, contents).expect("data file");
        fs::rename(&scratch, &path).expect("data file");
    }
    path
}

/// What a run of the emulator gave.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The stdout lines starting with `prefix`.
    pub fn lines_starting(&self, prefix: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }
}

fn collect(mut reader: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The usual command line of the boot tests: no default devices, COM1 on
/// stdio, isa-debug-exit for the exit status.
pub fn boot_args(machine: &str, memory: &str, kernel: &Path) -> Vec<String> {
    [
        "-accel",
        "kvm",
        "-M",
        machine,
        "-m",
        memory,
        "-nodefaults",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4",
        "-kernel",
        kernel.to_str().expect("utf-8 path"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `boot_args` with the serial port on `backend` (`file:PATH`,
/// `chardev:ID`, ...) instead of stdio.
pub fn serial_on(mut args: Vec<String>, backend: String) -> Vec<String> {
    let at = args
        .iter()
        .position(|a| a == "stdio")
        .expect("-serial stdio");
    args[at] = backend;
    args
}

/// Waits until the serial output the guest writes to `serial` holds
/// `text`; `program` names the emulator in the failure message.
pub fn wait_for_serial(serial: &Path, text: &str, program: &str) {
    let start = std::time::Instant::now();
    while !fs::read_to_string(serial)
        .unwrap_or_default()
        .contains(text)
    {
        assert!(
            start.elapsed() < BOOT_TIMEOUT,
            "{program}: no {text:?} from the guest:\n{}",
            fs::read_to_string(serial).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn spawn(program: &str, args: &[String]) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs `program` with `args` to completion; a run longer than `timeout`
/// is killed and fails the test.
pub fn run(program: &str, args: &[String], timeout: Duration) -> Run {
    let mut child = spawn(program, args);
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{program} {args:?} still running after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                stdout.join().unwrap_or_default(),
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status,
    }
}

/// How long a guest run may take: QEMU goes through SeaBIOS (about 8 s
/// on these machines), and CPL0 guest code is emulated.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs ours and QEMU 7.2 with the same arguments, in parallel.
pub fn run_both(args: &[String]) -> (Run, Run) {
    let qemu_args = args.to_vec();
    let reference = thread::spawn(move || run(QEMU, &qemu_args, BOOT_TIMEOUT));
    let ours = run(RQEMU, args, BOOT_TIMEOUT);
    (ours, reference.join().expect("QEMU run"))
}

/// Isa-debug-exit status of a guest that wrote EXIT_SUCCESS_VALUE (0x10).
pub const GUEST_SUCCESS: i32 = (0x10 << 1) | 1;

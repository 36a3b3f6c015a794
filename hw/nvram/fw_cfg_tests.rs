//! fw_cfg against QEMU 7.2: the same port and memory accesses go to
//! QEMU (driven through its qtest protocol, no guest) and to our model on
//! a bus, and what each answers is compared.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::fw_cfg::{keys, FwCfg, MachineItems};
use super::fw_cfg_dma::{DMA_CTL_ERROR, DMA_CTL_READ, DMA_CTL_SELECT, DMA_CTL_SKIP, DMA_CTL_WRITE};
use super::fw_cfg_io::attach_io;
use super::fw_cfg_x86::{pc_fw_cfg, HpetBlock, PcItems, SystemStates};
use crate::core::bus::Bus;
use crate::i386::memmap::{PcMachineKind, PcMemoryLayout};

const MIB: u64 = 1 << 20;

/// Port and memory accesses, as a guest (or qtest) makes them.
trait Machine {
    fn outb(&mut self, port: u16, value: u8);
    fn outw(&mut self, port: u16, value: u16);
    fn outl(&mut self, port: u16, value: u32);
    fn inb(&mut self, port: u16) -> u8;
    fn inw(&mut self, port: u16) -> u16;
    fn inl(&mut self, port: u16) -> u32;
    fn write_mem(&mut self, addr: u64, data: &[u8]);
    fn read_mem(&mut self, addr: u64, len: usize) -> Vec<u8>;
}

/// QEMU 7.2 stopped before its first instruction, answering qtest lines.
struct Qemu {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Qemu {
    fn start(machine: &str, extra: &[&str]) -> Qemu {
        let mut child = Command::new("qemu-system-x86_64")
            .args([
                "-machine", machine, "-accel", "kvm", "-m", "128", "-smp", "2",
            ])
            .args(["-nodefaults", "-display", "none", "-S", "-qtest", "stdio"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("QEMU 7.2 (qemu-system-x86_64) runs");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Qemu {
            child,
            input,
            output,
        }
    }

    /// Send one command; the text after `OK`.
    fn command(&mut self, line: &str) -> String {
        writeln!(self.input, "{line}").unwrap();
        loop {
            let mut answer = String::new();
            assert!(
                self.output.read_line(&mut answer).unwrap() > 0,
                "QEMU quit at {line}"
            );
            // Asynchronous events (`IRQ ...`) are not answers.
            if let Some(rest) = answer.strip_prefix("OK") {
                return rest.trim().to_string();
            }
            assert!(
                !answer.starts_with("ERR") && !answer.starts_with("FAIL"),
                "{line}: {answer}"
            );
        }
    }

    fn number(&mut self, line: &str) -> u64 {
        let answer = self.command(line);
        u64::from_str_radix(answer.trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Machine for Qemu {
    fn outb(&mut self, port: u16, value: u8) {
        self.command(&format!("outb {port:#x} {value:#x}"));
    }
    fn outw(&mut self, port: u16, value: u16) {
        self.command(&format!("outw {port:#x} {value:#x}"));
    }
    fn outl(&mut self, port: u16, value: u32) {
        self.command(&format!("outl {port:#x} {value:#x}"));
    }
    fn inb(&mut self, port: u16) -> u8 {
        self.number(&format!("inb {port:#x}")) as u8
    }
    fn inw(&mut self, port: u16) -> u16 {
        self.number(&format!("inw {port:#x}")) as u16
    }
    fn inl(&mut self, port: u16) -> u32 {
        self.number(&format!("inl {port:#x}")) as u32
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) {
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        self.command(&format!("write {addr:#x} {:#x} 0x{hex}", data.len()));
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let answer = self.command(&format!("read {addr:#x} {len:#x}"));
        let hex = answer.trim_start_matches("0x");
        (0..len)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }
}

/// Our model on an I/O bus, with guest RAM laid out as the machine's.
struct Model {
    io: Bus,
    mem: GuestMemoryMmap,
    fw_cfg: Arc<Mutex<FwCfg>>,
}

/// What `-machine KIND -m 128 -smp 2 -nodefaults` gives our model.
fn pc_items(kind: PcMachineKind) -> PcItems {
    PcItems {
        layout: PcMemoryLayout::new(kind, 128 * MIB),
        boot_cpus: 2,
        apic_id_limit: 2,
        acpi_tables: Vec::new(),
        hpet: vec![HpetBlock::QEMU_DEFAULT],
        system_states: Some(SystemStates::default()),
        maxram_size: 128 * MIB,
        ram_slots: 0,
    }
}

impl Model {
    fn new(fw_cfg: FwCfg, layout: &PcMemoryLayout) -> Model {
        let regions: Vec<(GuestAddress, usize)> = layout
            .guest_ram_regions()
            .into_iter()
            .map(|(addr, size)| (addr, size as usize))
            .collect();
        let mem = GuestMemoryMmap::from_ranges(&regions).unwrap();
        let fw_cfg = Arc::new(Mutex::new(fw_cfg));
        let io = Bus::new();
        attach_io(&fw_cfg, &mem, &io).unwrap();
        // The first machine reset, as at start.
        fw_cfg
            .lock()
            .unwrap()
            .update_boot_files(&[], false)
            .unwrap();
        io.reset_devices();
        Model { io, mem, fw_cfg }
    }

    fn pc(kind: PcMachineKind) -> Model {
        let items = pc_items(kind);
        let fw_cfg = pc_fw_cfg(&MachineItems::default(), &items).unwrap();
        Model::new(fw_cfg, &items.layout)
    }

    fn read(&mut self, port: u16, len: usize) -> Vec<u8> {
        let mut data = vec![0u8; len];
        assert!(self.io.read(u64::from(port), &mut data), "port {port:#x}");
        data
    }
}

impl Machine for Model {
    fn outb(&mut self, port: u16, value: u8) {
        assert!(self.io.write(u64::from(port), &[value]));
    }
    fn outw(&mut self, port: u16, value: u16) {
        assert!(self.io.write(u64::from(port), &value.to_le_bytes()));
    }
    fn outl(&mut self, port: u16, value: u32) {
        assert!(self.io.write(u64::from(port), &value.to_le_bytes()));
    }
    fn inb(&mut self, port: u16) -> u8 {
        self.read(port, 1)[0]
    }
    fn inw(&mut self, port: u16) -> u16 {
        u16::from_le_bytes(self.read(port, 2).try_into().unwrap())
    }
    fn inl(&mut self, port: u16) -> u32 {
        u32::from_le_bytes(self.read(port, 4).try_into().unwrap())
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) {
        self.mem.write_slice(data, GuestAddress(addr)).unwrap();
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let mut data = vec![0u8; len];
        self.mem.read_slice(&mut data, GuestAddress(addr)).unwrap();
        data
    }
}

/// `len` bytes of item `key` through the data port.
fn read_item(m: &mut dyn Machine, key: u16, len: usize) -> Vec<u8> {
    m.outw(0x510, key);
    (0..len).map(|_| m.inb(0x511)).collect()
}

/// A file of the directory: name, key, size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DirEntry {
    name: String,
    key: u16,
    size: u32,
}

fn read_directory(m: &mut dyn Machine) -> Vec<DirEntry> {
    let count = u32::from_be_bytes(read_item(m, keys::FILE_DIR, 4).try_into().unwrap());
    let raw = read_item(m, keys::FILE_DIR, 4 + 64 * count as usize);
    raw[4..]
        .chunks(64)
        .map(|e| DirEntry {
            size: u32::from_be_bytes(e[0..4].try_into().unwrap()),
            key: u16::from_be_bytes(e[4..6].try_into().unwrap()),
            name: String::from_utf8_lossy(e[8..].split(|&b| b == 0).next().unwrap()).into_owned(),
        })
        .collect()
}

/// Files QEMU 7.2 has on `pc`/`q35` with `-nodefaults` that other parts of
/// the machine will add: ACPI tables and their loader script, SMBIOS,
/// the kvmvapic option ROM, q35's SMI feature negotiation.
const NOT_YET_PRODUCED: &[&str] = &[
    "etc/acpi/rsdp",
    "etc/acpi/tables",
    "etc/table-loader",
    "etc/tpm/log",
    "etc/smbios/smbios-anchor",
    "etc/smbios/smbios-tables",
    "genroms/kvmvapic.bin",
    "etc/smi/features-ok",
    "etc/smi/requested-features",
    "etc/smi/supported-features",
];

/// Every file we produce is QEMU's, byte for byte; every file QEMU has that
/// we lack is one of those listed as not yet produced.
fn compare_directories(machine: &str, kind: PcMachineKind) {
    let mut qemu = Qemu::start(machine, &[]);
    let mut model = Model::pc(kind);
    let theirs = read_directory(&mut qemu);
    let ours = read_directory(&mut model);
    for (i, entry) in ours.iter().enumerate() {
        assert_eq!(entry.key, keys::FILE_FIRST + i as u16, "{entry:?}");
        let Some(qemu_entry) = theirs.iter().find(|e| e.name == entry.name) else {
            panic!("{machine}: QEMU has no file {}", entry.name);
        };
        assert_eq!(
            entry.size, qemu_entry.size,
            "{machine}: size of {}",
            entry.name
        );
        assert_eq!(
            read_item(&mut model, entry.key, entry.size as usize),
            read_item(&mut qemu, qemu_entry.key, qemu_entry.size as usize),
            "{machine}: contents of {}",
            entry.name
        );
    }
    let missing: Vec<&str> = theirs
        .iter()
        .map(|e| e.name.as_str())
        .filter(|name| !ours.iter().any(|e| e.name == *name))
        .collect();
    for name in &missing {
        assert!(
            NOT_YET_PRODUCED.contains(name),
            "{machine}: {name} not produced"
        );
    }
    // Sorted by name, as QEMU 7.2 keeps them.
    let names: Vec<&str> = theirs.iter().map(|e| e.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[test]
fn pc_file_directory_matches_qemu() {
    compare_directories("pc", PcMachineKind::I440fx);
}

#[test]
fn q35_file_directory_matches_qemu() {
    compare_directories("q35", PcMachineKind::Q35);
}

/// The numbered items, read well past their ends.
#[test]
fn numbered_items_match_qemu() {
    for (machine, kind) in [("pc", PcMachineKind::I440fx), ("q35", PcMachineKind::Q35)] {
        let mut qemu = Qemu::start(machine, &[]);
        let mut model = Model::pc(kind);
        let numbered = (0..keys::FILE_DIR).chain(keys::ACPI_TABLES..=keys::HPET);
        for key in numbered {
            assert_eq!(
                read_item(&mut model, key, 128),
                read_item(&mut qemu, key, 128),
                "{machine}: item {key:#06x}"
            );
        }
    }
}

/// Machine options that change items: `-uuid`, `-boot`, `-smp`, `-m`,
/// graphics, no HPET.
#[test]
fn machine_options_change_items_as_in_qemu() {
    let uuid = "12345678-9abc-def0-1122-334455667788";
    let qemu_args = [
        "-uuid",
        uuid,
        "-boot",
        "menu=on,splash-time=5,reboot-timeout=1000",
        "-smp",
        "3,maxcpus=8",
        "-m",
        "5G",
    ];
    let mut qemu = Qemu::start("pc,graphics=off,hpet=off", &qemu_args);
    let machine = MachineItems {
        uuid: [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
            0x77, 0x88,
        ],
        nographic: true,
        boot_menu: true,
        splash_time: Some(5),
        reboot_timeout: Some(1000),
    };
    let pc = PcItems {
        layout: PcMemoryLayout::new(PcMachineKind::I440fx, 5 << 30),
        maxram_size: 5 << 30,
        boot_cpus: 3,
        apic_id_limit: 8,
        hpet: Vec::new(),
        ..pc_items(PcMachineKind::I440fx)
    };
    let mut model = Model::new(pc_fw_cfg(&machine, &pc).unwrap(), &pc.layout);
    for key in (0..keys::FILE_DIR).chain(keys::ACPI_TABLES..=keys::HPET) {
        assert_eq!(
            read_item(&mut model, key, 128),
            read_item(&mut qemu, key, 128),
            "item {key:#06x}"
        );
    }
    let theirs = read_directory(&mut qemu);
    for name in ["etc/boot-menu-wait", "etc/boot-fail-wait", "etc/e820"] {
        let ours = model.fw_cfg.lock().unwrap().file(name).unwrap().to_vec();
        let entry = theirs.iter().find(|e| e.name == name).unwrap();
        assert_eq!(
            ours,
            read_item(&mut qemu, entry.key, entry.size as usize),
            "{name}"
        );
    }
}

/// The register accesses that do not involve DMA, including the invalid
/// sizes QEMU answers with 0 and the writes it ignores.
#[test]
fn port_accesses_match_qemu() {
    fn script(m: &mut dyn Machine) -> Vec<u64> {
        let mut seen = Vec::new();
        m.outw(0x510, keys::SIGNATURE);
        seen.push(u64::from(m.inw(0x510)));
        seen.push(u64::from(m.inb(0x510)));
        seen.push(u64::from(m.inb(0x511)));
        // Byte writes are ignored.
        m.outb(0x510, 1);
        m.outb(0x511, 1);
        seen.push(u64::from(m.inb(0x511)));
        seen.push(u64::from(m.inl(0x514)));
        seen.push(u64::from(m.inl(0x518)));
        seen.push(u64::from(m.inw(0x515)));
        seen.push(u64::from(m.inl(0x516)));
        seen.push(u64::from(m.inb(0x51b)));
        // The write channel bit is ignored; arch keys select the x86 bank.
        for key in [
            keys::WRITE_CHANNEL | keys::ID,
            0xc002,
            0x0040,
            0x003f,
            0xffff,
        ] {
            m.outw(0x510, key);
            seen.push(u64::from(m.inb(0x511)));
            seen.push(u64::from(m.inb(0x511)));
        }
        seen
    }
    let mut qemu = Qemu::start("pc", &[]);
    let mut model = Model::pc(PcMachineKind::I440fx);
    assert_eq!(script(&mut model), script(&mut qemu));
}

/// The descriptor area and the buffer the DMA tests use.
const DESC: u64 = 0x1000;
const BUF: u64 = 0x2000;

/// One DMA transfer with the descriptor at `desc`: the control word the
/// device wrote back.
fn dma(m: &mut dyn Machine, desc: u64, control: u32, length: u32, address: u64) -> u32 {
    let mut descriptor = Vec::new();
    descriptor.extend_from_slice(&control.to_be_bytes());
    descriptor.extend_from_slice(&length.to_be_bytes());
    descriptor.extend_from_slice(&address.to_be_bytes());
    m.write_mem(DESC, &descriptor);
    // The address register is big-endian: the port sees the bytes of the
    // big-endian halves, which an `outl` sends least significant first.
    m.outl(0x514, ((desc >> 32) as u32).swap_bytes());
    m.outl(0x518, (desc as u32).swap_bytes());
    u32::from_be_bytes(m.read_mem(DESC, 4).try_into().unwrap())
}

fn select(key: u16) -> u32 {
    (u32::from(key) << 16) | DMA_CTL_SELECT
}

#[test]
fn dma_transfers_match_qemu() {
    fn script(m: &mut dyn Machine) -> Vec<(u32, Vec<u8>)> {
        let mut seen = Vec::new();
        let mut step = |m: &mut dyn Machine, control, length, address, fill: u8| {
            m.write_mem(BUF, &[fill; 64]);
            let status = dma(m, DESC, control, length, address);
            seen.push((status, m.read_mem(BUF, 64)));
        };
        // Read the signature, then past its end (zeros), then continue
        // where the previous transfer stopped.
        step(m, select(keys::SIGNATURE) | DMA_CTL_READ, 2, BUF, 0xaa);
        step(m, DMA_CTL_READ, 8, BUF, 0xaa);
        // Skip, then read.
        step(m, select(keys::ID) | DMA_CTL_SKIP, 1, BUF, 0x55);
        step(m, DMA_CTL_READ, 8, BUF, 0x55);
        // The directory's first entry (QEMU has more files: skip the count).
        step(m, select(keys::FILE_DIR) | DMA_CTL_SKIP, 4, BUF, 0);
        step(m, DMA_CTL_READ, 64, BUF, 0);
        // A key out of range reads as zeros.
        step(m, select(0x1234) | DMA_CTL_READ, 16, BUF, 0xaa);
        // No operation bit: a selection only.
        step(m, select(keys::RAM_SIZE), 16, BUF, 0xaa);
        step(m, DMA_CTL_READ, 4, BUF, 0xaa);
        // Read wins over write.
        step(
            m,
            select(keys::SIGNATURE) | DMA_CTL_READ | DMA_CTL_WRITE,
            4,
            BUF,
            0xaa,
        );
        // Writes to read-only items and past an item's end fail.
        step(m, select(keys::SIGNATURE) | DMA_CTL_WRITE, 4, BUF, 0xaa);
        step(m, select(0x1234) | DMA_CTL_WRITE, 4, BUF, 0xaa);
        // Buffers outside RAM (128 MiB) fail; so does one straddling its end.
        step(
            m,
            select(keys::SIGNATURE) | DMA_CTL_READ,
            4,
            0x1000_0000,
            0xaa,
        );
        step(
            m,
            select(keys::UUID) | DMA_CTL_READ,
            16,
            128 * MIB - 8,
            0xaa,
        );
        step(
            m,
            select(keys::SIGNATURE) | DMA_CTL_READ,
            16,
            u64::MAX - 3,
            0xaa,
        );
        // The error bit in a request is not an operation.
        step(m, select(keys::SIGNATURE) | DMA_CTL_ERROR, 4, BUF, 0xaa);
        // After the failures the data port still works from offset 0.
        m.outw(0x510, keys::SIGNATURE);
        seen.push((u32::from(m.inb(0x511)), m.read_mem(128 * MIB - 8, 8)));
        seen
    }
    let mut qemu = Qemu::start("pc", &[]);
    let mut model = Model::pc(PcMachineKind::I440fx);
    let ours = script(&mut model);
    let theirs = script(&mut qemu);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "step {i}");
    }
    assert_eq!(ours.len(), theirs.len());
}

/// A descriptor QEMU cannot read is answered by nothing but a failed
/// write of the error bit; the selection does not change.
#[test]
fn descriptor_outside_ram_matches_qemu() {
    fn script(m: &mut dyn Machine) -> Vec<u8> {
        m.outw(0x510, keys::ID);
        for desc in [0x1000_0000u64, 0x1_0000_0000, 128 * MIB - 8] {
            m.outl(0x514, ((desc >> 32) as u32).swap_bytes());
            m.outl(0x518, (desc as u32).swap_bytes());
        }
        // Only the low half: the high half was cleared by the last transfer.
        m.write_mem(DESC, &[0; 16]);
        m.outl(0x518, (DESC as u32).swap_bytes());
        let mut seen = m.read_mem(DESC, 16);
        seen.push(m.inb(0x511));
        seen.extend(m.read_mem(128 * MIB - 8, 8));
        seen
    }
    let mut qemu = Qemu::start("pc", &[]);
    let mut model = Model::pc(PcMachineKind::I440fx);
    assert_eq!(script(&mut model), script(&mut qemu));
}

/// A file added with `-fw_cfg` reads the same in both.
#[test]
fn user_files_match_qemu() {
    use super::fw_cfg_option::{add_fw_cfg_option, FwCfgOption};
    let path = std::env::temp_dir().join(format!("fw_cfg-test-{}", std::process::id()));
    std::fs::write(&path, b"file contents\n").unwrap();
    let file_arg = format!("name=opt/file,file={}", path.display());
    let mut qemu = Qemu::start(
        "q35",
        &[
            "-fw_cfg",
            "name=opt/string,string=hello",
            "-fw_cfg",
            &file_arg,
        ],
    );
    let items = pc_items(PcMachineKind::Q35);
    let mut fw_cfg = pc_fw_cfg(&MachineItems::default(), &items).unwrap();
    for option in [
        FwCfgOption {
            name: Some("opt/string"),
            string: Some("hello"),
            ..FwCfgOption::default()
        },
        FwCfgOption {
            name: Some("opt/file"),
            file: Some(path.as_path()),
            ..FwCfgOption::default()
        },
    ] {
        add_fw_cfg_option(Some(&mut fw_cfg), &option, |_| false, |w| panic!("{w}")).unwrap();
    }
    let mut model = Model::new(fw_cfg, &items.layout);
    let theirs = read_directory(&mut qemu);
    std::fs::remove_file(&path).unwrap();
    let ours = read_directory(&mut model);
    for name in ["opt/file", "opt/string"] {
        let a = ours.iter().find(|e| e.name == name).unwrap().clone();
        let b = theirs.iter().find(|e| e.name == name).unwrap().clone();
        assert_eq!(a.size, b.size, "{name}");
        assert_eq!(
            read_item(&mut model, a.key, a.size as usize),
            read_item(&mut qemu, b.key, b.size as usize),
            "{name}"
        );
    }
}

/// Run QEMU with `-qtest stdio` until it has either failed at start or
/// finished building the machine (it answers a qtest command), then stop
/// it; what it printed on stderr.
fn run_to_exit(command: &mut Command) -> Vec<u8> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    // A write error or an empty answer both mean QEMU has exited.
    let _ = writeln!(input, "inb 0x80");
    let mut answer = String::new();
    let _ = output.read_line(&mut answer);
    let _ = child.kill();
    child.wait_with_output().unwrap().stderr
}

/// What QEMU prints for `-fw_cfg` options (each group given together),
/// line by line, for the lines about `-fw_cfg`.
fn qemu_fw_cfg_messages(options: &[&str]) -> Vec<String> {
    let mut command = Command::new("qemu-system-x86_64");
    command.args([
        "-machine",
        "pc",
        "-accel",
        "kvm",
        "-nodefaults",
        "-display",
        "none",
    ]);
    command.args(["-S", "-qtest", "stdio"]);
    for option in options {
        command.args(["-fw_cfg", option]);
    }
    String::from_utf8_lossy(&run_to_exit(&mut command))
        .lines()
        .filter(|line| line.contains("-fw_cfg"))
        .map(str::to_string)
        .collect()
}

/// The same options through `add_fw_cfg_option`, printed as the command
/// line prints a located warning or error.
fn our_fw_cfg_messages(options: &[&str]) -> Vec<String> {
    use super::fw_cfg_option::{add_fw_cfg_option, FwCfgOption};
    use std::path::Path;
    let mut fw_cfg = pc_fw_cfg(&MachineItems::default(), &pc_items(PcMachineKind::I440fx)).unwrap();
    let mut lines = Vec::new();
    for arg in options {
        let value = |key: &str| {
            arg.split(',')
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        };
        let option = FwCfgOption {
            name: value("name"),
            file: value("file").map(Path::new),
            string: value("string"),
            gen_id: value("gen_id"),
        };
        let located = |message: &str| format!("qemu-system-x86_64: -fw_cfg {arg}: {message}");
        let mut warnings = Vec::new();
        let result = add_fw_cfg_option(
            Some(&mut fw_cfg),
            &option,
            |_| false,
            |w| warnings.push(located(&format!("warning: {w}"))),
        );
        lines.extend(warnings);
        if let Err(e) = result {
            lines.push(located(&e.to_string()));
            break;
        }
    }
    lines
}

#[test]
fn fw_cfg_option_messages_match_qemu() {
    let long_name = format!("name=opt/{},string=a", "n".repeat(52));
    let longest_name = format!("name=opt/{},string=a", "n".repeat(51));
    let cases: &[&[&str]] = &[
        &["name=opt/x,string=abc"],
        &["name=x,string=abc"],
        &["name=etc/e820,string=a"],
        &["string=abc"],
        &["name=opt/x"],
        &["name=opt/x,string="],
        &["name=,string=a"],
        &["name=opt/x,file=/dev/null,string=a"],
        &["name=opt/x,file=/nonexistent/file"],
        &["name=x,file=/nonexistent/file"],
        &["name=opt/x,file=/"],
        &[&long_name],
        &[&longest_name],
        &["name=opt/x,gen_id=g0"],
        &[
            "name=opt/a,string=1",
            "name=opt/b,string=2",
            "name=opt/a,string=3",
        ],
    ];
    for options in cases {
        assert_eq!(
            our_fw_cfg_messages(options),
            qemu_fw_cfg_messages(options),
            "{options:?}"
        );
    }
}

#[test]
fn boot_option_limits_match_qemu() {
    for (option, machine) in [
        (
            "splash-time=65536",
            MachineItems {
                splash_time: Some(65536),
                ..MachineItems::default()
            },
        ),
        (
            "splash-time=-1",
            MachineItems {
                splash_time: Some(-1),
                ..MachineItems::default()
            },
        ),
        (
            "reboot-timeout=65536",
            MachineItems {
                reboot_timeout: Some(65536),
                ..MachineItems::default()
            },
        ),
        (
            "reboot-timeout=-2",
            MachineItems {
                reboot_timeout: Some(-2),
                ..MachineItems::default()
            },
        ),
    ] {
        let mut command = Command::new("qemu-system-x86_64");
        command.args([
            "-machine",
            "pc",
            "-accel",
            "kvm",
            "-nodefaults",
            "-display",
            "none",
        ]);
        command.args(["-S", "-qtest", "stdio", "-boot", option]);
        let stderr = run_to_exit(&mut command);
        let stderr = String::from_utf8_lossy(&stderr);
        let theirs = stderr.lines().last().unwrap_or_default();
        let error = pc_fw_cfg(&machine, &pc_items(PcMachineKind::I440fx))
            .err()
            .unwrap();
        assert_eq!(format!("qemu-system-x86_64: {error}"), theirs, "{option}");
    }
}

/// `bootorder` with a device that has a boot index, under `-boot
/// strict=on`: the device's path is QEMU's, the file's form ours.
#[test]
fn bootorder_matches_qemu() {
    let mut qemu = Qemu::start(
        "pc",
        &["-device", "e1000,bootindex=1", "-boot", "strict=on"],
    );
    let mut model = Model::pc(PcMachineKind::I440fx);
    let path = "/pci@i0cf8/ethernet@2/ethernet-phy@0".to_string();
    model
        .fw_cfg
        .lock()
        .unwrap()
        .update_boot_files(&[path], true)
        .unwrap();
    for m in [&mut qemu as &mut dyn Machine, &mut model] {
        let entry = read_directory(m)
            .into_iter()
            .find(|e| e.name == "bootorder")
            .unwrap();
        assert_eq!(
            read_item(m, entry.key, entry.size as usize),
            b"/pci@i0cf8/ethernet@2/ethernet-phy@0\nHALT\0"
        );
    }
}

/// DMA writes into a writable file: q35's `etc/smi/requested-features`
/// (8 bytes), given to our model as the ICH9 LPC bridge adds it.
#[test]
fn dma_writes_match_qemu() {
    use super::fw_cfg::FileAccess;
    const NAME: &str = "etc/smi/requested-features";
    fn script(m: &mut dyn Machine) -> Vec<(u32, Vec<u8>)> {
        let key = read_directory(m)
            .into_iter()
            .find(|e| e.name == NAME)
            .unwrap()
            .key;
        let mut seen = Vec::new();
        let mut step = |m: &mut dyn Machine, control, length| {
            let status = dma(m, DESC, control, length, BUF);
            seen.push((status, read_item(m, key, 12)));
        };
        m.write_mem(BUF, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        step(m, select(key) | DMA_CTL_WRITE, 8);
        // Longer than what is left: the part that fits is not written.
        step(m, select(key) | DMA_CTL_WRITE, 9);
        // At an offset, after a skip.
        m.write_mem(BUF, &[0xee; 12]);
        step(m, select(key) | DMA_CTL_SKIP, 6);
        step(m, DMA_CTL_WRITE, 2);
        // Past the end.
        step(m, DMA_CTL_WRITE, 1);
        seen
    }
    let mut qemu = Qemu::start("q35", &[]);
    let items = pc_items(PcMachineKind::Q35);
    let mut fw_cfg = pc_fw_cfg(&MachineItems::default(), &items).unwrap();
    let writable = FileAccess {
        writable: true,
        ..FileAccess::default()
    };
    fw_cfg
        .add_file_with_access(NAME, vec![0; 8], writable)
        .unwrap();
    let mut model = Model::new(fw_cfg, &items.layout);
    assert_eq!(script(&mut model), script(&mut qemu));
}

/// `etc/reserved-memory-end` with `-m maxmem=`.
#[test]
fn reserved_memory_end_matches_qemu() {
    const GIB: u64 = 1 << 30;
    for (machine, kind, memory, ram, maxram, slots) in [
        (
            "pc",
            PcMachineKind::I440fx,
            "1G,maxmem=4G,slots=2",
            GIB,
            4 * GIB,
            2,
        ),
        (
            "q35",
            PcMachineKind::Q35,
            "5G,maxmem=8G,slots=1",
            5 * GIB,
            8 * GIB,
            1,
        ),
        ("pc", PcMachineKind::I440fx, "1G,maxmem=4G", GIB, 4 * GIB, 0),
    ] {
        let mut qemu = Qemu::start(machine, &["-m", memory]);
        let pc = PcItems {
            layout: PcMemoryLayout::new(kind, ram),
            maxram_size: maxram,
            ram_slots: slots,
            ..pc_items(kind)
        };
        let fw_cfg = pc_fw_cfg(&MachineItems::default(), &pc).unwrap();
        let ours = fw_cfg.file("etc/reserved-memory-end").unwrap().to_vec();
        let entry = read_directory(&mut qemu)
            .into_iter()
            .find(|e| e.name == "etc/reserved-memory-end")
            .unwrap();
        assert_eq!(
            ours,
            read_item(&mut qemu, entry.key, entry.size as usize),
            "{memory}"
        );
    }
}

//! The models against QEMU 7.2 itself: the same configuration accesses are
//! made to a QEMU started with `-qtest` and to our devices on the same
//! addresses, and every value read must be the same.

use std::sync::{Arc, Mutex};

use crate::core::bus::{lock, Bus};
use crate::core::irq::InterruptLine;
use crate::core::testing::RecordingLine;

use super::bridge::{PciBridge, PcieRootPort, RootPortProperties};
use super::bus::PciBus;
use super::device::devfn;
use super::host::{PciHost, PcieEcam, SharedPciBus};
use super::i440fx::I440fx;
use super::lpc_ich9::{Ich9IntxRouter, Ich9Lpc, ICH9_LPC_NUM_GSIS};
use super::piix3::{Piix3, PiixIntxRouter, PIIX_NUM_PIC_IRQS};
use super::q35::Mch;
use super::qtest::{config_address, hmp, GuestAccess, Model, Qtest};

fn lines(n: usize) -> Vec<Arc<dyn InterruptLine>> {
    (0..n)
        .map(|_| Arc::new(RecordingLine::default()) as Arc<dyn InterruptLine>)
        .collect()
}

fn shared<T>(device: T) -> Arc<Mutex<T>> {
    Arc::new(Mutex::new(device))
}

/// The PCI command line both machines of the `pc` tests get.
const PC_DEVICES: &[&str] = &["-device", "pci-bridge,chassis_nr=1,id=br0"];

/// `pc` as QEMU builds it with `PC_DEVICES` (i440FX at 00.0, PIIX3 at 01.0,
/// the bridge in the first free slot, 02.0), after a machine reset.
fn pc_model() -> (Model, SharedPciBus) {
    let router = Arc::new(PiixIntxRouter::new(lines(PIIX_NUM_PIC_IRQS)));
    let mut bus = PciBus::new(router.clone());
    bus.plug(0, shared(I440fx::new(128 << 20)), false, None)
        .unwrap();
    bus.plug(devfn(1, 0), shared(Piix3::new(router)), true, None)
        .unwrap();
    let bridge = PciBridge::new(&bus, devfn(2, 0), 1);
    bus.plug(devfn(2, 0), shared(bridge), false, Some("br0".into()))
        .unwrap();
    let root = shared(bus);
    lock(&root).reset();
    let pio = Bus::new();
    pio.insert(
        0xcf8,
        8,
        "pci-conf",
        shared(PciHost::new(root.clone(), None)),
    )
    .unwrap();
    (Model::new(pio, Bus::new()), root)
}

const Q35_DEVICES: &[&str] = &[
    "-device",
    "pcie-root-port,id=rp0,chassis=1,port=0x10,slot=1",
    "-device",
    "pci-bridge,chassis_nr=2,id=br0",
];

/// `q35` as QEMU builds it with `Q35_DEVICES` (MCH at 00.0, the root port at
/// 01.0, the bridge at 02.0, ICH9 LPC at 1f.0), with the ECAM window mapped
/// wherever the MCH says after each write.
fn q35_model() -> Model {
    q35_model_with_root().0
}

fn q35_model_with_root() -> (Model, SharedPciBus) {
    let router = Arc::new(Ich9IntxRouter::new(lines(ICH9_LPC_NUM_GSIS)));
    let mut bus = PciBus::new(router.clone());
    let mch = shared(Mch::new());
    bus.plug(0, mch.clone(), false, None).unwrap();
    let port = PcieRootPort::new(
        &bus,
        devfn(1, 0),
        RootPortProperties {
            port: 0x10,
            chassis: 1,
            slot: 1,
            hotplug: true,
        },
    );
    bus.plug(devfn(1, 0), shared(port), false, Some("rp0".into()))
        .unwrap();
    let bridge = PciBridge::new(&bus, devfn(2, 0), 2);
    bus.plug(devfn(2, 0), shared(bridge), false, Some("br0".into()))
        .unwrap();
    bus.plug(devfn(31, 0), shared(Ich9Lpc::new(router)), true, None)
        .unwrap();
    let root = shared(bus);
    lock(&root).reset();
    let pio = Bus::new();
    pio.insert(
        0xcf8,
        8,
        "pci-conf",
        shared(PciHost::new(root.clone(), None)),
    )
    .unwrap();
    let mut model = Model::new(pio, Bus::new());
    let ecam_root = root.clone();
    model.after_write = Box::new(move |mmio: &Bus| {
        for change in lock(&mch).take_ecam_changes() {
            if let Some(old) = change.old {
                mmio.remove(old.base);
            }
            if let Some(new) = change.new {
                let ecam = shared(PcieEcam::new(ecam_root.clone()));
                mmio.insert(new.base, new.size, "pcie-mmcfg-mmio", ecam)
                    .unwrap();
            }
        }
    });
    (model, root)
}

/// Run `scenario` on QEMU and on the model; both must read the same.
fn compare(
    what: &str,
    qemu: &mut Qtest,
    model: &mut Model,
    scenario: impl Fn(&mut dyn GuestAccess) -> Vec<(String, u32)>,
) {
    let expected = scenario(qemu);
    let actual = scenario(model);
    let differences: Vec<String> = expected
        .iter()
        .zip(&actual)
        .filter(|(e, a)| e.1 != a.1)
        .map(|(e, a)| format!("{}: QEMU {:#010x}, ours {:#010x}", e.0, e.1, a.1))
        .collect();
    assert!(
        differences.is_empty(),
        "{what} differs from QEMU 7.2:\n{}",
        differences.join("\n")
    );
}

/// The first `len` bytes of a function's configuration space through ports.
fn dump(bus: u8, devfn: u8) -> impl Fn(&mut dyn GuestAccess) -> Vec<(String, u32)> {
    move |m| {
        (0..=0xfcu8)
            .step_by(4)
            .map(|off| {
                (
                    format!("{bus:02x}:{devfn:02x} {off:#04x}"),
                    m.config_readl(bus, devfn, off),
                )
            })
            .collect()
    }
}

/// Which bits stick: every dword written with all ones, read, written with
/// zeros, read (BAR size probing included).
fn probe(bus: u8, devfn: u8) -> impl Fn(&mut dyn GuestAccess) -> Vec<(String, u32)> {
    move |m| {
        let mut reads = Vec::new();
        for off in (0..=0xfcu8).step_by(4) {
            m.config_writel(bus, devfn, off, u32::MAX);
            reads.push((
                format!("{off:#04x} after ones"),
                m.config_readl(bus, devfn, off),
            ));
            m.config_writel(bus, devfn, off, 0);
            reads.push((
                format!("{off:#04x} after zeros"),
                m.config_readl(bus, devfn, off),
            ));
        }
        reads
    }
}

#[test]
fn pc_config_spaces_match_qemu() {
    let mut qemu = Qtest::start("pc", PC_DEVICES);
    let (mut model, _) = pc_model();
    for (name, d) in [
        ("i440FX", devfn(0, 0)),
        ("PIIX3", devfn(1, 0)),
        ("pci-bridge", devfn(2, 0)),
        ("empty slot", devfn(3, 0)),
    ] {
        compare(name, &mut qemu, &mut model, dump(0, d));
    }
}

#[test]
fn pc_writable_bits_match_qemu() {
    for (name, d) in [
        ("i440FX", devfn(0, 0)),
        ("PIIX3", devfn(1, 0)),
        ("pci-bridge", devfn(2, 0)),
    ] {
        let mut qemu = Qtest::start("pc", PC_DEVICES);
        let (mut model, _) = pc_model();
        compare(name, &mut qemu, &mut model, probe(0, d));
    }
}

#[test]
fn config_mechanism_port_accesses_match_qemu() {
    let mut qemu = Qtest::start("pc", PC_DEVICES);
    let (mut model, _) = pc_model();
    compare("port accesses", &mut qemu, &mut model, |m| {
        let mut reads = Vec::new();
        let mut read = |m: &mut dyn GuestAccess, what: &str, port: u16, size: usize| {
            reads.push((what.to_string(), m.inp(port, size)));
        };
        m.outp(0xcf8, 4, 0x8000_1234);
        read(m, "inl 0xcf8", 0xcf8, 4);
        read(m, "inb 0xcf8", 0xcf8, 1);
        read(m, "inw 0xcf8", 0xcf8, 2);
        read(m, "inb 0xcfa", 0xcfa, 1);
        read(m, "inw 0xcfa", 0xcfa, 2);
        // Narrow writes leave the address register alone.
        m.outp(0xcf8, 1, 0);
        m.outp(0xcf8, 2, 0);
        m.outp(0xcfa, 2, 0);
        read(m, "inl 0xcf8 after narrow writes", 0xcf8, 4);
        // Register offsets: the low address bits add to the data port's.
        m.outp(0xcf8, 4, 0x8000_0003);
        read(m, "inl 0xcfc at offset 3", 0xcfc, 4);
        read(m, "inb 0xcfd at offset 3", 0xcfd, 1);
        m.outp(0xcf8, 4, 0x8000_0800);
        for (port, size) in [
            (0xcfc, 1),
            (0xcfd, 1),
            (0xcfe, 1),
            (0xcff, 1),
            (0xcfc, 2),
            (0xcfd, 2),
            (0xcfe, 2),
        ] {
            read(m, &format!("in{size} {port:#x} of 00:01.0"), port, size);
        }
        // Enable bit clear, absent device, absent bus: all ones.
        m.outp(0xcf8, 4, 0x0000_0000);
        read(m, "disabled", 0xcfc, 4);
        read(m, "disabled byte", 0xcfd, 1);
        m.outp(0xcf8, 4, 0x8000_1800);
        read(m, "absent device", 0xcfc, 4);
        read(m, "absent device word", 0xcfe, 2);
        m.outp(0xcf8, 4, config_address(7, 0, 0));
        read(m, "absent bus", 0xcfc, 4);
        // Narrow data writes: the interrupt line byte, then the command word.
        m.outp(0xcf8, 4, 0x8000_103c);
        m.outp(0xcfc, 1, 0x0b);
        m.outp(0xcfd, 1, 0x07);
        read(m, "pci-bridge 0x3c after byte writes", 0xcfc, 4);
        m.outp(0xcf8, 4, 0x8000_1004);
        m.outp(0xcfc, 2, 0xffff);
        read(m, "pci-bridge command/status", 0xcfc, 4);
        reads
    });
}

#[test]
fn bridges_forward_config_cycles_like_qemu() {
    let nested = ["-device", "pci-bridge,chassis_nr=2,id=br1,bus=br0,addr=3"];
    let args: Vec<&str> = PC_DEVICES.iter().chain(nested.iter()).copied().collect();
    let mut qemu = Qtest::start("pc", &args);
    let (mut model, root) = pc_model();
    {
        let mut root = lock(&root);
        let br1 = {
            let entry = root.device(devfn(2, 0)).unwrap();
            let outer = lock(&entry.device);
            PciBridge::new(outer.secondary_bus().unwrap(), devfn(3, 0), 2)
        };
        let entry = root.device(devfn(2, 0)).unwrap().device.clone();
        lock(&entry)
            .secondary_bus_mut()
            .unwrap()
            .plug(devfn(3, 0), shared(br1), false, Some("br1".into()))
            .unwrap();
        root.reset();
    }
    compare(
        "config cycles through bridges",
        &mut qemu,
        &mut model,
        |m| {
            let mut reads = Vec::new();
            // Unnumbered bridges forward nothing.
            reads.push((
                "bus 1 before numbering".into(),
                m.config_readl(1, devfn(3, 0), 0),
            ));
            m.config_writel(0, devfn(2, 0), 0x18, 0x0002_0100);
            let mut d = dump(1, devfn(3, 0))(m);
            reads.append(&mut d);
            reads.push(("bus 2, nothing behind br1".into(), m.config_readl(2, 0, 0)));
            m.config_writel(1, devfn(3, 0), 0x18, 0x0002_0201);
            reads.push(("bus 2 numbered".into(), m.config_readl(2, 0, 0)));
            reads.push((
                "bus 3 outside the range".into(),
                m.config_readl(3, devfn(3, 0), 0),
            ));
            // A secondary bus held in reset hides the buses below it, not itself.
            m.config_writel(0, devfn(2, 0), 0x3c, 0x0040_0000);
            reads.push(("bus 1 in reset".into(), m.config_readl(1, devfn(3, 0), 0)));
            reads.push(("bus 2 behind a reset bus".into(), m.config_readl(2, 0, 0)));
            m.config_writel(0, devfn(2, 0), 0x3c, 0);
            // Narrowing the outer bridge's range hides the inner bus.
            m.config_writel(0, devfn(2, 0), 0x18, 0x0001_0100);
            reads.push((
                "bus 1 after narrowing".into(),
                m.config_readl(1, devfn(3, 0), 0),
            ));
            reads
        },
    );
}

#[test]
fn q35_config_spaces_match_qemu() {
    let mut qemu = Qtest::start("q35", Q35_DEVICES);
    let mut model = q35_model();
    for (name, d) in [
        ("MCH", devfn(0, 0)),
        ("pcie-root-port", devfn(1, 0)),
        ("pci-bridge", devfn(2, 0)),
        ("ICH9-LPC", devfn(31, 0)),
        ("empty slot", devfn(3, 0)),
    ] {
        compare(name, &mut qemu, &mut model, dump(0, d));
    }
}

#[test]
fn q35_writable_bits_match_qemu() {
    for (name, d) in [
        ("MCH", devfn(0, 0)),
        ("pcie-root-port", devfn(1, 0)),
        ("pci-bridge", devfn(2, 0)),
        ("ICH9-LPC", devfn(31, 0)),
    ] {
        let mut qemu = Qtest::start("q35", Q35_DEVICES);
        let mut model = q35_model();
        compare(name, &mut qemu, &mut model, probe(0, d));
    }
}

/// ECAM address of a register, the window being at `base`.
fn ecam(base: u64, bus: u8, devfn: u8, offset: u64) -> u64 {
    base + (u64::from(bus) << 20 | u64::from(devfn) << 12 | offset)
}

#[test]
fn q35_ecam_matches_qemu() {
    let mut qemu = Qtest::start("q35", Q35_DEVICES);
    let mut model = q35_model();
    compare("ECAM", &mut qemu, &mut model, |m| {
        let mut reads = Vec::new();
        // Enable the window where QEMU's reset value puts it, 256 buses.
        m.config_writel(0, 0, 0x60, 0xb000_0001);
        for (bus, d) in [
            (0, devfn(1, 0)),
            (0, devfn(0, 0)),
            (0, devfn(31, 0)),
            (0, devfn(5, 0)),
            (1, 0),
        ] {
            for off in (0..0x1000u64).step_by(4) {
                let value = m.readl(ecam(0xb000_0000, bus, d, off));
                reads.push((format!("{bus:02x}:{d:02x} {off:#05x}"), value));
            }
        }
        // The root port's extended capabilities: which bits stick.
        for off in (0x100..0x160u64).step_by(4) {
            let addr = ecam(0xb000_0000, 0, devfn(1, 0), off);
            m.writel(addr, u32::MAX);
            reads.push((format!("rp {off:#05x} after ones"), m.readl(addr)));
            m.writel(addr, 0);
            reads.push((format!("rp {off:#05x} after zeros"), m.readl(addr)));
        }
        // Move the window: 128 MiB at 0xc0000000.
        m.config_writel(0, 0, 0x60, 0xc000_0003);
        reads.push((
            "moved window".into(),
            m.readl(ecam(0xc000_0000, 0, devfn(1, 0), 0)),
        ));
        reads.push((
            "moved window, ext".into(),
            m.readl(ecam(0xc000_0000, 0, devfn(1, 0), 0x100)),
        ));
        reads.push(("PCIEXBAR".into(), m.config_readl(0, 0, 0x60)));
        reads
    });
}

#[test]
fn plug_errors_are_qemus() {
    use std::process::Command;
    let (_, root) = pc_model();
    let mut root = lock(&root);
    let cases: [(&str, u8, bool); 3] = [
        ("pci-bridge,chassis_nr=1,addr=1", devfn(1, 0), false),
        ("pci-bridge,chassis_nr=2,addr=3.0", devfn(3, 0), false),
        ("pci-bridge,chassis_nr=2,addr=4.1", devfn(4, 1), false),
    ];
    // Populate what the second and third cases collide with.
    let f2 = PciBridge::new(&root, devfn(3, 2), 9);
    root.plug(devfn(3, 2), shared(f2), true, None).unwrap();
    let f0 = PciBridge::new(&root, devfn(4, 0), 8);
    root.plug(devfn(4, 0), shared(f0), false, None).unwrap();
    let setup = [
        vec![],
        vec![
            "-device",
            "pci-bridge,chassis_nr=9,addr=3.2,multifunction=on",
        ],
        vec!["-device", "pci-bridge,chassis_nr=8,addr=4.0"],
    ];
    for ((device, d, multifunction), setup) in cases.into_iter().zip(setup) {
        let output = Command::new(super::qtest::QEMU)
            .args([
                "-M",
                "pc,accel=tcg",
                "-display",
                "none",
                "-nodefaults",
                "-S",
                "-qtest",
                "null",
            ])
            .args(&setup)
            .args(["-device", device])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let bridge = PciBridge::new(&root, d, 1);
        let err = root
            .plug(d, shared(bridge), multifunction, None)
            .unwrap_err();
        let ours = format!("qemu-system-x86_64: -device {device}: {err}\n");
        assert_eq!(stderr, ours);
    }
}

/// One step of an INTx scenario.
enum IntxStep {
    /// A configuration write of one dword through ports.
    Config {
        bus: u8,
        devfn: u8,
        offset: u8,
        value: u32,
    },
    /// An edu device (index into the scenario's list) raising or lowering INTx.
    Edu { index: usize, level: bool },
}

/// Where the scenario's edu devices sit and how QEMU reaches their BAR 0.
struct EduPlacement {
    bus: u8,
    devfn: u8,
    bar: u32,
}

/// Run `steps` on QEMU (edu devices at `edus`, their raise/ack registers
/// driven through BAR 0) and on our routing (test functions at the same
/// places, driven directly), and compare the high IOAPIC inputs after each
/// step. `lines` are the GSIs our router drives.
fn compare_intx(
    mut qemu: Qtest,
    edus: &[EduPlacement],
    ours: &[Arc<Mutex<super::testing::TestFunction>>],
    model: &mut Model,
    gsis: &[Arc<RecordingLine>],
    steps: &[IntxStep],
) {
    qemu.intercept_irqs("ioapic");
    for (i, step) in steps.iter().enumerate() {
        match *step {
            IntxStep::Config {
                bus,
                devfn,
                offset,
                value,
            } => {
                qemu.config_writel(bus, devfn, offset, value);
                model.config_writel(bus, devfn, offset, value);
            }
            IntxStep::Edu { index, level } => {
                // edu: 0x60 raises interrupt status bits, 0x64 acknowledges.
                let register = if level { 0x60 } else { 0x64 };
                qemu.writel(u64::from(edus[index].bar) + register, 1);
                lock(&ours[index]).set_intx(level);
            }
        }
        let expected: Vec<u32> = qemu.high_irqs().iter().copied().collect();
        let actual: Vec<u32> = (0..gsis.len() as u32)
            .filter(|&gsi| gsis[gsi as usize].level())
            .collect();
        assert_eq!(actual, expected, "high GSIs after step {i}");
    }
}

/// Program BARs and windows so QEMU's edu devices answer: the bridge at
/// 00:02.0 gets bus 1 and a memory window at 0xfd000000.
fn edu_setup(edus: &[EduPlacement]) -> Vec<IntxStep> {
    let mut steps = vec![
        IntxStep::Config {
            bus: 0,
            devfn: devfn(2, 0),
            offset: 0x18,
            value: 0x0001_0100,
        },
        IntxStep::Config {
            bus: 0,
            devfn: devfn(2, 0),
            offset: 0x20,
            value: 0xfd00_fd00,
        },
        IntxStep::Config {
            bus: 0,
            devfn: devfn(2, 0),
            offset: 0x04,
            value: 0x0000_0006,
        },
    ];
    for edu in edus {
        steps.push(IntxStep::Config {
            bus: edu.bus,
            devfn: edu.devfn,
            offset: 0x10,
            value: edu.bar,
        });
        steps.push(IntxStep::Config {
            bus: edu.bus,
            devfn: edu.devfn,
            offset: 0x04,
            value: 0x0000_0002,
        });
    }
    steps
}

/// QEMU's edu devices at 00:05.0 and behind the bridge at 01:04.0.
const EDUS: [EduPlacement; 2] = [
    EduPlacement {
        bus: 0,
        devfn: devfn(5, 0),
        bar: 0xfe00_0000,
    },
    EduPlacement {
        bus: 1,
        devfn: devfn(4, 0),
        bar: 0xfd00_0000,
    },
];
const EDU_ARGS: &[&str] = &["-device", "edu,addr=5", "-device", "edu,bus=br0,addr=4"];

/// Our test functions where `EDUS` are, on `root` (the bridge at 02.0 holds
/// the second).
fn plug_test_functions(root: &SharedPciBus) -> Vec<Arc<Mutex<super::testing::TestFunction>>> {
    use super::testing::TestFunction;
    let mut root = lock(root);
    let first = TestFunction::plug(&mut root, devfn(5, 0), 0);
    let bridge = root.device(devfn(2, 0)).unwrap().device.clone();
    let mut bridge = lock(&bridge);
    let second = TestFunction::plug(bridge.secondary_bus_mut().unwrap(), devfn(4, 0), 0);
    vec![first, second]
}

fn edu(index: usize, level: bool) -> IntxStep {
    IntxStep::Edu { index, level }
}

fn config(bus: u8, devfn: u8, offset: u8, value: u32) -> IntxStep {
    IntxStep::Config {
        bus,
        devfn,
        offset,
        value,
    }
}

#[test]
fn pc_intx_routing_matches_qemu() {
    let args: Vec<&str> = PC_DEVICES.iter().chain(EDU_ARGS).copied().collect();
    let qemu = Qtest::start("pc", &args);
    let gsis: Vec<Arc<RecordingLine>> = (0..24)
        .map(|_| Arc::new(RecordingLine::default()))
        .collect();
    let router = Arc::new(PiixIntxRouter::new(
        gsis[..16]
            .iter()
            .map(|l| l.clone() as Arc<dyn InterruptLine>)
            .collect(),
    ));
    let mut bus = PciBus::new(router.clone());
    bus.plug(0, shared(I440fx::new(128 << 20)), false, None)
        .unwrap();
    bus.plug(devfn(1, 0), shared(Piix3::new(router)), true, None)
        .unwrap();
    let bridge = PciBridge::new(&bus, devfn(2, 0), 1);
    bus.plug(devfn(2, 0), shared(bridge), false, None).unwrap();
    let root = shared(bus);
    let ours = plug_test_functions(&root);
    let pio = Bus::new();
    pio.insert(0xcf8, 8, "pci-conf", shared(PciHost::new(root, None)))
        .unwrap();
    let mut model = Model::new(pio, Bus::new());
    let mut steps = edu_setup(&EDUS);
    steps.extend([
        // 00:05.0 INTA is PIRQA; 01:04.0 INTA reaches slot 2's INTA: PIRQB.
        edu(0, true),
        config(0, devfn(1, 0), 0x60, 0x8080_0b0a),
        edu(1, true),
        edu(0, false),
        // Both PIRQs on one IRQ: it stays high while either is.
        config(0, devfn(1, 0), 0x60, 0x8080_0b0b),
        edu(0, true),
        edu(1, false),
        edu(0, false),
        edu(1, true),
        // INTx disable on the device behind the bridge.
        config(1, devfn(4, 0), 0x04, 0x0000_0402),
        config(1, devfn(4, 0), 0x04, 0x0000_0002),
        // Route away, then unroute.
        config(0, devfn(1, 0), 0x60, 0x8080_050b),
        config(0, devfn(1, 0), 0x60, 0x8080_800b),
        edu(1, false),
    ]);
    compare_intx(qemu, &EDUS, &ours, &mut model, &gsis, &steps);
}

#[test]
fn q35_intx_routing_matches_qemu() {
    let args: Vec<&str> = Q35_DEVICES.iter().chain(EDU_ARGS).copied().collect();
    let qemu = Qtest::start("q35", &args);
    let gsis: Vec<Arc<RecordingLine>> = (0..24)
        .map(|_| Arc::new(RecordingLine::default()))
        .collect();
    let router = Arc::new(Ich9IntxRouter::new(
        gsis.iter()
            .map(|l| l.clone() as Arc<dyn InterruptLine>)
            .collect(),
    ));
    let mut bus = PciBus::new(router.clone());
    bus.plug(0, shared(Mch::new()), false, None).unwrap();
    let props = RootPortProperties {
        port: 0x10,
        chassis: 1,
        slot: 1,
        hotplug: true,
    };
    let port = PcieRootPort::new(&bus, devfn(1, 0), props);
    bus.plug(devfn(1, 0), shared(port), false, None).unwrap();
    let bridge = PciBridge::new(&bus, devfn(2, 0), 2);
    bus.plug(devfn(2, 0), shared(bridge), false, None).unwrap();
    bus.plug(devfn(31, 0), shared(Ich9Lpc::new(router)), true, None)
        .unwrap();
    let root = shared(bus);
    let ours = plug_test_functions(&root);
    let pio = Bus::new();
    pio.insert(0xcf8, 8, "pci-conf", shared(PciHost::new(root, None)))
        .unwrap();
    let mut model = Model::new(pio, Bus::new());
    let mut steps = edu_setup(&EDUS);
    steps.extend([
        // 00:05.0 INTA is PIRQF (GSI 21); 01:04.0 reaches slot 2 INTA: PIRQG (GSI 22).
        edu(0, true),
        edu(1, true),
        edu(0, false),
        // PIRQF and PIRQG to IRQ 10 as well.
        config(0, devfn(31, 0), 0x68, 0x800a_0a80),
        edu(0, true),
        edu(1, false),
        edu(0, false),
        edu(1, true),
        config(1, devfn(4, 0), 0x04, 0x0000_0402),
        config(1, devfn(4, 0), 0x04, 0x0000_0002),
        edu(1, false),
    ]);
    compare_intx(qemu, &EDUS, &ours, &mut model, &gsis, &steps);
}

/// `info pci` blocks of QEMU's output, without those of functions we do not
/// model (`skip`: bus, slot, function).
fn info_pci_blocks(text: &str, skip: &[(u8, u8, u8)]) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("  Bus") || blocks.is_empty() {
            blocks.push(String::new());
        }
        let block = blocks.last_mut().unwrap();
        block.push_str(line);
        block.push('\n');
    }
    blocks
        .into_iter()
        .filter(|b| {
            !skip.iter().any(|(bus, slot, function)| {
                b.starts_with(&format!(
                    "  Bus {bus:2}, device {slot:3}, function {function}:"
                ))
            })
        })
        .collect()
}

/// Configuration writes both sides make before `info pci`, as HMP `o`
/// commands for QEMU.
fn port_writes_as_hmp(writes: &[(u8, u8, u8, u32)]) -> Vec<String> {
    writes
        .iter()
        .flat_map(|&(bus, devfn, offset, value)| {
            [
                format!("o /w 0xcf8 {:#x}", config_address(bus, devfn, offset)),
                format!("o /w 0xcfc {value:#x}"),
            ]
        })
        .chain(["info pci".to_string()])
        .collect()
}

#[test]
fn pc_info_pci_matches_qemu() {
    use super::info::{hmp_info_pci, query_pci};
    use super::testing::TestFunction;
    let writes = [
        // br0: buses 1-2, I/O 0x1000-0x2fff, memory, 64-bit prefetchable.
        (0, devfn(2, 0), 0x18, 0x0002_0100),
        (0, devfn(2, 0), 0x1c, 0x0000_2010),
        (0, devfn(2, 0), 0x20, 0xfd10_fd00),
        (0, devfn(2, 0), 0x24, 0xfe10_fe00),
        (0, devfn(2, 0), 0x28, 0x0000_0001),
        (0, devfn(2, 0), 0x10, 0xfebf_1000),
        (0, devfn(2, 0), 0x04, 0x0000_0003),
        // br1 behind it: bus 2.
        (1, devfn(3, 0), 0x18, 0x0002_0201),
        // edu at 00:05.0 mapped, with an interrupt line.
        (0, devfn(5, 0), 0x10, 0xfe00_0000),
        (0, devfn(5, 0), 0x04, 0x0000_0002),
        (0, devfn(5, 0), 0x3c, 0x0000_010b),
    ];
    let args: Vec<&str> = PC_DEVICES
        .iter()
        .copied()
        .chain([
            "-device",
            "pci-bridge,chassis_nr=2,id=br1,bus=br0,addr=3",
            "-device",
            "edu,addr=5,id=e1",
            "-device",
            "edu,bus=br0,addr=4,id=e2",
        ])
        .collect();
    let qemu = hmp("pc", &args, &port_writes_as_hmp(&writes));
    let expected = info_pci_blocks(&qemu, &[(0, 1, 1), (0, 1, 3)]);

    let (mut model, root) = pc_model();
    {
        let mut root = lock(&root);
        TestFunction::plug_with_id(&mut root, devfn(5, 0), 0, Some("e1"));
        let br0 = root.device(devfn(2, 0)).unwrap().device.clone();
        let mut br0 = lock(&br0);
        let secondary = br0.secondary_bus_mut().unwrap();
        let br1 = PciBridge::new(secondary, devfn(3, 0), 2);
        secondary
            .plug(devfn(3, 0), shared(br1), false, Some("br1".into()))
            .unwrap();
        TestFunction::plug_with_id(secondary, devfn(4, 0), 0, Some("e2"));
    }
    for &(bus, d, offset, value) in &writes {
        model.config_writel(bus, d, offset, value);
    }
    let ours = hmp_info_pci(&query_pci(&lock(&root)));
    assert_eq!(ours, expected);
}

#[test]
fn q35_info_pci_matches_qemu() {
    use super::info::{hmp_info_pci, query_pci};
    let writes = [
        (0, devfn(1, 0), 0x18, 0x0001_0100),
        (0, devfn(1, 0), 0x10, 0xfebf_0000),
        (0, devfn(1, 0), 0x04, 0x0000_0002),
        (0, devfn(31, 0), 0x3c, 0x0000_000a),
    ];
    let qemu = hmp("q35", Q35_DEVICES, &port_writes_as_hmp(&writes));
    let expected = info_pci_blocks(&qemu, &[(0, 31, 2), (0, 31, 3)]);
    let router = Arc::new(Ich9IntxRouter::new(lines(ICH9_LPC_NUM_GSIS)));
    let mut bus = PciBus::new(router.clone());
    bus.plug(0, shared(Mch::new()), false, None).unwrap();
    let props = RootPortProperties {
        port: 0x10,
        chassis: 1,
        slot: 1,
        hotplug: true,
    };
    let port = PcieRootPort::new(&bus, devfn(1, 0), props);
    bus.plug(devfn(1, 0), shared(port), false, Some("rp0".into()))
        .unwrap();
    let bridge = PciBridge::new(&bus, devfn(2, 0), 2);
    bus.plug(devfn(2, 0), shared(bridge), false, Some("br0".into()))
        .unwrap();
    bus.plug(devfn(31, 0), shared(Ich9Lpc::new(router)), true, None)
        .unwrap();
    let root = shared(bus);
    let pio = Bus::new();
    pio.insert(
        0xcf8,
        8,
        "pci-conf",
        shared(PciHost::new(root.clone(), None)),
    )
    .unwrap();
    let mut model = Model::new(pio, Bus::new());
    for &(bus, d, offset, value) in &writes {
        model.config_writel(bus, d, offset, value);
    }
    let ours = hmp_info_pci(&query_pci(&lock(&root)));
    assert_eq!(ours, expected);
}

#[test]
fn occupied_root_port_slot_matches_qemu() {
    use super::testing::TestFunction;
    let args: Vec<&str> = Q35_DEVICES
        .iter()
        .copied()
        .chain(["-device", "edu,bus=rp0"])
        .collect();
    let mut qemu = Qtest::start("q35", &args);
    let (mut model, root) = q35_model_with_root();
    let rp = lock(&root).device(devfn(1, 0)).unwrap().device.clone();
    TestFunction::plug(lock(&rp).secondary_bus_mut().unwrap(), 0, 0);
    lock(&root).reset();
    compare("occupied slot", &mut qemu, &mut model, dump(0, devfn(1, 0)));
}

#[test]
fn pci_bridge_shpc_registers_match_qemu() {
    let mut qemu = Qtest::start("pc", PC_DEVICES);
    let (mut model, _) = pc_model();
    compare("SHPC registers", &mut qemu, &mut model, |m| {
        (0..=0xffu32)
            .map(|dword| {
                m.config_writel(0, devfn(2, 0), 0x40, dword << 16);
                (
                    format!("SHPC dword {dword:#x}"),
                    m.config_readl(0, devfn(2, 0), 0x44),
                )
            })
            .collect()
    });
}

#[test]
fn expansion_rom_matches_qemu() {
    use super::config::{Bar, BarKind, PCI_ROM_SLOT};
    use super::device::PciDevice;
    use super::info::{hmp_info_pci, query_pci};
    use super::testing::TestFunction;
    // QEMU's e1000 carries a 256 KiB ROM; our test function gets the same.
    let args = ["-device", "e1000,addr=5"];
    let mut qemu = Qtest::start("pc", &args);
    let (mut model, root) = pc_model();
    let function = TestFunction::plug(&mut lock(&root), devfn(5, 0), 0);
    let rom = Bar {
        kind: BarKind::Memory32 {
            prefetchable: false,
        },
        size: 256 << 10,
    };
    lock(&function).config_mut().register_bar(PCI_ROM_SLOT, rom);
    let writes = [(0x30, 0xfeb8_0001), (0x04, 0x0000_0002)];
    compare("expansion ROM register", &mut qemu, &mut model, |m| {
        let mut reads = vec![("reset".to_string(), m.config_readl(0, devfn(5, 0), 0x30))];
        m.config_writel(0, devfn(5, 0), 0x30, u32::MAX);
        reads.push(("after ones".into(), m.config_readl(0, devfn(5, 0), 0x30)));
        for (offset, value) in writes {
            m.config_writel(0, devfn(5, 0), offset, value);
        }
        reads.push(("enabled".into(), m.config_readl(0, devfn(5, 0), 0x30)));
        reads
    });
    let rom_line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("      BAR6"))
            .map(String::from)
    };
    let writes: Vec<(u8, u8, u8, u32)> = writes
        .iter()
        .map(|&(o, v)| (0, devfn(5, 0), o, v))
        .collect();
    let expected = hmp("pc", &args, &port_writes_as_hmp(&writes));
    let ours = hmp_info_pci(&query_pci(&lock(&root)));
    assert_eq!(rom_line(&ours), rom_line(&expected));
    assert!(rom_line(&ours).is_some());
}

#[test]
fn bar_moves_are_reported_with_the_bus_number_the_guest_gave() {
    use super::bus::BarEvent;
    use super::config::{Bar, BarChange, BarKind};
    use super::testing::TestFunction;
    let (mut model, root) = pc_model();
    {
        let root = lock(&root);
        let br0 = root.device(devfn(2, 0)).unwrap().device.clone();
        TestFunction::plug(lock(&br0).secondary_bus_mut().unwrap(), devfn(4, 0), 0);
    }
    model.config_writel(0, devfn(2, 0), 0x18, 0x0003_0300);
    model.config_writel(3, devfn(4, 0), 0x10, 0xfd00_0000);
    model.config_writel(3, devfn(4, 0), 0x04, 0x0000_0002);
    model.config_writel(0, devfn(2, 0), 0x10, 0xfebf_1000);
    model.config_writel(0, devfn(2, 0), 0x14, 0x0000_0001);
    model.config_writel(0, devfn(2, 0), 0x04, 0x0000_0002);
    let edu_bar = Bar {
        kind: BarKind::Memory32 {
            prefetchable: false,
        },
        size: 1 << 20,
    };
    let bridge_bar = Bar {
        kind: BarKind::Memory64 {
            prefetchable: false,
        },
        size: 0x100,
    };
    assert_eq!(
        lock(&root).take_bar_events(0),
        vec![
            BarEvent {
                bus: 0,
                devfn: devfn(2, 0),
                change: BarChange {
                    bar: 0,
                    bar_info: bridge_bar,
                    old: None,
                    new: Some(0x1_febf_1000),
                },
            },
            BarEvent {
                bus: 3,
                devfn: devfn(4, 0),
                change: BarChange {
                    bar: 0,
                    bar_info: edu_bar,
                    old: None,
                    new: Some(0xfd00_0000),
                },
            },
        ]
    );
    assert!(lock(&root).take_bar_events(0).is_empty());
}

#[test]
fn wide_ecam_accesses_are_split_into_dwords() {
    let mut qemu = Qtest::start("q35", Q35_DEVICES);
    let mut model = q35_model();
    qemu.config_writel(0, 0, 0x60, 0xb000_0001);
    model.config_writel(0, 0, 0x60, 0xb000_0001);
    let addr = ecam(0xb000_0000, 0, devfn(1, 0), 0);
    let expected = qemu.command(&format!("readq {addr:#x}"));
    let mut data = [0u8; 8];
    model.mmio.read(addr, &mut data);
    assert_eq!(format!("{:#018x}", u64::from_le_bytes(data)), expected);
}

#[test]
fn reset_control_register_matches_qemu() {
    use super::reset_control::ResetControl;
    use crate::core::testing::RecordingSystem;
    for machine in ["pc", "q35"] {
        let mut qemu = Qtest::start(machine, &[]);
        let system = Arc::new(RecordingSystem::default());
        let rcr = if machine == "pc" {
            ResetControl::piix3(system)
        } else {
            ResetControl::ich9(system)
        };
        let router = Arc::new(PiixIntxRouter::new(lines(PIIX_NUM_PIC_IRQS)));
        let root = shared(PciBus::new(router));
        let pio = Bus::new();
        let host = PciHost::new(root, Some(shared(rcr)));
        pio.insert(0xcf8, 8, "pci-conf", shared(host)).unwrap();
        let mut model = Model::new(pio, Bus::new());
        compare(machine, &mut qemu, &mut model, |m| {
            let mut reads = vec![("reset".to_string(), m.inp(0xcf9, 1))];
            m.outp(0xcf9, 1, 0xfb);
            reads.push(("after 0xfb".into(), m.inp(0xcf9, 1)));
            m.outp(0xcf8, 4, 0x8000_0000);
            reads.push(("after the address register".into(), m.inp(0xcf9, 1)));
            reads.push(("address register".into(), m.inp(0xcf8, 4)));
            m.outp(0xcf9, 1, 0);
            reads.push(("after 0".into(), m.inp(0xcf9, 1)));
            reads
        });
    }
}

#[test]
fn root_port_without_hotplug_matches_qemu() {
    let mut qemu = Qtest::start(
        "q35",
        &[
            "-device",
            "pcie-root-port,id=rp0,chassis=1,port=0x10,slot=1,hotplug=off",
        ],
    );
    let router = Arc::new(Ich9IntxRouter::new(lines(ICH9_LPC_NUM_GSIS)));
    let mut bus = PciBus::new(router);
    let props = RootPortProperties {
        port: 0x10,
        chassis: 1,
        slot: 1,
        hotplug: false,
    };
    let port = PcieRootPort::new(&bus, devfn(1, 0), props);
    bus.plug(devfn(1, 0), shared(port), false, None).unwrap();
    let pio = Bus::new();
    pio.insert(
        0xcf8,
        8,
        "pci-conf",
        shared(PciHost::new(shared(bus), None)),
    )
    .unwrap();
    let mut model = Model::new(pio, Bus::new());
    compare(
        "pcie-root-port,hotplug=off",
        &mut qemu,
        &mut model,
        dump(0, devfn(1, 0)),
    );
}

#[test]
fn automatic_placement_matches_qemu() {
    use super::testing::TestFunction;
    use std::process::Command;
    // Without addr=, QEMU's pci-bridge took 00:02.0 in `PC_DEVICES`.
    let router = Arc::new(PiixIntxRouter::new(lines(PIIX_NUM_PIC_IRQS)));
    let mut bus = PciBus::new(router.clone());
    bus.plug(0, shared(I440fx::new(128 << 20)), false, None)
        .unwrap();
    bus.plug(devfn(1, 0), shared(Piix3::new(router)), true, None)
        .unwrap();
    assert_eq!(bus.free_devfn("pci-bridge"), Ok(devfn(2, 0)));
    // A full bus refuses the 33rd device in QEMU's words.
    let mut args = vec![
        "-device".to_string(),
        "pci-bridge,chassis_nr=1,id=br0".to_string(),
    ];
    for _ in 0..33 {
        args.extend(["-device".to_string(), "edu,bus=br0".to_string()]);
    }
    let output = Command::new(super::qtest::QEMU)
        .args([
            "-M",
            "pc,accel=tcg",
            "-display",
            "none",
            "-nodefaults",
            "-S",
            "-qtest",
            "null",
        ])
        .args(&args)
        .output()
        .unwrap();
    let mut secondary = bus.new_secondary(devfn(2, 0));
    for _ in 0..32 {
        let d = secondary.free_devfn("edu").unwrap();
        TestFunction::plug(&mut secondary, d, 0);
    }
    let err = secondary.free_devfn("edu").unwrap_err();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("qemu-system-x86_64: -device edu,bus=br0: {err}\n")
    );
}

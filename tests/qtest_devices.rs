//! Device registers driven through the qtest protocol, on this emulator
//! (qtest accelerator) and on QEMU 7.2 (whose `-qtest` runs its machine
//! under TCG, stopped with `-S`, so both are compared from reset state).
//! Tests that step the virtual clock run on this emulator only, with
//! expectations from the datasheets.

mod common;
mod qtest_client;

use common::{QEMU, RQEMU};
use qtest_client::QtestMachine;

/// Run `test` on both emulators; what it returns must be the same.
fn on_both<T: PartialEq + std::fmt::Debug>(name: &str, test: impl Fn(&mut QtestMachine) -> T) -> T {
    on_both_with(name, &[], test)
}

/// As `on_both`, with `extra` arguments for both.
fn on_both_with<T: PartialEq + std::fmt::Debug>(
    name: &str,
    extra: &[&str],
    test: impl Fn(&mut QtestMachine) -> T,
) -> T {
    let ours = test(&mut QtestMachine::start(
        RQEMU,
        &format!("{name}-ours"),
        extra,
    ));
    let qemu = test(&mut QtestMachine::start(
        QEMU,
        &format!("{name}-qemu"),
        extra,
    ));
    assert_eq!(ours, qemu, "{name}: this emulator, then QEMU 7.2");
    ours
}

#[test]
fn fw_cfg_signature_and_id() {
    let (signature, id) = on_both("fw-cfg", |m| (m.fw_cfg_read(0, 4), m.fw_cfg_read(1, 4)));
    assert_eq!(signature, b"QEMU");
    // Bit 0: the traditional interface; bit 1: DMA (QEMU's pc machines).
    assert_eq!(id, [3, 0, 0, 0]);
}

#[test]
fn pci_host_bridge_and_isa_bridge_ids() {
    let ids = on_both("pci-ids", |m| {
        (
            m.pci_config_readl(0, 0),
            m.pci_config_readl(8, 0),
            m.pci_config_readl(0, 8),
        )
    });
    // i440FX (8086:1237) and PIIX3 (8086:7000).
    assert_eq!(ids.0, 0x1237_8086);
    assert_eq!(ids.1, 0x7000_8086);
}

#[test]
fn rtc_control_registers_after_reset() {
    let registers = on_both("rtc", |m| {
        [0x0a, 0x0b, 0x0d].map(|index| m.cmos_read(index))
    });
    // Register A: 32.768 kHz divider, 1024 Hz rate; B: 24-hour mode;
    // D: valid RAM and time.
    assert_eq!(registers, [0x26, 0x02, 0x80]);
}

#[test]
fn uart_registers_after_reset_and_scratch() {
    let registers = on_both_with("uart", &["-serial", "null"], |m| {
        m.outb(0x3ff, 0x5a);
        // IER, IIR, LCR, MCR, LSR, SCR.
        [0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3ff].map(|port| m.inb(port))
    });
    // No interrupt pending; transmitter empty; the scratch register kept.
    assert_eq!(registers[1], 0x01);
    assert_eq!(registers[4], 0x60);
    assert_eq!(registers[5], 0x5a);
}

#[test]
fn i8042_status_and_self_test() {
    let replies = on_both("i8042", |m| {
        let status = m.inb(0x64);
        m.outb(0x64, 0xaa);
        let after_command = m.inb(0x64);
        (status, after_command, m.inb(0x60))
    });
    // The self-test answers 0x55 through the output buffer.
    assert_eq!(replies.2, 0x55);
    assert_eq!(replies.1 & 0x01, 0x01, "output buffer full");
}

#[test]
fn unknown_commands_fail_and_the_session_goes_on() {
    let replies = on_both("unknown", |m| {
        (m.command("no_such_command 1"), m.command("endianness"))
    });
    assert_eq!(replies.0, "FAIL Unknown command 'no_such_command'");
    assert_eq!(replies.1, "OK little");
}

#[test]
fn malformed_lines_fail_and_the_session_goes_on() {
    // QEMU aborts on these; this emulator answers FAIL.
    let mut m = QtestMachine::start(RQEMU, "malformed", &[]);
    for line in ["outb", "inb 0x10000", "readl zz", "write 0x0 1 0xzz", ""] {
        assert!(m.command(line).starts_with("FAIL"), "{line:?}");
    }
    assert_eq!(m.command("endianness"), "OK little");
}

#[test]
fn qmp_beside_qtest() {
    let m = QtestMachine::start(RQEMU, "qmp", &[]);
    let mut qmp = m.qmp();
    let status = qmp.exchange(r#"{"execute": "query-status"}"#, 1);
    assert!(status.contains(r#""status": "prelaunch""#), "{status}");
}

/// PIT channel 0 in mode 2 (rate generator) with a count of 1193: one
/// pulse on OUT, which drives IRQ 0, every 1193 clocks of 1.193182 MHz
/// (8254 datasheet), 999.85 us; 10 ms of virtual time hold 10 of them.
#[test]
fn pit_rate_generator_in_virtual_time() {
    let mut m = QtestMachine::start(RQEMU, "pit", &[]);
    m.irq_intercept_in("ioapic");
    m.outb(0x43, 0x34);
    m.outb(0x40, (1193 & 0xff) as u8);
    m.outb(0x40, (1193 >> 8) as u8);
    m.take_irqs();
    for step in 1..=2 {
        assert_eq!(m.clock_step(10_000_000), step * 10_000_000);
        let irqs = m.take_irqs();
        let raises = irqs.iter().filter(|l| *l == "IRQ raise 0").count();
        assert_eq!(raises, 10, "{irqs:?}");
        // The line goes up and down in turn, never twice the same way.
        assert!(irqs.windows(2).all(|w| w[0] != w[1]), "{irqs:?}");
        assert!(irqs.iter().all(|l| l.ends_with(" 0")), "{irqs:?}");
    }
}

#[test]
fn ioapic_version_through_mmio() {
    let version = on_both("ioapic", |m| {
        m.writel(0xfec0_0000, 0x01);
        m.readl(0xfec0_0010)
    });
    // 24 redirection entries, version 0x20 (QEMU 7.2's default).
    assert_eq!(version, 0x0017_0020);
}

#[test]
fn ioapic_inputs_intercepted_and_set() {
    let seen = on_both("intercept", |m| {
        let unknown = m.command("irq_intercept_in /machine/nosuch");
        m.irq_intercept_in("ioapic");
        let again = m.command("irq_intercept_in /machine/i440fx/ioapic");
        let raise = m.command("set_irq_in ioapic unnamed-gpio-in 5 1");
        let same = m.command("set_irq_in ioapic unnamed-gpio-in 5 1");
        let lower = m.command("set_irq_in ioapic unnamed-gpio-in 5 0");
        (unknown, again, raise, same, lower, m.take_irqs())
    });
    assert_eq!(seen.0, "FAIL Unknown device");
    assert_eq!([seen.1, seen.2, seen.3, seen.4], ["OK"; 4]);
    // Only changes of level are reported.
    assert_eq!(seen.5, ["IRQ raise 5", "IRQ lower 5"]);
}

#[test]
fn uart_transmitter_empty_interrupt() {
    let seen = on_both_with("uart-irq", &["-serial", "null"], |m| {
        m.irq_intercept_in("ioapic");
        // OUT2 gates the ISA interrupt; then the THR-empty interrupt.
        m.outb(0x3fc, 0x08);
        m.outb(0x3f9, 0x02);
        let raised = m.take_irqs();
        let iir = m.inb(0x3fa);
        // Reading IIR took the THR-empty condition away.
        let lowered = m.take_irqs();
        (raised, iir, lowered, m.inb(0x3fa))
    });
    assert_eq!(seen.0, ["IRQ raise 4"]);
    assert_eq!(seen.1, 0x02);
    assert_eq!(seen.2, ["IRQ lower 4"]);
    assert_eq!(seen.3, 0x01);
}

#[test]
fn ram_through_every_access_command() {
    let replies = on_both("ram", |m| {
        [
            "write 0x1000 4 0x01020304",
            "read 0x1000 4",
            "b64write 0x1004 3 Zm9v",
            "b64read 0x1000 7",
            "memset 0x1001 2 0xaa",
            "readl 0x1000",
            "writeq 0x2000 0x1122334455667788",
            "readw 0x2002",
            "readq 0x2000",
            "writeb 0x2000 0x99",
            "read 0x2000 2",
            "write 0x3000 3 0x01",
            "read 0x3000 3",
            "memset 0x3000 0 0x55",
        ]
        .map(|line| m.command(line))
    });
    assert_eq!(replies[1], "OK 0x01020304");
    assert_eq!(replies[3], "OK AQIDBGZvbw==");
    assert_eq!(replies[5], "OK 0x0000000004aaaa01");
    assert_eq!(replies[8], "OK 0x1122334455667788");
    // Short data is padded with zeros.
    assert_eq!(replies[12], "OK 0x010000");
}

/// `clock_set` moves the virtual clock forwards only; the PIT in mode 0
/// (interrupt on terminal count) raises IRQ 0 when its count of 1193
/// clocks of 1.193182 MHz, 999.85 us, has run out (8254 datasheet).
#[test]
fn pit_one_shot_and_clock_set() {
    let mut m = QtestMachine::start(RQEMU, "pit-one-shot", &[]);
    assert_eq!(m.command("clock_set 5000"), "OK 5000");
    assert_eq!(m.command("clock_set 100"), "OK 5000");
    m.irq_intercept_in("ioapic");
    m.outb(0x43, 0x30);
    m.outb(0x40, (1193 & 0xff) as u8);
    m.outb(0x40, (1193 >> 8) as u8);
    let loaded = m.take_irqs();
    assert!(!loaded.contains(&"IRQ raise 0".to_string()), "{loaded:?}");
    assert_eq!(m.clock_step(990_000), 995_000);
    assert!(m.take_irqs().is_empty());
    assert_eq!(m.clock_step(20_000), 1_015_000);
    assert_eq!(m.take_irqs(), ["IRQ raise 0"]);
    // Nothing more happens: the output stays high.
    m.clock_step(100_000_000);
    assert!(m.take_irqs().is_empty());
}

/// The `-qtest-log` transcript, times masked: what each side received
/// and sent, as QEMU 7.2 writes it.
#[test]
fn qtest_log_transcript() {
    let transcript = |program: &str, name: &str| {
        let path =
            std::env::temp_dir().join(format!("rqemu-qtest-log-{}-{name}", std::process::id()));
        let log = path.display().to_string();
        let mut m = QtestMachine::start(program, name, &["-qtest-log", &log]);
        m.command("inb 0x71");
        m.command("nosuch");
        m.quit();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        // "[R +0.000123] inb 0x71" -> "[R] inb 0x71"
        text.lines()
            .map(|line| match (line.find(' '), line.find(']')) {
                (Some(space), Some(end)) if space < end => {
                    format!("{}{}", &line[..space], &line[end..])
                }
                _ => line.to_string(),
            })
            .filter(|line| !line.starts_with("[S] OK 0x"))
            .collect::<Vec<_>>()
    };
    let ours = transcript(RQEMU, "log-ours");
    let qemu = transcript(QEMU, "log-qemu");
    assert_eq!(ours, qemu);
    assert_eq!(
        ours[..4],
        [
            "[I] OPENED",
            "[R] inb 0x71",
            "[R] nosuch",
            "[S] FAIL Unknown command 'nosuch'"
        ]
    );
}

/// With `-rtc clock=vm` the RTC follows the virtual clock. Periodic
/// interrupts at rate 15 come every 500 ms (MC146818 datasheet: 2 Hz) and
/// hold IRQ 8 until register C is read, which reports PF and IRQF.
#[test]
fn rtc_periodic_interrupt_in_virtual_time() {
    let mut m = QtestMachine::start(RQEMU, "rtc-periodic", &["-rtc", "clock=vm"]);
    m.irq_intercept_in("ioapic");
    // The PIT's IRQ 0, running from reset, is not looked at.
    let irq8 = |m: &mut QtestMachine| -> Vec<String> {
        let irqs = m.take_irqs();
        irqs.into_iter().filter(|l| l.ends_with(" 8")).collect()
    };
    m.cmos_read(0x0c);
    m.outb(0x70, 0x0a);
    m.outb(0x71, 0x2f);
    m.outb(0x70, 0x0b);
    m.outb(0x71, 0x42);
    for period in 1..=3u64 {
        // The interrupts follow the 32.768 kHz divider chain: within one
        // of its ticks (30.5 us) of each 500 ms.
        m.clock_step(499_900_000);
        assert!(irq8(&mut m).is_empty(), "period {period}: too early");
        m.clock_step(100_000);
        assert_eq!(irq8(&mut m), ["IRQ raise 8"], "period {period}");
        // IRQF and PF (UF too, once an update cycle ended).
        assert_eq!(m.cmos_read(0x0c) & 0xc0, 0xc0);
        assert_eq!(irq8(&mut m), ["IRQ lower 8"]);
    }
}

/// The time set with register B's SET bit stands still until SET is
/// cleared, then advances a second a second (as QEMU's own rtc-test
/// checks it).
#[test]
fn rtc_update_in_virtual_time() {
    let mut m = QtestMachine::start(RQEMU, "rtc-update", &["-rtc", "clock=vm"]);
    let write = |m: &mut QtestMachine, index: u8, value: u8| {
        m.outb(0x70, index);
        m.outb(0x71, value);
    };
    // 24-hour BCD, SET; 2011-02-02 02:04:58.
    write(&mut m, 0x0b, 0x82);
    for (index, value) in [
        (0, 0x58),
        (2, 0x04),
        (4, 0x02),
        (7, 0x02),
        (8, 0x02),
        (9, 0x11),
    ] {
        write(&mut m, index, value);
    }
    m.clock_step(1_000_000_000);
    assert_eq!(m.cmos_read(0), 0x58, "SET holds the time");
    write(&mut m, 0x0b, 0x02);
    assert_eq!(m.cmos_read(0), 0x58);
    m.clock_step(1_000_000_000);
    assert_eq!(
        [m.cmos_read(0), m.cmos_read(2), m.cmos_read(4)],
        [0x59, 0x04, 0x02]
    );
    m.clock_step(1_000_000_000);
    assert_eq!(
        [m.cmos_read(0), m.cmos_read(2), m.cmos_read(4)],
        [0x00, 0x05, 0x02]
    );
}

/// fw_cfg's DMA interface: a big-endian FWCfgDmaAccess in RAM (select
/// item 0 and read 4 bytes to 0x2000), its address written big-endian to
/// ports 0x514/0x518; the control word is cleared when done.
#[test]
fn fw_cfg_dma_read_of_the_signature() {
    let replies = on_both("fw-cfg-dma", |m| {
        [
            "write 0x1000 16 0x0000000a000000040000000000002000",
            "outl 0x514 0x0",
            "outl 0x518 0x100000",
            "read 0x2000 4",
            "read 0x1000 4",
        ]
        .map(|line| m.command(line))
    });
    assert_eq!(replies[3], "OK 0x51454d55");
    assert_eq!(replies[4], "OK 0x00000000");
}

#[test]
fn q35_host_bridge_and_lpc_ids() {
    let ids = on_both_with("q35-ids", &["-machine", "q35"], |m| {
        (m.pci_config_readl(0, 0), m.pci_config_readl(0xf8, 0))
    });
    // Q35 MCH (8086:29c0) and ICH9 LPC (8086:2918) at 00:1f.0.
    assert_eq!(ids, (0x29c0_8086, 0x2918_8086));
}

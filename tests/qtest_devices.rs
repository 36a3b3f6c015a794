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
    let ours = test(&mut QtestMachine::start(
        RQEMU,
        &format!("{name}-ours"),
        &[],
    ));
    let qemu = test(&mut QtestMachine::start(QEMU, &format!("{name}-qemu"), &[]));
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

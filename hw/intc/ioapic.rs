//! The PC's I/O APIC at 0xfec00000, as QEMU 7.2's userspace model
//! (`hw/intc/ioapic.c`, version 0x20): 24 input pins, each with a
//! redirection table entry that turns it into a message to the local APICs.
//!
//! Registers: IOREGSEL at offset 0x00 selects the register IOWIN at 0x10
//! reads and writes (0x00 id, 0x01 version, 0x02 arbitration, 0x10 + 2n
//! and 0x11 + 2n the low and high halves of pin n's entry); a write to the
//! EOI register at 0x40 ends level-triggered interrupts of a vector, as an
//! EOI broadcast from a local APIC does.
//!
//! A delivery is an `MsiMessage`, in the form QEMU writes to the APICs'
//! MSI window, handed to the `MsiSink` the machine supplies (local APIC
//! emulation, or KVM's MSI injection). Deliveries happen with the IOAPIC's
//! lock held: the sink must not call back into the IOAPIC (an EOI from the
//! guest comes back later, through `eoi_broadcast`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::bus::{lock, BusDevice};
use crate::core::clock::{Clock, TimedDevice};

/// Guest-physical base address.
pub const IOAPIC_BASE: u64 = 0xfec0_0000;
/// Bytes of MMIO space the IOAPIC decodes (registers repeat every 0x100).
pub const IOAPIC_SIZE: u64 = 0x1000;
/// Input pins.
pub const IOAPIC_NUM_PINS: usize = 24;
/// The version register's version field.
const IOAPIC_VERSION: u32 = 0x20;

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const EOI: u64 = 0x40;

const REG_ID: u8 = 0x00;
const REG_VER: u8 = 0x01;
const REG_ARB: u8 = 0x02;
const REG_REDTBL_BASE: u8 = 0x10;

const ID_SHIFT: u32 = 24;
const ID_MASK: u32 = 0x0f;
const VER_ENTRIES_SHIFT: u32 = 16;

/// Redirection table entry fields.
const ENTRY_VECTOR_MASK: u64 = 0xff;
const ENTRY_DELIVERY_MODE_SHIFT: u32 = 8;
const ENTRY_DEST_MODE_SHIFT: u32 = 11;
const ENTRY_DELIVERY_STATUS: u64 = 1 << 12;
const ENTRY_REMOTE_IRR: u64 = 1 << 14;
const ENTRY_TRIGGER_LEVEL: u64 = 1 << 15;
const ENTRY_MASKED: u64 = 1 << 16;
const ENTRY_DEST_SHIFT: u32 = 48;
/// Bits only the IOAPIC itself changes.
const ENTRY_READ_ONLY: u64 = ENTRY_REMOTE_IRR | ENTRY_DELIVERY_STATUS;

/// Delivery mode ExtINT: the vector comes from the 8259A.
pub const DELIVERY_MODE_EXTINT: u8 = 7;

/// The local APICs' MSI window; the destination goes in bits 12-19.
const MSI_ADDRESS_BASE: u64 = 0xfee0_0000;

/// After this many re-deliveries of a level-triggered interrupt straight
/// from EOIs, QEMU waits 10 ms before the next one, as the real part is slow
/// enough to let a guest that mishandles the interrupt make progress.
const SUCCESSIVE_IRQ_MAX_COUNT: u32 = 10000;
const INTERRUPT_STORM_DELAY: Duration = Duration::from_millis(10);

/// An interrupt message to the local APICs, in MSI form: `address` is in
/// the 0xfee00000 window, `data` holds vector, delivery mode and trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsiMessage {
    pub address: u64,
    pub data: u32,
}

impl MsiMessage {
    /// The destination APIC id (physical mode) or logical destination.
    pub fn destination(&self) -> u8 {
        (self.address >> 12) as u8
    }
    /// Logical (true) or physical destination mode.
    pub fn logical_destination(&self) -> bool {
        self.address & (1 << 2) != 0
    }
    pub fn vector(&self) -> u8 {
        self.data as u8
    }
    /// 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT.
    pub fn delivery_mode(&self) -> u8 {
        ((self.data >> 8) & 7) as u8
    }
    pub fn level_triggered(&self) -> bool {
        self.data & (1 << 15) != 0
    }
}

/// Where the IOAPIC's interrupt messages go.
pub trait MsiSink: Send + Sync {
    fn deliver(&self, message: MsiMessage);
}

/// The 8259A's interrupt acknowledge, which supplies the vector of a pin in
/// ExtINT delivery mode. It is called with the IOAPIC's lock held: the PICs
/// are locked after the IOAPIC, never the other way round.
pub trait ExtIntSource: Send + Sync {
    fn acknowledge(&self) -> u8;
}

impl ExtIntSource for Mutex<super::i8259::I8259> {
    fn acknowledge(&self) -> u8 {
        lock(self).acknowledge()
    }
}

pub struct Ioapic {
    sink: Arc<dyn MsiSink>,
    extint: Arc<dyn ExtIntSource>,
    clock: Arc<dyn Clock>,
    id: u8,
    ioregsel: u8,
    /// Pins with a pending request.
    irr: u32,
    redirection: [u64; IOAPIC_NUM_PINS],
    /// Successive re-deliveries by EOI, per pin.
    eoi_redeliveries: [u32; IOAPIC_NUM_PINS],
    /// When the delayed delivery after an interrupt storm is due.
    delayed_service: Option<Duration>,
}

impl Ioapic {
    /// An IOAPIC in its power-on state (id 0, every pin masked).
    pub fn new(
        sink: Arc<dyn MsiSink>,
        extint: Arc<dyn ExtIntSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            sink,
            extint,
            clock,
            id: 0,
            ioregsel: 0,
            irr: 0,
            redirection: [ENTRY_MASKED; IOAPIC_NUM_PINS],
            eoi_redeliveries: [0; IOAPIC_NUM_PINS],
            delayed_service: None,
        }
    }

    /// Drive input `input`. As in QEMU, input 0 (ISA IRQ 0, the PIT) is
    /// wired to pin 2, as the MP table and ACPI's interrupt source override
    /// tell the guest; inputs past the last pin are ignored.
    pub fn set_irq(&mut self, input: u32, level: bool) {
        let pin = if input == 0 { 2 } else { input as usize };
        if pin >= IOAPIC_NUM_PINS {
            return;
        }
        let mask = 1 << pin;
        let entry = self.redirection[pin];
        if entry & ENTRY_TRIGGER_LEVEL != 0 {
            if level {
                self.irr |= mask;
                if entry & ENTRY_REMOTE_IRR == 0 {
                    self.service();
                }
            } else {
                self.irr &= !mask;
            }
        } else if level && entry & ENTRY_MASKED == 0 {
            // Every call with the level high is an edge, and a masked pin
            // ignores it (82093AA datasheet).
            self.irr |= mask;
            self.service();
        }
    }

    /// A local APIC's EOI for `vector`: level-triggered pins that delivered
    /// it may deliver again.
    pub fn eoi_broadcast(&mut self, vector: u8) {
        for pin in 0..IOAPIC_NUM_PINS {
            let entry = self.redirection[pin];
            if entry & ENTRY_VECTOR_MASK != u64::from(vector)
                || entry & ENTRY_TRIGGER_LEVEL == 0
                || entry & ENTRY_REMOTE_IRR == 0
            {
                continue;
            }
            self.redirection[pin] = entry & !ENTRY_REMOTE_IRR;
            if entry & ENTRY_MASKED == 0 && self.irr & (1 << pin) != 0 {
                self.eoi_redeliveries[pin] += 1;
                if self.eoi_redeliveries[pin] >= SUCCESSIVE_IRQ_MAX_COUNT {
                    self.eoi_redeliveries[pin] = 0;
                    let due = self.clock.now() + INTERRUPT_STORM_DELAY;
                    // Never postpone a delivery already planned.
                    self.delayed_service = Some(self.delayed_service.map_or(due, |d| d.min(due)));
                } else {
                    self.service();
                }
            } else {
                self.eoi_redeliveries[pin] = 0;
            }
        }
    }

    /// Put the IOAPIC back in its power-on state.
    pub fn reset(&mut self) {
        self.id = 0;
        self.ioregsel = 0;
        self.irr = 0;
        self.redirection = [ENTRY_MASKED; IOAPIC_NUM_PINS];
        self.eoi_redeliveries = [0; IOAPIC_NUM_PINS];
    }

    /// Deliver every pending request whose pin is not masked; a
    /// level-triggered one waits while its previous delivery is not EOIed.
    fn service(&mut self) {
        for pin in 0..IOAPIC_NUM_PINS {
            let mask = 1 << pin;
            if self.irr & mask == 0 {
                continue;
            }
            let entry = self.redirection[pin];
            // As in QEMU, an ExtINT entry acknowledges the 8259A even when
            // masked or coalesced.
            let message = self.message(entry);
            if entry & ENTRY_MASKED != 0 {
                continue;
            }
            if entry & ENTRY_TRIGGER_LEVEL == 0 {
                self.irr &= !mask;
            } else {
                self.redirection[pin] |= ENTRY_REMOTE_IRR;
                if entry & ENTRY_REMOTE_IRR != 0 {
                    continue;
                }
            }
            self.sink.deliver(message);
        }
    }

    fn message(&self, entry: u64) -> MsiMessage {
        let delivery_mode = ((entry >> ENTRY_DELIVERY_MODE_SHIFT) & 7) as u8;
        let vector = if delivery_mode == DELIVERY_MODE_EXTINT {
            self.extint.acknowledge()
        } else {
            (entry & ENTRY_VECTOR_MASK) as u8
        };
        // The destination byte and the reserved byte below it (used by
        // interrupt remapping) land in address bits 4-19.
        let dest_index = (entry >> ENTRY_DEST_SHIFT) & 0xffff;
        let dest_mode = (entry >> ENTRY_DEST_MODE_SHIFT) & 1;
        let trigger = u32::from(entry & ENTRY_TRIGGER_LEVEL != 0);
        MsiMessage {
            address: MSI_ADDRESS_BASE | dest_index << 4 | dest_mode << 2,
            data: u32::from(vector) | trigger << 15 | u32::from(delivery_mode) << 8,
        }
    }

    /// The redirection entry selected by IOREGSEL, if it selects one, and
    /// whether it selects the high half.
    fn selected_entry(&self) -> Option<(usize, bool)> {
        let index = usize::from(self.ioregsel.checked_sub(REG_REDTBL_BASE)? >> 1);
        (index < IOAPIC_NUM_PINS).then_some((index, self.ioregsel & 1 != 0))
    }

    fn read_register(&self, offset: u64, size: usize) -> u32 {
        match offset & 0xff {
            IOREGSEL => u32::from(self.ioregsel),
            IOWIN if size == 4 => match self.ioregsel {
                REG_ID | REG_ARB => u32::from(self.id) << ID_SHIFT,
                REG_VER => IOAPIC_VERSION | (IOAPIC_NUM_PINS as u32 - 1) << VER_ENTRIES_SHIFT,
                _ => match self.selected_entry() {
                    Some((pin, true)) => (self.redirection[pin] >> 32) as u32,
                    Some((pin, false)) => self.redirection[pin] as u32,
                    None => 0,
                },
            },
            _ => 0,
        }
    }

    fn write_register(&mut self, offset: u64, size: usize, value: u32) {
        match offset & 0xff {
            IOREGSEL => self.ioregsel = value as u8,
            IOWIN if size == 4 => match self.ioregsel {
                REG_ID => self.id = ((value >> ID_SHIFT) & ID_MASK) as u8,
                REG_VER | REG_ARB => {}
                _ => {
                    if let Some((pin, high)) = self.selected_entry() {
                        self.write_entry(pin, high, value);
                    }
                }
            },
            EOI if size == 4 => self.eoi_broadcast(value as u8),
            _ => {}
        }
    }

    fn write_entry(&mut self, pin: usize, high: bool, value: u32) {
        let old = self.redirection[pin];
        let mut entry = if high {
            (old & 0xffff_ffff) | u64::from(value) << 32
        } else {
            (old & !0xffff_ffff) | u64::from(value)
        };
        entry = (entry & !ENTRY_READ_ONLY) | (old & ENTRY_READ_ONLY);
        // An edge-triggered entry has no remote IRR: Linux ends a level
        // interrupt on IOAPICs without an EOI register by switching the
        // entry to edge and back.
        if entry & ENTRY_TRIGGER_LEVEL == 0 {
            entry &= !ENTRY_REMOTE_IRR;
        }
        self.redirection[pin] = entry;
        self.eoi_redeliveries[pin] = 0;
        self.service();
    }
}

impl BusDevice for Ioapic {
    /// Accesses of up to 4 bytes reach the registers with their size; an
    /// 8-byte one is split in two 4-byte halves, as QEMU's memory core does.
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        for (i, chunk) in data.chunks_mut(4).enumerate() {
            let value = self.read_register(offset + 4 * i as u64, chunk.len());
            chunk.copy_from_slice(&value.to_le_bytes()[..chunk.len()]);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        for (i, chunk) in data.chunks(4).enumerate() {
            let mut bytes = [0u8; 4];
            bytes[..chunk.len()].copy_from_slice(chunk);
            self.write_register(
                offset + 4 * i as u64,
                chunk.len(),
                u32::from_le_bytes(bytes),
            );
        }
    }

    fn reset(&mut self) {
        Ioapic::reset(self);
    }
}

impl TimedDevice for Ioapic {
    fn next_deadline(&self) -> Option<Duration> {
        self.delayed_service
    }

    fn on_timer(&mut self, now: Duration) {
        if self.delayed_service.is_some_and(|due| due <= now) {
            self.delayed_service = None;
            self.service();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intc::qtest::{assert_same_as_qemu, assert_script_same_as_qemu, ModelPc, Random};
    use crate::intc::qtest::{IOAPIC, MASTER_PIC};

    #[test]
    fn power_on_registers_match_qemu() {
        let mut script = String::from(
            "readl 0xfec00000
            readl 0xfec00010
            writel 0xfec00000 0x01
            readl 0xfec00010
            readw 0xfec00010
            readb 0xfec00010
            readl 0xfec00110
            readl 0xfec00014
            writel 0xfec00000 0x02
            readl 0xfec00010
            readq 0xfec00000
            writeb 0xfec00000 0x1ff
            readl 0xfec00000
            ",
        );
        for register in 0x10..0x40 {
            script += &format!("writel 0xfec00000 {register:#x}\nreadl 0xfec00010\n");
        }
        assert_script_same_as_qemu(&script);
    }

    #[test]
    fn id_and_redirection_entry_writes_match_qemu() {
        assert_script_same_as_qemu(
            "writel 0xfec00000 0x00
            writel 0xfec00010 0xffffffff
            readl 0xfec00010
            writel 0xfec00000 0x02
            readl 0xfec00010
            writel 0xfec00000 0x01
            writel 0xfec00010 0
            readl 0xfec00010
            # read-only delivery status and remote IRR bits
            writel 0xfec00000 0x12
            writel 0xfec00010 0xffffffff
            readl 0xfec00010
            writel 0xfec00000 0x13
            writel 0xfec00010 0xffffffff
            readl 0xfec00010
            # 2-byte writes to IOWIN are ignored
            writew 0xfec00010 0x1234
            readl 0xfec00010
            writeq 0xfec00000 0x0000000000000021
            readl 0xfec00010
            ",
        );
    }

    #[test]
    fn level_pins_remote_irr_and_eoi_match_qemu() {
        assert_script_same_as_qemu(
            "# pin 5: level-triggered, vector 0x35, unmasked
            writel 0xfec00000 0x1a
            writel 0xfec00010 0x8035
            set_irq_in $IOAPIC unnamed-gpio-in 5 1
            readl 0xfec00010
            # EOI of another vector changes nothing
            writel 0xfec00040 0x36
            readl 0xfec00010
            # EOI while the line is high: delivered again
            writel 0xfec00040 0x35
            readl 0xfec00010
            set_irq_in $IOAPIC unnamed-gpio-in 5 0
            writel 0xfec00040 0x35
            readl 0xfec00010
            # edge mode clears the remote IRR
            set_irq_in $IOAPIC unnamed-gpio-in 5 1
            readl 0xfec00010
            writel 0xfec00010 0x0035
            readl 0xfec00010
            writel 0xfec00010 0x8035
            readl 0xfec00010
            # a masked level pin remembers the request
            writel 0xfec00000 0x1c
            writel 0xfec00010 0x18036
            set_irq_in $IOAPIC unnamed-gpio-in 6 1
            readl 0xfec00010
            writel 0xfec00010 0x8036
            readl 0xfec00010
            # input 0 is pin 2
            writel 0xfec00000 0x14
            writel 0xfec00010 0x8030
            set_irq_in $IOAPIC unnamed-gpio-in 0 1
            readl 0xfec00010
            writel 0xfec00000 0x10
            readl 0xfec00010
            lapic_irr
            ",
        );
    }

    /// Which messages reach QEMU's local APIC 0, and with which vector and
    /// trigger mode, tells how entries become messages.
    #[test]
    fn messages_reach_the_local_apic_as_in_qemu() {
        // (destination byte, logical, delivery mode, level, vector)
        let entries: [(u64, bool, u64, bool, u64); 13] = [
            (0x00, false, 0, false, 0x40),
            (0x00, false, 1, true, 0x41),
            (0x01, false, 0, false, 0x42),
            (0xff, false, 0, true, 0x43),
            (0x01, true, 0, false, 0x44),
            (0xff, true, 1, false, 0x45),
            (0x00, false, 2, false, 0x46),
            (0x00, false, 4, false, 0x47),
            (0x00, false, 5, false, 0x48),
            (0x0f, false, 0, true, 0x49),
            // the reserved byte next to the destination goes in the address
            (0x00, false, 0, false, 0x14a),
            (0x02, false, 0, true, 0x24b),
            (0xff, false, 0, true, 0x34c),
        ];
        let mut script = Vec::new();
        for (i, &(dest, logical, mode, level, vector)) in entries.iter().enumerate() {
            let pin = i as u32 + 1;
            let reserved = vector >> 8;
            let entry = dest << 56
                | reserved << 48
                | u64::from(logical) << 11
                | mode << 8
                | u64::from(level) << 15
                | (vector & 0xff);
            script.extend(entry_writes(pin, entry));
            script.push(format!("set_irq_in {IOAPIC} unnamed-gpio-in {pin} 1"));
        }
        script.push("lapic_irr".to_string());
        // An edge entry switched to level: the trigger mode shows in TMR.
        script.extend(entry_writes(1, 0x8040));
        script.push(format!("set_irq_in {IOAPIC} unnamed-gpio-in 1 0"));
        script.push(format!("set_irq_in {IOAPIC} unnamed-gpio-in 1 1"));
        script.push("lapic_irr".to_string());
        assert_same_as_qemu(&script);
    }

    fn entry_writes(pin: u32, entry: u64) -> [String; 4] {
        let register = 0x10 + 2 * pin;
        [
            format!("writel 0xfec00000 {:#x}", register + 1),
            format!("writel 0xfec00010 {:#x}", entry >> 32),
            format!("writel 0xfec00000 {register:#x}"),
            format!("writel 0xfec00010 {:#x}", entry as u32),
        ]
    }

    #[test]
    fn random_register_and_pin_sequences_match_qemu() {
        for seed in 1..=4 {
            let mut rng = Random::new(seed);
            let mut script = Vec::new();
            for _ in 0..1500 {
                let pin = rng.below(24) as u32;
                let vector = 0x30 + rng.below(4);
                match rng.below(8) {
                    0 | 1 => {
                        let level = rng.below(2);
                        script.push(format!("set_irq_in {IOAPIC} unnamed-gpio-in {pin} {level}"));
                    }
                    2 => {
                        // level or edge, masked or not, a few vectors, with
                        // the read-only bits set at random
                        let flags = rng.below(8) << 14 | rng.below(2) << 12;
                        let dest = *rng.pick(&[0, 0, 1, 0xff]) << 56 | rng.below(2) << 11;
                        let mode = *rng.pick(&[0, 0, 1, 2, 4, 7]) << 8;
                        script.extend(entry_writes(pin, vector | flags | dest | mode));
                    }
                    3 if rng.below(20) == 0 => script.push("system_reset".to_string()),
                    3 => script.push(format!("writel 0xfec00040 {vector:#x}")),
                    4 => {
                        let register = rng.below(0x44);
                        script.push(format!("writel 0xfec00000 {register:#x}"));
                    }
                    5 => script.push(format!("writel 0xfec00010 {:#x}", rng.next() as u32)),
                    _ => {
                        let register = 0x10 + rng.below(48);
                        script.push(format!("writel 0xfec00000 {register:#x}"));
                        script.push("readl 0xfec00010".to_string());
                    }
                }
                if rng.below(100) == 0 {
                    script.push("lapic_irr".to_string());
                }
            }
            script.push("lapic_irr".to_string());
            assert_same_as_qemu(&script);
        }
    }

    #[test]
    fn messages_carry_destination_vector_mode_and_trigger() {
        let mut pc = ModelPc::new();
        // pin 9: level, logical destination 0x0f, lowest priority, vector 0x49
        for command in entry_writes(9, 0x0f00_0000_0000_0000 | 0x8000 | 0x800 | 0x100 | 0x49) {
            pc.command(&command);
        }
        // pin 4: edge, physical destination 3, NMI
        for command in entry_writes(4, 0x0300_0000_0000_0000 | 0x400 | 0x22) {
            pc.command(&command);
        }
        pc.command(&format!("set_irq_in {IOAPIC} unnamed-gpio-in 9 1"));
        pc.command(&format!("set_irq_in {IOAPIC} unnamed-gpio-in 4 1"));
        pc.command(&format!("set_irq_in {IOAPIC} unnamed-gpio-in 4 1"));
        pc.command(&format!("set_irq_in {IOAPIC} unnamed-gpio-in 9 1"));
        let messages = pc.messages.0.lock().unwrap().clone();
        // The level pin delivers once until EOI; every edge delivers.
        assert_eq!(
            messages,
            [
                MsiMessage {
                    address: 0xfee0_f004,
                    data: 0x8149
                },
                MsiMessage {
                    address: 0xfee0_3000,
                    data: 0x0422
                },
                MsiMessage {
                    address: 0xfee0_3000,
                    data: 0x0422
                },
            ]
        );
        let level = messages[0];
        assert_eq!(level.destination(), 0x0f);
        assert!(level.logical_destination());
        assert_eq!(level.vector(), 0x49);
        assert_eq!(level.delivery_mode(), 1);
        assert!(level.level_triggered());
        assert!(!messages[1].level_triggered());
        assert_eq!(messages[1].delivery_mode(), 4);
    }

    #[test]
    fn extint_pins_take_their_vector_from_the_pic() {
        let mut pc = ModelPc::new();
        for command in [
            format!("irq_intercept_out {MASTER_PIC}"),
            "outb 0x20 0x11".into(),
            "outb 0x21 0x20".into(),
            "outb 0x21 0x04".into(),
            "outb 0x21 0x01".into(),
            format!("set_irq_in {MASTER_PIC} unnamed-gpio-in 1 1"),
        ] {
            pc.command(&command);
        }
        for command in entry_writes(3, 0x700) {
            pc.command(&command);
        }
        pc.command(&format!("set_irq_in {IOAPIC} unnamed-gpio-in 3 1"));
        let messages = pc.messages.0.lock().unwrap().clone();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].vector(), 0x21);
        assert_eq!(messages[0].delivery_mode(), DELIVERY_MODE_EXTINT);
        // The PIC's IRQ 1 is now in service.
        assert_eq!(pc.command("outb 0x20 0x0b"), ["OK"]);
        assert_eq!(pc.command("inb 0x20"), ["OK 0x0002"]);
    }

    #[test]
    fn an_interrupt_storm_delays_the_redelivery_by_10ms() {
        let mut pc = ModelPc::new();
        for command in entry_writes(10, 0x8040) {
            pc.command(&command);
        }
        pc.command(&format!("set_irq_in {IOAPIC} unnamed-gpio-in 10 1"));
        for _ in 0..SUCCESSIVE_IRQ_MAX_COUNT {
            pc.command("writel 0xfec00040 0x40");
        }
        let delivered = pc.messages.0.lock().unwrap().len() as u32;
        assert_eq!(delivered, SUCCESSIVE_IRQ_MAX_COUNT);
        let now = pc.clock.now();
        let mut ioapic = lock(&pc.ioapic);
        assert_eq!(ioapic.next_deadline(), Some(now + INTERRUPT_STORM_DELAY));
        ioapic.on_timer(now + Duration::from_millis(9));
        assert_eq!(pc.messages.0.lock().unwrap().len() as u32, delivered);
        ioapic.on_timer(now + INTERRUPT_STORM_DELAY);
        assert_eq!(pc.messages.0.lock().unwrap().len() as u32, delivered + 1);
        assert_eq!(ioapic.next_deadline(), None);
    }
}

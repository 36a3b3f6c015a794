//! The PC's two cascaded 8259A programmable interrupt controllers, as QEMU
//! 7.2's userspace model (`hw/intc/i8259.c`): the master at ports
//! 0x20-0x21, the slave at 0xa0-0xa1 with its output on the master's input
//! 2, and their edge/level control registers (ELCR) at 0x4d0 and 0x4d1.
//!
//! `I8259` holds both chips; the machine shares it behind a mutex between
//! the I/O bus (through one `PicPorts` per register window), the interrupt
//! router (`set_irq`) and the CPU, which asks `interrupt_pending` and takes
//! the vector with `acknowledge` (the INTA cycle). The master's output, the
//! CPU's INTR pin, is an `InterruptLine` driven only when its level changes;
//! its owner must not lock the PICs from inside `set_level`.

use std::sync::{Arc, Mutex};

use crate::core::bus::{lock, read_bytewise, write_bytewise, BusDevice};
use crate::core::irq::InterruptLine;

/// The master's input the slave's output is wired to.
const CASCADE_IRQ: u8 = 2;

/// The register windows of the PIC pair on the I/O bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PicRegisters {
    /// Command and data ports of the master, 0x20-0x21.
    Master,
    /// Command and data ports of the slave, 0xa0-0xa1.
    Slave,
    /// The master's ELCR, 0x4d0.
    MasterElcr,
    /// The slave's ELCR, 0x4d1.
    SlaveElcr,
}

impl PicRegisters {
    pub const ALL: [PicRegisters; 4] = [
        PicRegisters::Master,
        PicRegisters::Slave,
        PicRegisters::MasterElcr,
        PicRegisters::SlaveElcr,
    ];

    /// First I/O port of the window.
    pub fn base(self) -> u16 {
        match self {
            PicRegisters::Master => 0x20,
            PicRegisters::Slave => 0xa0,
            PicRegisters::MasterElcr => 0x4d0,
            PicRegisters::SlaveElcr => 0x4d1,
        }
    }

    /// Bytes of I/O space the window decodes.
    pub fn size(self) -> u64 {
        match self {
            PicRegisters::Master | PicRegisters::Slave => 2,
            PicRegisters::MasterElcr | PicRegisters::SlaveElcr => 1,
        }
    }

    /// QEMU's name for the window's memory region.
    pub fn region_name(self) -> &'static str {
        match self {
            PicRegisters::Master | PicRegisters::Slave => "pic",
            PicRegisters::MasterElcr | PicRegisters::SlaveElcr => "elcr",
        }
    }

    fn chip(self) -> usize {
        match self {
            PicRegisters::Master | PicRegisters::MasterElcr => MASTER,
            PicRegisters::Slave | PicRegisters::SlaveElcr => SLAVE,
        }
    }
}

const MASTER: usize = 0;
const SLAVE: usize = 1;

/// Where the initialisation sequence stands: which ICW the data port takes
/// next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum InitState {
    #[default]
    Ready,
    Icw2,
    Icw3,
    Icw4,
}

/// One 8259A.
#[derive(Debug, Default)]
struct Pic {
    is_master: bool,
    /// Inputs the ELCR may make level-triggered (on the PC, IRQs 0, 1 and 2
    /// of the master and 8 and 13 of the slave stay edge-triggered).
    elcr_mask: u8,
    elcr: u8,
    /// Input levels as last seen, for edge detection.
    last_irr: u8,
    irr: u8,
    imr: u8,
    isr: u8,
    /// The input that has the highest priority is `priority_add`; the others
    /// follow it in rotating order.
    priority_add: u8,
    irq_base: u8,
    read_isr: bool,
    poll: bool,
    special_mask: bool,
    init_state: InitState,
    auto_eoi: bool,
    rotate_on_auto_eoi: bool,
    special_fully_nested_mode: bool,
    init4: bool,
    single_mode: bool,
}

impl Pic {
    fn new(is_master: bool) -> Self {
        Self {
            is_master,
            elcr_mask: if is_master { 0xf8 } else { 0xde },
            ..Self::default()
        }
    }

    /// What ICW1 and a machine reset clear; the ELCR is kept.
    fn init_reset(&mut self) {
        *self = Self {
            is_master: self.is_master,
            elcr_mask: self.elcr_mask,
            elcr: self.elcr,
            irr: self.irr & self.elcr,
            ..Self::default()
        };
    }

    /// The priority (0 = highest) of the highest-priority input in `mask`;
    /// 8 when `mask` is empty.
    fn priority(&self, mask: u8) -> u8 {
        (0..8)
            .find(|p| mask & (1 << ((p + self.priority_add) & 7)) != 0)
            .unwrap_or(8)
    }

    /// The input this chip asks the CPU to serve, if any: the highest
    /// priority unmasked request above everything in service.
    fn pending_irq(&self) -> Option<u8> {
        let priority = self.priority(self.irr & !self.imr);
        if priority == 8 {
            return None;
        }
        let mut in_service = self.isr;
        if self.special_mask {
            in_service &= !self.imr;
        }
        // In special fully nested mode, the master lets a slave interrupt
        // through while another one from the slave is in service.
        if self.special_fully_nested_mode && self.is_master {
            in_service &= !(1 << CASCADE_IRQ);
        }
        (priority < self.priority(in_service)).then_some((priority + self.priority_add) & 7)
    }

    fn output(&self) -> bool {
        self.pending_irq().is_some()
    }

    fn set_input(&mut self, irq: u8, level: bool) {
        let mask = 1 << irq;
        if self.elcr & mask != 0 {
            if level {
                self.irr |= mask;
                self.last_irr |= mask;
            } else {
                self.irr &= !mask;
                self.last_irr &= !mask;
            }
        } else if level {
            if self.last_irr & mask == 0 {
                self.irr |= mask;
            }
            self.last_irr |= mask;
        } else {
            self.last_irr &= !mask;
        }
    }

    /// The CPU (or a poll) took interrupt `irq`: mark it in service unless
    /// in auto-EOI mode; a level-triggered request stays pending.
    fn intack(&mut self, irq: u8) {
        if self.auto_eoi {
            if self.rotate_on_auto_eoi {
                self.priority_add = (irq + 1) & 7;
            }
        } else {
            self.isr |= 1 << irq;
        }
        if self.elcr & (1 << irq) == 0 {
            self.irr &= !(1 << irq);
        }
    }

    /// A write to the command port (ICW1, OCW2 or OCW3). Returns whether
    /// the output is to be re-evaluated: QEMU does so after ICW1 and after
    /// OCW2 commands that touch the ISR or the priorities, but not after
    /// OCW3, so a special mask change shows at the next event.
    fn write_command(&mut self, value: u8) -> bool {
        if value & 0x10 != 0 {
            // ICW1. Bit 3 (level-triggered mode) is ignored, as QEMU does:
            // triggering is set per input through the ELCR.
            self.init_reset();
            self.init_state = InitState::Icw2;
            self.init4 = value & 0x01 != 0;
            self.single_mode = value & 0x02 != 0;
            true
        } else if value & 0x08 != 0 {
            // OCW3
            if value & 0x04 != 0 {
                self.poll = true;
            }
            if value & 0x02 != 0 {
                self.read_isr = value & 0x01 != 0;
            }
            if value & 0x40 != 0 {
                self.special_mask = value & 0x20 != 0;
            }
            false
        } else {
            self.write_ocw2(value)
        }
    }

    fn write_ocw2(&mut self, value: u8) -> bool {
        match value >> 5 {
            // Clear / set rotate in auto-EOI mode.
            0 | 4 => {
                self.rotate_on_auto_eoi = value >> 7 != 0;
                false
            }
            // Non-specific EOI, and rotate on non-specific EOI.
            command @ (1 | 5) => {
                let priority = self.priority(self.isr);
                if priority != 8 {
                    let irq = (priority + self.priority_add) & 7;
                    self.isr &= !(1 << irq);
                    if command == 5 {
                        self.priority_add = (irq + 1) & 7;
                    }
                }
                priority != 8
            }
            // Specific EOI.
            3 => {
                self.isr &= !(1 << (value & 7));
                true
            }
            // Set priority: the given input becomes the lowest.
            6 => {
                self.priority_add = (value + 1) & 7;
                true
            }
            // Rotate on specific EOI.
            7 => {
                let irq = value & 7;
                self.isr &= !(1 << irq);
                self.priority_add = (irq + 1) & 7;
                true
            }
            // 2: no operation.
            _ => false,
        }
    }

    /// A write to the data port: OCW1 (the mask), or the next ICW. Returns
    /// whether the output is to be re-evaluated (after a mask change only).
    fn write_data(&mut self, value: u8) -> bool {
        match self.init_state {
            InitState::Ready => {
                self.imr = value;
                return true;
            }
            InitState::Icw2 => {
                self.irq_base = value & 0xf8;
                self.init_state = match (self.single_mode, self.init4) {
                    (false, _) => InitState::Icw3,
                    (true, true) => InitState::Icw4,
                    (true, false) => InitState::Ready,
                };
            }
            // The cascade wiring is fixed; ICW3's value does not matter.
            InitState::Icw3 => {
                self.init_state = if self.init4 {
                    InitState::Icw4
                } else {
                    InitState::Ready
                };
            }
            InitState::Icw4 => {
                self.special_fully_nested_mode = value & 0x10 != 0;
                self.auto_eoi = value & 0x02 != 0;
                self.init_state = InitState::Ready;
            }
        }
        false
    }

    /// A read of the command (`offset` 0) or data port: the poll result
    /// after a poll command, else IRR or ISR, or the mask. The flag tells
    /// whether a poll acknowledged an interrupt.
    fn read(&mut self, offset: u64) -> (u8, bool) {
        if self.poll {
            self.poll = false;
            return match self.pending_irq() {
                Some(irq) => {
                    self.intack(irq);
                    (irq | 0x80, true)
                }
                None => (0, false),
            };
        }
        let value = match (offset, self.read_isr) {
            (0, true) => self.isr,
            (0, false) => self.irr,
            _ => self.imr,
        };
        (value, false)
    }
}

/// The master and slave 8259A and the CPU's INTR line they drive.
pub struct I8259 {
    chips: [Pic; 2],
    intr: Arc<dyn InterruptLine>,
    intr_level: bool,
}

impl I8259 {
    /// Both chips in their power-on state, the master's output on `intr`.
    pub fn new(intr: Arc<dyn InterruptLine>) -> Self {
        Self {
            chips: [Pic::new(true), Pic::new(false)],
            intr,
            intr_level: false,
        }
    }

    /// Drive ISA interrupt line `irq` (0-7 on the master, 8-15 on the
    /// slave); other numbers are ignored.
    pub fn set_irq(&mut self, irq: u8, level: bool) {
        match irq {
            0..=7 => {
                self.chips[MASTER].set_input(irq, level);
                self.update_master();
            }
            8..=15 => {
                self.chips[SLAVE].set_input(irq - 8, level);
                self.update_slave();
            }
            _ => {}
        }
    }

    /// Whether the master asks the CPU for an interrupt (its INTR output).
    pub fn interrupt_pending(&self) -> bool {
        self.chips[MASTER].output()
    }

    /// The CPU's interrupt acknowledge: the vector of the interrupt to serve,
    /// which is then in service. Without a request, the chip answers with
    /// its IRQ 7 (a spurious interrupt), as the real part does.
    pub fn acknowledge(&mut self) -> u8 {
        let Some(irq) = self.chips[MASTER].pending_irq() else {
            return self.chips[MASTER].irq_base.wrapping_add(7);
        };
        let vector = if irq == CASCADE_IRQ {
            let slave_irq = match self.chips[SLAVE].pending_irq() {
                Some(slave_irq) => {
                    self.chips[SLAVE].intack(slave_irq);
                    self.update_slave();
                    slave_irq
                }
                // Spurious on the slave.
                None => 7,
            };
            self.chips[SLAVE].irq_base.wrapping_add(slave_irq)
        } else {
            self.chips[MASTER].irq_base.wrapping_add(irq)
        };
        self.chips[MASTER].intack(irq);
        self.update_master();
        vector
    }

    /// Put both chips in their power-on state (ELCRs cleared).
    pub fn reset(&mut self) {
        self.reset_chip(SLAVE);
        self.reset_chip(MASTER);
    }

    fn reset_chip(&mut self, chip: usize) {
        self.chips[chip].elcr = 0;
        self.chips[chip].init_reset();
        self.update(chip);
    }

    fn update(&mut self, chip: usize) {
        if chip == SLAVE {
            self.update_slave();
        } else {
            self.update_master();
        }
    }

    /// Pass the slave's output on to the master's cascade input.
    fn update_slave(&mut self) {
        let level = self.chips[SLAVE].output();
        self.chips[MASTER].set_input(CASCADE_IRQ, level);
        self.update_master();
    }

    fn update_master(&mut self) {
        let level = self.chips[MASTER].output();
        if level != self.intr_level {
            self.intr_level = level;
            self.intr.set_level(level);
        }
    }

    fn read_register(&mut self, registers: PicRegisters, offset: u64) -> u8 {
        let chip = registers.chip();
        match registers {
            PicRegisters::Master | PicRegisters::Slave => {
                let (value, acknowledged) = self.chips[chip].read(offset);
                if acknowledged {
                    self.update(chip);
                }
                value
            }
            PicRegisters::MasterElcr | PicRegisters::SlaveElcr => self.chips[chip].elcr,
        }
    }

    fn write_register(&mut self, registers: PicRegisters, offset: u64, value: u8) {
        let chip = registers.chip();
        match registers {
            PicRegisters::Master | PicRegisters::Slave => {
                let reevaluate = if offset == 0 {
                    self.chips[chip].write_command(value)
                } else {
                    self.chips[chip].write_data(value)
                };
                if reevaluate {
                    self.update(chip);
                }
            }
            PicRegisters::MasterElcr | PicRegisters::SlaveElcr => {
                let pic = &mut self.chips[chip];
                pic.elcr = value & pic.elcr_mask;
            }
        }
    }
}

/// One register window of the PIC pair, as a device on the I/O bus. Wider
/// accesses are split into bytes, as QEMU does.
pub struct PicPorts {
    pics: Arc<Mutex<I8259>>,
    registers: PicRegisters,
}

impl PicPorts {
    pub fn new(pics: Arc<Mutex<I8259>>, registers: PicRegisters) -> Self {
        Self { pics, registers }
    }
}

impl BusDevice for PicPorts {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let mut pics = lock(&self.pics);
        read_bytewise(offset, data, |o| pics.read_register(self.registers, o));
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let mut pics = lock(&self.pics);
        write_bytewise(offset, data, |o, v| {
            pics.write_register(self.registers, o, v)
        });
    }

    /// Each chip is reset through its command window, as each is a device
    /// of its own in QEMU.
    fn reset(&mut self) {
        match self.registers {
            PicRegisters::Master | PicRegisters::Slave => {
                lock(&self.pics).reset_chip(self.registers.chip());
            }
            PicRegisters::MasterElcr | PicRegisters::SlaveElcr => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::RecordingLine;
    use crate::intc::qtest::{assert_same_as_qemu, assert_script_same_as_qemu, Random};
    use crate::intc::qtest::{IOAPIC, MASTER_PIC, SLAVE_PIC};

    /// The initialisation sequence PC firmware and Linux use: vectors 0x08
    /// and 0x70, slave on IRQ 2, 8086 mode.
    const PC_INIT: &str = "
        outb 0x20 0x11
        outb 0x21 0x08
        outb 0x21 0x04
        outb 0x21 0x01
        outb 0xa0 0x11
        outb 0xa1 0x70
        outb 0xa1 0x02
        outb 0xa1 0x01
    ";

    #[test]
    fn power_on_registers_and_elcr_masks_match_qemu() {
        assert_script_same_as_qemu(
            "
            inb 0x20
            inb 0x21
            inb 0xa0
            inb 0xa1
            inb 0x4d0
            inb 0x4d1
            outb 0x4d0 0xff
            outb 0x4d1 0xff
            inb 0x4d0
            inb 0x4d1
            inw 0x20
            outb 0x21 0x5a
            inb 0x21
            outb 0x20 0x0b
            inb 0x20
            inb 0x21
            ",
        );
    }

    #[test]
    fn edge_requests_poll_and_eoi_match_qemu() {
        assert_script_same_as_qemu(&format!(
            "irq_intercept_out $MASTER
            {PC_INIT}
            set_irq_in $MASTER unnamed-gpio-in 4 1
            set_irq_in $MASTER unnamed-gpio-in 3 1
            inb 0x20
            # poll: IRQ 3 first, then ISR and IRR
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x0b
            inb 0x20
            outb 0x20 0x0a
            inb 0x20
            # a line held high raises no second request
            set_irq_in $MASTER unnamed-gpio-in 3 0
            set_irq_in $MASTER unnamed-gpio-in 3 1
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x20
            outb 0x20 0x0b
            inb 0x20
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x63
            outb 0x20 0x64
            inb 0x20
            "
        ));
    }

    #[test]
    fn cascade_level_triggering_and_masks_match_qemu() {
        assert_script_same_as_qemu(&format!(
            "irq_intercept_out $MASTER
            {PC_INIT}
            outb 0x4d1 0x0e
            set_irq_in $SLAVE unnamed-gpio-in 3 1
            outb 0xa0 0x0a
            inb 0xa0
            inb 0x20
            outb 0x21 0x04
            outb 0x21 0x00
            outb 0x20 0x0c
            inb 0x20
            outb 0xa0 0x0c
            inb 0xa0
            # level-triggered: still requested after the acknowledge
            inb 0xa0
            outb 0xa0 0x20
            outb 0x20 0x20
            set_irq_in $SLAVE unnamed-gpio-in 3 0
            inb 0xa0
            inb 0x20
            outb 0xa1 0xff
            set_irq_in $SLAVE unnamed-gpio-in 0 1
            set_irq_in $SLAVE unnamed-gpio-in 0 0
            inb 0xa0
            outb 0xa1 0x00
            outb 0xa0 0x0c
            inb 0xa0
            "
        ));
    }

    #[test]
    fn rotation_special_mask_auto_eoi_and_short_init_match_qemu() {
        assert_script_same_as_qemu(&format!(
            "irq_intercept_out $MASTER
            {PC_INIT}
            # set priority: IRQ 5 lowest, so 6 beats 1
            outb 0x20 0xc5
            set_irq_in $MASTER unnamed-gpio-in 1 1
            set_irq_in $MASTER unnamed-gpio-in 6 1
            outb 0x20 0x0c
            inb 0x20
            # rotate on non-specific EOI
            outb 0x20 0xa0
            outb 0x20 0x0c
            inb 0x20
            # special mask mode: an input masked while in service no longer
            # blocks lower priorities
            set_irq_in $MASTER unnamed-gpio-in 4 1
            outb 0x20 0x0b
            inb 0x20
            outb 0x21 0x02
            outb 0x20 0x68
            outb 0x21 0x00
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x48
            outb 0x20 0x0b
            inb 0x20
            # single mode without ICW4, then auto-EOI with rotation
            outb 0x20 0x12
            outb 0x21 0x20
            inb 0x21
            outb 0x20 0x13
            outb 0x21 0x20
            outb 0x21 0x03
            outb 0x20 0x80
            set_irq_in $MASTER unnamed-gpio-in 2 1
            set_irq_in $MASTER unnamed-gpio-in 7 1
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x0b
            inb 0x20
            # ICW1 with the level-triggered bit, then the mask port mid-init
            outb 0x20 0x19
            inb 0x21
            outb 0x21 0x30
            inb 0x21
            outb 0x21 0xff
            inb 0x21
            "
        ));
    }

    #[test]
    fn special_fully_nested_mode_matches_qemu() {
        assert_script_same_as_qemu(
            "irq_intercept_out $MASTER
            outb 0x20 0x11
            outb 0x21 0x08
            outb 0x21 0x04
            outb 0x21 0x11
            outb 0xa0 0x11
            outb 0xa1 0x70
            outb 0xa1 0x02
            outb 0xa1 0x01
            set_irq_in $SLAVE unnamed-gpio-in 5 1
            outb 0x20 0x0c
            inb 0x20
            outb 0xa0 0x0c
            inb 0xa0
            # a higher-priority slave request gets through the cascade
            # input in service
            set_irq_in $SLAVE unnamed-gpio-in 1 1
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x0b
            inb 0x20
            ",
        );
    }

    /// QEMU's IOAPIC takes the vector of an ExtINT pin from the PICs'
    /// interrupt acknowledge and passes it to the local APIC, whose IRR
    /// shows it: the one way to see an INTA cycle through qtest.
    const EXTINT_PIN_5: &str = "
        writel 0xfec00000 0x1a
        writel 0xfec00010 0x700
    ";
    const INTA: &str = "
        set_irq_in $IOAPIC unnamed-gpio-in 5 1
        set_irq_in $IOAPIC unnamed-gpio-in 5 0
    ";

    #[test]
    fn interrupt_acknowledge_matches_qemu() {
        assert_script_same_as_qemu(&format!(
            "irq_intercept_out $MASTER
            {PC_INIT}
            {EXTINT_PIN_5}
            # spurious: IRQ 7's vector, nothing in service
            {INTA}
            lapic_irr
            outb 0x20 0x0b
            inb 0x20
            set_irq_in $MASTER unnamed-gpio-in 1 1
            set_irq_in $SLAVE unnamed-gpio-in 4 1
            {INTA}
            lapic_irr
            inb 0x20
            outb 0x20 0x20
            {INTA}
            lapic_irr
            inb 0x20
            outb 0xa0 0x0b
            inb 0xa0
            # spurious on the slave: the cascade input alone
            outb 0xa0 0x20
            outb 0x20 0x20
            set_irq_in $MASTER unnamed-gpio-in 2 0
            set_irq_in $MASTER unnamed-gpio-in 2 1
            outb 0x21 0xfb
            {INTA}
            lapic_irr
            inb 0x20
            "
        ));
    }

    /// Random commands on both chips, their ELCRs and their input lines,
    /// and interrupt acknowledges.
    #[test]
    fn random_command_sequences_match_qemu() {
        for seed in 1..=4 {
            let mut rng = Random::new(seed);
            let mut script = vec![format!("irq_intercept_out {MASTER_PIC}")];
            script.extend(
                EXTINT_PIN_5
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .chunks(3)
                    .map(|c| c.join(" ")),
            );
            for _ in 0..1500 {
                let port = *rng.pick(&[0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1]);
                let command = match rng.below(10) {
                    0..=2 => {
                        let path = *rng.pick(&[MASTER_PIC, SLAVE_PIC]);
                        let (line, level) = (rng.below(8), rng.below(2));
                        format!("set_irq_in {path} unnamed-gpio-in {line} {level}")
                    }
                    3 if rng.below(4) == 0 => {
                        script.push(format!("set_irq_in {IOAPIC} unnamed-gpio-in 5 1"));
                        script.push(format!("set_irq_in {IOAPIC} unnamed-gpio-in 5 0"));
                        "lapic_irr".to_string()
                    }
                    3 if rng.below(20) == 0 => "system_reset".to_string(),
                    3..=5 => format!("inb {port:#x}"),
                    6 => {
                        // OCW2 or OCW3 on a command port
                        let port = *rng.pick(&[0x20, 0xa0]);
                        let ocw = *rng.pick(&[0x00, 0x08]) | (rng.below(256) as u8 & 0xe7);
                        format!("outb {port:#x} {ocw:#x}")
                    }
                    7 => {
                        // the OCW3s that select a register or poll
                        let port = *rng.pick(&[0x20, 0xa0]);
                        let ocw3 = *rng.pick(&[0x0a, 0x0b, 0x0c, 0x0e, 0x48, 0x68]);
                        format!("outb {port:#x} {ocw3:#x}")
                    }
                    _ => format!("outb {port:#x} {:#x}", rng.below(256)),
                };
                script.push(command);
            }
            assert_same_as_qemu(&script);
        }
    }

    fn initialised() -> (I8259, Arc<RecordingLine>) {
        let intr = Arc::new(RecordingLine::default());
        let mut pics = I8259::new(intr.clone());
        for line in PC_INIT.lines().filter(|l| !l.trim().is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let port = u16::from_str_radix(&words[1][2..], 16).unwrap();
            let value = u8::from_str_radix(&words[2][2..], 16).unwrap();
            let registers = if port == 0x20 || port == 0x21 {
                PicRegisters::Master
            } else {
                PicRegisters::Slave
            };
            pics.write_register(registers, u64::from(port & 1), value);
        }
        (pics, intr)
    }

    #[test]
    fn acknowledge_returns_vectors_through_the_cascade() {
        let (mut pics, intr) = initialised();
        pics.set_irq(1, true);
        pics.set_irq(12, true);
        assert!(intr.level());
        // IRQ 1 has the higher priority; the slave's IRQ 12 comes next
        // through the cascade input with vector 0x70 + 4.
        assert_eq!(pics.acknowledge(), 0x09);
        assert!(!intr.level(), "IRQ 1 in service blocks the cascade input");
        pics.write_register(PicRegisters::Master, 0, 0x20);
        assert!(pics.interrupt_pending());
        assert_eq!(pics.acknowledge(), 0x74);
        assert!(!pics.interrupt_pending());
        assert_eq!(pics.chips[SLAVE].isr, 0x10);
        assert_eq!(pics.chips[MASTER].isr, 0x04);
    }

    #[test]
    fn acknowledge_without_a_request_is_spurious_irq7() {
        let (mut pics, _) = initialised();
        assert_eq!(pics.acknowledge(), 0x0f);
        assert_eq!(pics.chips[MASTER].isr, 0);
        // The cascade input raised directly, with nothing on the slave: the
        // slave's spurious vector.
        pics.set_irq(2, true);
        assert_eq!(pics.acknowledge(), 0x77);
        assert_eq!(pics.chips[MASTER].isr, 0x04);
    }

    #[test]
    fn icw1_keeps_level_requests_and_reset_clears_all_with_the_elcr() {
        let (mut pics, intr) = initialised();
        pics.write_register(PicRegisters::MasterElcr, 0, 0x08);
        pics.set_irq(3, true);
        pics.set_irq(4, true);
        assert!(intr.level());
        pics.write_register(PicRegisters::Master, 0, 0x11);
        assert_eq!(pics.chips[MASTER].irr, 0x08);
        assert_eq!(pics.chips[MASTER].irq_base, 0);
        assert!(intr.level(), "IMR cleared: the level request shows");
        pics.reset();
        assert!(!intr.level());
        assert_eq!(pics.chips[MASTER].elcr, 0);
        assert_eq!(pics.chips[MASTER].irr, 0);
    }
}

//! The 8254 programmable interval timer at ports 0x40-0x43 and the PC
//! speaker port 0x61 that gates its channel 2, as QEMU 7.2's userspace
//! models (`hw/timer/i8254.c`, `hw/audio/pcspk.c`).
//!
//! The counters are not ticked: as in QEMU, each channel remembers when its
//! count was loaded and computes the counter and its output from the time
//! elapsed at 1.193182 MHz. Channel 0's output drives IRQ 0; the device
//! follows `TimedDevice` for the moments that output changes. Channel 2's
//! gate and output are seen through port 0x61 (`SpeakerPort`). As in QEMU,
//! BCD counting is only recorded (the status byte shows it) and the counter
//! counts in binary; the null-count status bit is always clear.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::bus::{lock, read_bytewise, write_bytewise, BusDevice};
use crate::core::clock::{Clock, TimedDevice};
use crate::core::irq::InterruptLine;

/// I/O port of channel 0 (channels 1, 2 and the control word follow).
pub const PIT_IOBASE: u16 = 0x40;
/// Bytes of I/O space the PIT decodes.
pub const PIT_IO_SIZE: u64 = 4;
/// ISA interrupt line of channel 0.
pub const PIT_IRQ: u8 = 0;
/// I/O port of the speaker / channel 2 gate.
pub const SPEAKER_IOBASE: u16 = 0x61;
/// Bytes of I/O space the speaker port decodes.
pub const SPEAKER_IO_SIZE: u64 = 1;

/// The PIT's input clock, Hz.
pub const PIT_FREQ: u64 = 1_193_182;
const NANOSECONDS_PER_SECOND: u64 = 1_000_000_000;

/// How the 16-bit counter is accessed through its byte-wide port, and for
/// a word, which byte comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Access {
    /// The state of a channel never programmed: behaves as `Lsb`, but
    /// reads 0 as access mode in the status byte.
    #[default]
    Unset,
    Lsb,
    Msb,
    WordLow,
    WordHigh,
}

impl Access {
    fn from_bits(bits: u8) -> Self {
        match bits {
            1 => Access::Lsb,
            2 => Access::Msb,
            _ => Access::WordLow,
        }
    }

    /// The value of the control word's RW field.
    fn bits(self) -> u8 {
        match self {
            Access::Unset => 0,
            Access::Lsb => 1,
            Access::Msb => 2,
            Access::WordLow | Access::WordHigh => 3,
        }
    }
}

#[derive(Debug, Default)]
struct Channel {
    /// Initial count; 0 is loaded as 0x10000.
    count: u32,
    count_load_time: i64,
    mode: u8,
    bcd: bool,
    gate: bool,
    /// RW mode of the last control word.
    rw_mode: Access,
    read_state: Access,
    write_state: Access,
    /// Low byte of a word write, waiting for the high byte.
    write_latch: u8,
    latched_count: u16,
    /// Bytes of `latched_count` still to read (as an access mode), if
    /// latched.
    count_latched: Option<Access>,
    status: u8,
    status_latched: bool,
}

/// Input clock ticks in `ns` nanoseconds, rounded down (QEMU's muldiv64).
fn ticks(ns: i64) -> u64 {
    let ns = u64::try_from(ns).unwrap_or(0);
    (u128::from(ns) * u128::from(PIT_FREQ) / u128::from(NANOSECONDS_PER_SECOND)) as u64
}

/// Nanoseconds of `ticks` input clock ticks, rounded down.
fn ticks_to_ns(ticks: u64) -> i64 {
    let ns = u128::from(ticks) * u128::from(NANOSECONDS_PER_SECOND) / u128::from(PIT_FREQ);
    i64::try_from(ns).unwrap_or(i64::MAX)
}

impl Channel {
    /// Power-on state: mode 3, full count, gate high except on channel 2.
    fn reset(&mut self, gate: bool, now: i64) {
        self.mode = 3;
        self.gate = gate;
        self.count_load_time = now;
        self.count = 0x10000;
    }

    fn elapsed_ticks(&self, now: i64) -> u64 {
        ticks(now.saturating_sub(self.count_load_time))
    }

    /// The counter as it reads at `now`.
    fn counter(&self, now: i64) -> u32 {
        let d = self.elapsed_ticks(now);
        let count = u64::from(self.count);
        let value = match self.mode {
            0 | 1 | 4 | 5 => count.wrapping_sub(d) & 0xffff,
            // Square wave: the counter runs down by two each tick.
            3 => count - (2 * d) % count,
            _ => count - d % count,
        };
        value as u32
    }

    /// The OUT pin at `now`.
    fn out(&self, now: i64) -> bool {
        let d = self.elapsed_ticks(now);
        let count = u64::from(self.count);
        match self.mode {
            1 => d < count,
            2 => d.is_multiple_of(count) && d != 0,
            3 => d % count < (count + 1) >> 1,
            4 | 5 => d == count,
            _ => d >= count,
        }
    }

    /// When OUT next changes after `now`, if it ever does.
    fn next_transition(&self, now: i64) -> Option<i64> {
        let d = self.elapsed_ticks(now);
        let count = u64::from(self.count);
        let next_tick = match self.mode {
            2 => {
                let base = d - d % count;
                if d == base && d != 0 {
                    base + count
                } else {
                    base + count + 1
                }
            }
            3 => {
                let base = d - d % count;
                let half = (count + 1) >> 1;
                if d - base < half {
                    base + half
                } else {
                    base + count
                }
            }
            4 | 5 => {
                if d < count {
                    count
                } else if d == count {
                    count + 1
                } else {
                    return None;
                }
            }
            _ => {
                if d < count {
                    count
                } else {
                    return None;
                }
            }
        };
        let next = self.count_load_time.saturating_add(ticks_to_ns(next_tick));
        // Rounding can put the transition at or before now.
        Some(next.max(now + 1))
    }

    fn latch_count(&mut self, now: i64) {
        if self.count_latched.is_none() {
            self.latched_count = self.counter(now) as u16;
            // A channel never programmed has no access mode to read the
            // latch by, and stays unlatched.
            self.count_latched = (self.rw_mode != Access::Unset).then_some(self.rw_mode);
        }
    }

    fn read(&mut self, now: i64) -> u8 {
        if self.status_latched {
            self.status_latched = false;
            return self.status;
        }
        if let Some(latched) = self.count_latched {
            let [low, high] = self.latched_count.to_le_bytes();
            return match latched {
                Access::Msb => {
                    self.count_latched = None;
                    high
                }
                Access::WordLow => {
                    self.count_latched = Some(Access::Msb);
                    low
                }
                _ => {
                    self.count_latched = None;
                    low
                }
            };
        }
        let count = self.counter(now);
        let [low, high, ..] = count.to_le_bytes();
        match self.read_state {
            Access::Msb => high,
            Access::WordLow => {
                self.read_state = Access::WordHigh;
                low
            }
            Access::WordHigh => {
                self.read_state = Access::WordLow;
                high
            }
            Access::Unset | Access::Lsb => low,
        }
    }

    /// A byte written to the counter port; the new count when it completes
    /// one.
    fn write(&mut self, value: u8) -> Option<u32> {
        let value = u32::from(value);
        match self.write_state {
            Access::Msb => Some(value << 8),
            Access::WordLow => {
                self.write_latch = value as u8;
                self.write_state = Access::WordHigh;
                None
            }
            Access::WordHigh => {
                self.write_state = Access::WordLow;
                Some(u32::from(self.write_latch) | value << 8)
            }
            Access::Unset | Access::Lsb => Some(value),
        }
    }
}

pub struct I8254 {
    channels: [Channel; 3],
    clock: Arc<dyn Clock>,
    irq: Arc<dyn InterruptLine>,
    /// Channel 0's interrupt is off while an HPET in legacy mode replaces
    /// it.
    irq_disabled: bool,
    /// When channel 0's output next changes, if the timer runs.
    next_transition: Option<i64>,
}

impl I8254 {
    /// A PIT in its power-on state; channel 0's output goes to `irq`.
    pub fn new(irq: Arc<dyn InterruptLine>, clock: Arc<dyn Clock>) -> Self {
        let mut pit = Self {
            channels: Default::default(),
            clock,
            irq,
            irq_disabled: false,
            next_transition: None,
        };
        pit.reset();
        pit
    }

    /// Put the counters in their power-on state. As in QEMU, the latches
    /// and access modes survive, and IRQ 0 is not driven until channel 0's
    /// first transition.
    pub fn reset(&mut self) {
        let now = self.now();
        for (i, channel) in self.channels.iter_mut().enumerate() {
            channel.reset(i != 2, now);
        }
        if !self.irq_disabled {
            self.next_transition = self.channels[0].next_transition(now);
        }
    }

    /// Channel `channel`'s gate (only channel 2's is wired, to port 0x61).
    /// A rising edge restarts counting in modes 1, 2, 3 and 5.
    pub fn set_gate(&mut self, channel: usize, gate: bool) {
        let now = self.now();
        let Some(c) = self.channels.get_mut(channel) else {
            return;
        };
        if matches!(c.mode, 1 | 2 | 3 | 5) && !c.gate && gate {
            c.count_load_time = now;
            self.irq_timer_update(channel, now);
        }
        self.channels[channel].gate = gate;
    }

    /// Channel `channel`'s gate and OUT pin now; `None` past channel 2.
    pub fn gate_and_out(&self, channel: usize) -> Option<(bool, bool)> {
        let c = self.channels.get(channel)?;
        Some((c.gate, c.out(self.now())))
    }

    /// Stop or restart channel 0's interrupt (what an HPET in legacy
    /// replacement mode does).
    pub fn set_irq_enabled(&mut self, enabled: bool) {
        self.irq_disabled = !enabled;
        if enabled {
            let now = self.now();
            self.irq_timer_update(0, now);
        } else {
            self.next_transition = None;
        }
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now().as_nanos()).unwrap_or(i64::MAX)
    }

    /// Drive IRQ 0 from channel 0's output at `time` and plan the next
    /// change. Other channels have no interrupt.
    fn irq_timer_update(&mut self, channel: usize, time: i64) {
        if channel != 0 || self.irq_disabled {
            return;
        }
        let c = &self.channels[0];
        self.next_transition = c.next_transition(time);
        self.irq.set_level(c.out(time));
    }

    fn load_count(&mut self, channel: usize, count: u32) {
        let now = self.now();
        let c = &mut self.channels[channel];
        c.count = if count == 0 { 0x10000 } else { count };
        c.count_load_time = now;
        self.irq_timer_update(channel, now);
    }

    fn write_control(&mut self, value: u8) {
        let now = self.now();
        let select = value >> 6;
        if select == 3 {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches
            // status, of the channels in bits 1-3.
            for (i, c) in self.channels.iter_mut().enumerate() {
                if value & (2 << i) == 0 {
                    continue;
                }
                if value & 0x20 == 0 {
                    c.latch_count(now);
                }
                if value & 0x10 == 0 && !c.status_latched {
                    c.status = u8::from(c.out(now)) << 7
                        | c.rw_mode.bits() << 4
                        | c.mode << 1
                        | u8::from(c.bcd);
                    c.status_latched = true;
                }
            }
            return;
        }
        let c = &mut self.channels[usize::from(select)];
        let access = (value >> 4) & 3;
        if access == 0 {
            c.latch_count(now);
        } else {
            let access = Access::from_bits(access);
            c.rw_mode = access;
            c.read_state = access;
            c.write_state = access;
            // Modes 6 and 7 are kept as written; they count as 2 and 3 do
            // on the real part, and as modes 2 and 0 in QEMU's arithmetic.
            c.mode = (value >> 1) & 7;
            c.bcd = value & 1 != 0;
        }
    }

    fn read_port(&mut self, offset: u64) -> u8 {
        let now = self.now();
        match offset & 3 {
            // The control word register cannot be read.
            3 => 0,
            channel => self.channels[channel as usize].read(now),
        }
    }

    fn write_port(&mut self, offset: u64, value: u8) {
        match offset & 3 {
            3 => self.write_control(value),
            channel => {
                let channel = channel as usize;
                if let Some(count) = self.channels[channel].write(value) {
                    self.load_count(channel, count);
                }
            }
        }
    }
}

impl BusDevice for I8254 {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_bytewise(offset, data, |o| self.read_port(o));
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_bytewise(offset, data, |o, v| self.write_port(o, v));
    }

    fn reset(&mut self) {
        I8254::reset(self);
    }
}

impl TimedDevice for I8254 {
    fn next_deadline(&self) -> Option<Duration> {
        self.next_transition
            .map(|t| Duration::from_nanos(u64::try_from(t).unwrap_or(0)))
    }

    /// Each transition due is played at its own time, so IRQ 0 sees every
    /// edge even when the main loop is late.
    fn on_timer(&mut self, now: Duration) {
        let now = i64::try_from(now.as_nanos()).unwrap_or(i64::MAX);
        while let Some(t) = self.next_transition.filter(|&t| t <= now) {
            self.irq_timer_update(0, t);
        }
    }
}

/// Port 0x61 as QEMU's PC speaker model answers it: bit 0 is channel 2's
/// gate, bit 1 the speaker data enable, bit 4 a refresh clock that toggles
/// on every read, bit 5 channel 2's output.
pub struct SpeakerPort {
    pit: Arc<Mutex<I8254>>,
    data_on: bool,
    refresh_clock: bool,
}

impl SpeakerPort {
    pub fn new(pit: Arc<Mutex<I8254>>) -> Self {
        Self {
            pit,
            data_on: false,
            refresh_clock: false,
        }
    }

    fn read_port(&mut self) -> u8 {
        let (gate, out) = lock(&self.pit).gate_and_out(2).unwrap_or_default();
        self.refresh_clock = !self.refresh_clock;
        u8::from(gate)
            | u8::from(self.data_on) << 1
            | u8::from(self.refresh_clock) << 4
            | u8::from(out) << 5
    }

    fn write_port(&mut self, value: u8) {
        self.data_on = value & 2 != 0;
        lock(&self.pit).set_gate(2, value & 1 != 0);
    }
}

impl BusDevice for SpeakerPort {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_bytewise(offset, data, |_| self.read_port());
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_bytewise(offset, data, |_, v| self.write_port(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{ManualClock, RecordingLine};
    use crate::intc::qtest::{assert_same_as_qemu, assert_script_same_as_qemu, Random, MASTER_PIC};
    use crate::intc::qtest::{ModelPc, Qemu};

    #[test]
    fn power_on_state_and_status_read_back_match_qemu() {
        assert_script_same_as_qemu(
            "inb 0x40
            inb 0x41
            inb 0x42
            inb 0x43
            inb 0x61
            inb 0x61
            inb 0x61
            outb 0x43 0xee
            inb 0x40
            inb 0x41
            inb 0x42
            inb 0x40
            # a latch on a channel never programmed latches nothing
            outb 0x43 0x00
            inb 0x40
            ",
        );
    }

    #[test]
    fn modes_access_modes_latches_and_bcd_match_qemu() {
        let mut script = String::new();
        for mode in 0..8 {
            for rw in 1..=3 {
                let control = 0x80 | rw << 4 | mode << 1 | (mode & 1);
                script += &format!(
                    "outb 0x43 {control:#x}
                    outb 0x42 0x34
                    outb 0x42 0x12
                    outb 0x42 0x07
                    inb 0x42
                    inb 0x42
                    inb 0x42
                    outb 0x43 0x80
                    outb 0x43 0xe8
                    outb 0x42 0x99
                    inb 0x42
                    inb 0x42
                    inb 0x42
                    outb 0x43 0xd8
                    inb 0x42
                    inb 0x42
                    inb 0x61
                    "
                );
            }
        }
        assert_script_same_as_qemu(&script);
    }

    #[test]
    fn speaker_port_gates_channel_2_and_shows_its_output_as_qemu() {
        assert_script_same_as_qemu(
            "inb 0x61
            outb 0x61 0x03
            inb 0x61
            inb 0x61
            # one-shot: restarted by the rising gate (QEMU's OUT is high
            # while it counts)
            outb 0x43 0xb2
            outb 0x42 0x00
            outb 0x42 0x10
            inb 0x61
            outb 0x61 0x00
            inb 0x61
            outb 0x61 0x01
            inb 0x61
            # mode 0: OUT2 low until the count ends
            outb 0x43 0xb0
            outb 0x42 0x10
            outb 0x42 0x00
            inb 0x61
            outb 0x61 0xfc
            inb 0x61
            ",
        );
    }

    #[test]
    fn channel_0_output_reaches_pic_irq_0_and_ioapic_pin_2_as_in_qemu() {
        assert_script_same_as_qemu(
            "irq_intercept_out $MASTER
            outb 0x20 0x11
            outb 0x21 0x08
            outb 0x21 0x04
            outb 0x21 0x01
            # pin 2 level-triggered, so its remote IRR shows deliveries
            writel 0xfec00000 0x14
            writel 0xfec00010 0x8030
            # mode 2 starts with OUT low, mode 3 with OUT high
            outb 0x43 0x34
            outb 0x40 0x00
            outb 0x40 0x10
            inb 0x20
            readl 0xfec00010
            outb 0x43 0x36
            outb 0x40 0x00
            outb 0x40 0x10
            inb 0x20
            readl 0xfec00010
            outb 0x20 0x0c
            inb 0x20
            outb 0x20 0x20
            writel 0xfec00040 0x30
            readl 0xfec00010
            # mode 0 drops OUT on the load
            outb 0x43 0x30
            outb 0x40 0x00
            outb 0x40 0x10
            writel 0xfec00040 0x30
            readl 0xfec00010
            inb 0x20
            lapic_irr
            ",
        );
    }

    #[test]
    fn random_programming_matches_qemu() {
        for seed in 1..=4 {
            let mut rng = Random::new(seed);
            let mut script = vec![
                format!("irq_intercept_out {MASTER_PIC}"),
                "outb 0x20 0x11".into(),
                "outb 0x21 0x08".into(),
                "outb 0x21 0x04".into(),
                "outb 0x21 0x01".into(),
            ];
            script.extend([
                "writel 0xfec00000 0x14".to_string(),
                "writel 0xfec00010 0x8030".to_string(),
            ]);
            for _ in 0..1500 {
                let port = 0x40 + rng.below(3);
                let command = match rng.below(12) {
                    0..=2 => format!("outb 0x43 {:#x}", rng.below(256)),
                    3..=5 => format!("outb {port:#x} {:#x}", rng.below(256)),
                    6..=8 => format!("inb {port:#x}"),
                    9 => format!("outb 0x61 {:#x}", rng.below(4)),
                    10 if rng.below(10) == 0 => "system_reset".to_string(),
                    10 => "inb 0x61".to_string(),
                    _ => rng
                        .pick(&[
                            "inb 0x20",
                            "outb 0x20 0x20",
                            "writel 0xfec00040 0x30",
                            "readl 0xfec00010",
                        ])
                        .to_string(),
                };
                script.push(command);
            }
            script.push("lapic_irr".to_string());
            assert_same_as_qemu(&script);
        }
    }

    /// Channel 0 counts down from 0x10000 in mode 0: the ticks elapsed
    /// since its load, as long as its OUT (status bit 7) is still low.
    const CH0_STOPWATCH: [&str; 3] = ["outb 0x43 0x30", "outb 0x40 0x00", "outb 0x40 0x00"];
    const CH0_READ_BACK: [&str; 4] = ["outb 0x43 0xc2", "inb 0x40", "inb 0x40", "inb 0x40"];

    fn answer_byte(lines: &[String]) -> u64 {
        let last = lines.last().unwrap();
        u64::from_str_radix(last.trim_start_matches("OK 0x"), 16).unwrap()
    }

    /// Program channels 1 and 2 at random, let QEMU's machine run (its CPU
    /// halted) for some milliseconds, and read everything back; the models,
    /// moved by the same number of PIT ticks, must read the same. Counter
    /// values and outputs depend only on the ticks elapsed.
    #[test]
    fn counters_outputs_and_status_after_running_match_qemu() {
        let mut rng = Random::new(0x8254);
        for _ in 0..6 {
            let mut setup: Vec<String> = CH0_STOPWATCH.iter().map(|c| c.to_string()).collect();
            setup.push(format!("outb 0x61 {:#x}", rng.below(4)));
            for channel in 1..=2u64 {
                let rw = 1 + rng.below(3);
                let mode = rng.below(6);
                let control = channel << 6 | rw << 4 | mode << 1;
                setup.push(format!("outb 0x43 {control:#x}"));
                let count = 2 + rng.below(0xfffe);
                let port = 0x40 + channel;
                match rw {
                    1 => setup.push(format!("outb {port:#x} {:#x}", count & 0xff)),
                    2 => setup.push(format!("outb {port:#x} {:#x}", count >> 8)),
                    _ => {
                        setup.push(format!("outb {port:#x} {:#x}", count & 0xff));
                        setup.push(format!("outb {port:#x} {:#x}", count >> 8));
                    }
                }
            }
            let mut reads: Vec<String> = CH0_READ_BACK.iter().map(|c| c.to_string()).collect();
            for command in [
                "outb 0x43 0xcc",
                "inb 0x41",
                "inb 0x41",
                "inb 0x41",
                "inb 0x42",
                "inb 0x42",
                "inb 0x42",
                "outb 0x43 0x40",
                "inb 0x41",
                "inb 0x41",
                "inb 0x42",
                "inb 0x42",
                "inb 0x61",
                "inb 0x61",
            ] {
                reads.push(command.to_string());
            }
            compare_after_running(&setup, &reads);
        }
    }

    fn compare_after_running(setup: &[String], reads: &[String]) {
        for _attempt in 0..5 {
            let mut qemu = Qemu::start_halting();
            let mut model = ModelPc::new();
            for command in setup {
                assert_eq!(qemu.command(command), model.command(command), "{command}");
            }
            qemu.qmp(r#"{"execute": "cont"}"#);
            std::thread::sleep(Duration::from_millis(20));
            qemu.qmp(r#"{"execute": "stop"}"#);
            let expected: Vec<Vec<String>> = reads.iter().map(|c| qemu.command(c)).collect();
            let status = answer_byte(&expected[1]);
            let count = answer_byte(&expected[2]) | answer_byte(&expected[3]) << 8;
            if status & 0x80 != 0 {
                // More than 0x10000 ticks went by: try again.
                continue;
            }
            let ticks_elapsed = (0x10000 - count) & 0xffff;
            // The first nanosecond at which that many ticks have elapsed.
            let ns = (ticks_elapsed * NANOSECONDS_PER_SECOND).div_ceil(PIT_FREQ);
            assert_eq!(ticks(ns as i64), ticks_elapsed);
            assert!(
                ticks_elapsed > 1000,
                "QEMU's clock ran {ticks_elapsed} ticks"
            );
            model.clock.advance(Duration::from_nanos(ns));
            for (command, expected) in reads.iter().zip(&expected) {
                let actual = model.command(command);
                assert_eq!(
                    &actual, expected,
                    "{command} after {ticks_elapsed} ticks, set up by {setup:?}"
                );
            }
            return;
        }
        panic!("QEMU never stopped within 0x10000 PIT ticks");
    }

    fn pit_at_zero() -> (I8254, Arc<RecordingLine>, Arc<ManualClock>) {
        let irq = Arc::new(RecordingLine::default());
        let clock = Arc::new(ManualClock::at(Duration::ZERO));
        (I8254::new(irq.clone(), clock.clone()), irq, clock)
    }

    fn program(pit: &mut I8254, channel: u64, mode: u8, count: u16) {
        pit.write(3, &[(channel as u8) << 6 | 0x30 | mode << 1]);
        pit.write(channel, &count.to_le_bytes()[..1]);
        pit.write(channel, &count.to_le_bytes()[1..]);
    }

    fn read_count(pit: &mut I8254, channel: u64) -> u16 {
        pit.write(3, &[(channel as u8) << 6]);
        let (mut low, mut high) = ([0u8], [0u8]);
        pit.read(channel, &mut low);
        pit.read(channel, &mut high);
        u16::from_le_bytes([low[0], high[0]])
    }

    #[test]
    fn counters_run_down_at_the_pit_frequency_with_qemus_rounding() {
        let (mut pit, _, clock) = pit_at_zero();
        program(&mut pit, 2, 2, 0x1000);
        program(&mut pit, 1, 3, 0x1000);
        program(&mut pit, 0, 0, 0x1000);
        // 1 ms is 1193.182 ticks, counted as 1193.
        clock.advance(Duration::from_millis(1));
        assert_eq!(read_count(&mut pit, 2), 0x1000 - 1193);
        assert_eq!(read_count(&mut pit, 1), 0x1000 - 2 * 1193);
        assert_eq!(read_count(&mut pit, 0), 0x1000 - 1193);
        // Mode 0 wraps past zero; mode 2 reloads.
        clock.advance(Duration::from_millis(4));
        assert_eq!(
            read_count(&mut pit, 0),
            (0x1000u32.wrapping_sub(5965) & 0xffff) as u16
        );
        assert_eq!(read_count(&mut pit, 2), (0x1000 - 5965 % 0x1000) as u16);
    }

    /// Fire channel 0's timer `n` times, each at its deadline, and note
    /// when and to which level IRQ 0 went.
    fn run_transitions(pit: &mut I8254, irq: &RecordingLine, n: usize) -> Vec<(u128, bool)> {
        (0..n)
            .map(|_| {
                let deadline = pit.next_deadline().unwrap();
                pit.on_timer(deadline);
                (deadline.as_nanos(), irq.level())
            })
            .collect()
    }

    #[test]
    fn mode_2_pulses_irq_0_once_per_period_with_qemus_rounding() {
        let (mut pit, irq, _) = pit_at_zero();
        // Count 1193: a period of 999.847 us. QEMU converts tick 1194 to
        // 1000685 ns, rounding down, where 1193 ticks have elapsed: OUT
        // reads high there, and low one period later at 1999694 ns (tick
        // 2386 rounds to a time in tick 2385). The rising edges come once
        // per period all the same.
        program(&mut pit, 0, 2, 1193);
        assert_eq!(
            run_transitions(&mut pit, &irq, 4),
            [
                (1_000_685, true),
                (1_999_694, false),
                (2_000_533, true),
                (2_999_542, false),
            ]
        );
    }

    #[test]
    fn a_late_timer_plays_every_missed_transition() {
        let (mut pit, irq, clock) = pit_at_zero();
        program(&mut pit, 0, 3, 100);
        let edges_before = irq.rising_edges();
        clock.set(Duration::from_millis(1));
        pit.on_timer(clock.now());
        // 1193 ticks: OUT rose at ticks 100, 200, ... 1100, and is in the
        // low half of the period at 1193.
        assert_eq!(irq.rising_edges() - edges_before, 11);
        assert!(!irq.level());
        assert!(pit.next_deadline().unwrap() > clock.now());
    }

    #[test]
    fn mode_0_raises_irq_0_at_terminal_count_and_stops() {
        let (mut pit, irq, _) = pit_at_zero();
        program(&mut pit, 0, 0, 0x100);
        assert!(!irq.level());
        // Tick 256 is 214552.35 ns, rounded down to a time still in tick
        // 255; QEMU then retries 1 ns later.
        assert_eq!(
            run_transitions(&mut pit, &irq, 2),
            [(214_552, false), (214_553, true)]
        );
        assert_eq!(pit.next_deadline(), None);
    }

    #[test]
    fn gate_rising_edge_restarts_a_one_shot_on_channel_2() {
        let (pit, _, clock) = pit_at_zero();
        let pit = Arc::new(Mutex::new(pit));
        let mut speaker = SpeakerPort::new(pit.clone());
        program(&mut lock(&pit), 2, 1, 1000);
        let read = |speaker: &mut SpeakerPort| {
            let mut byte = [0u8];
            speaker.read(0, &mut byte);
            byte[0] & 0x21
        };
        // QEMU's mode 1 output is high while the count runs.
        assert_eq!(read(&mut speaker), 0x20, "gate low, counting from the load");
        clock.advance(Duration::from_millis(1));
        assert_eq!(read(&mut speaker), 0x00, "count over: OUT low");
        speaker.write(0, &[0x01]);
        assert_eq!(read(&mut speaker), 0x21, "restarted by the rising gate");
    }

    #[test]
    fn disabling_the_interrupt_stops_the_timer() {
        let (mut pit, irq, _) = pit_at_zero();
        assert!(
            pit.next_deadline().is_some(),
            "channel 0 runs from power-on"
        );
        assert!(irq.history().is_empty(), "IRQ 0 untouched until then");
        pit.set_irq_enabled(false);
        assert_eq!(pit.next_deadline(), None);
        pit.set_irq_enabled(true);
        assert!(pit.next_deadline().is_some());
        assert_eq!(irq.history(), [true]);
    }
}

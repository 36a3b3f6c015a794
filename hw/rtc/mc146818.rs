//! The MC146818 CMOS real-time clock at ports 0x70 (index) and 0x71 (data),
//! as QEMU 7.2's mc146818rtc.c with the PC's settings (base year 2000, so
//! the century byte 0x32 holds the century; lost ticks discarded).
//!
//! Guest time is kept as "guest seconds at a clock instant" plus a sub-second
//! offset, and the time registers are recomputed from it when read, so the
//! clock runs without any timer. Timers exist only for interrupts: the
//! periodic interrupt (register A rate, register B PIE) and the update-ended
//! and alarm interrupts (UIE, AIE). Following `TimedDevice`, the device says
//! when it next needs attention (`next_deadline`) and the main loop calls
//! `on_timer` then. Deadlines are on the injected clock, which is also the
//! clock the RTC counts time by (QEMU's `rtc_clock`).

use std::sync::Arc;
use std::time::Duration;

use crate::core::bus::{read_bytewise, write_bytewise, BusDevice};
use crate::core::clock::{Clock, TimedDevice};
use crate::core::irq::InterruptLine;

/// I/O port of the index register (the data register follows it).
pub const RTC_IOBASE: u16 = 0x70;
/// Bytes of I/O space the RTC decodes.
pub const RTC_IO_SIZE: u64 = 2;
/// ISA interrupt line of the RTC.
pub const RTC_IRQ: u8 = 8;
/// Bytes of CMOS memory, clock registers included.
pub const CMOS_SIZE: usize = 128;

/// Clock and status register indices.
pub const RTC_SECONDS: u8 = 0x00;
pub const RTC_SECONDS_ALARM: u8 = 0x01;
pub const RTC_MINUTES: u8 = 0x02;
pub const RTC_MINUTES_ALARM: u8 = 0x03;
pub const RTC_HOURS: u8 = 0x04;
pub const RTC_HOURS_ALARM: u8 = 0x05;
pub const RTC_DAY_OF_WEEK: u8 = 0x06;
pub const RTC_DAY_OF_MONTH: u8 = 0x07;
pub const RTC_MONTH: u8 = 0x08;
pub const RTC_YEAR: u8 = 0x09;
pub const RTC_REG_A: u8 = 0x0a;
pub const RTC_REG_B: u8 = 0x0b;
pub const RTC_REG_C: u8 = 0x0c;
pub const RTC_REG_D: u8 = 0x0d;
/// The century byte of PC CMOS.
pub const RTC_CENTURY: u8 = 0x32;
/// IBM PS/2's century byte, an alias of `RTC_CENTURY`.
const RTC_IBM_PS2_CENTURY_BYTE: u8 = 0x37;
/// The shutdown status byte; 0xfe there means "resuming from S3".
const CMOS_SHUTDOWN_STATUS: usize = 0x0f;

const REG_A_UIP: u8 = 0x80;

const REG_B_SET: u8 = 0x80;
const REG_B_PIE: u8 = 0x40;
const REG_B_AIE: u8 = 0x20;
const REG_B_UIE: u8 = 0x10;
const REG_B_SQWE: u8 = 0x08;
const REG_B_DM: u8 = 0x04;
const REG_B_24H: u8 = 0x02;

const REG_C_IRQF: u8 = 0x80;
const REG_C_PF: u8 = 0x40;
const REG_C_AF: u8 = 0x20;
const REG_C_UF: u8 = 0x10;
const REG_C_MASK: u8 = 0x70;

const NS: i64 = 1_000_000_000;
/// The divider chain's input: 32.768 kHz.
const RTC_CLOCK_RATE: i64 = 32768;
/// UIP is set for the last 244 us before each update (8 cycles of 32 kHz).
const UIP_HOLD_LENGTH: i64 = 8 * NS / RTC_CLOCK_RATE;

const SEC_PER_MIN: i32 = 60;
const MIN_PER_HOUR: i32 = 60;
const HOUR_PER_DAY: i32 = 24;
const SEC_PER_DAY: i32 = 86400;

/// A broken-down UTC date, as C's `struct tm` but with the full year and
/// 1-based month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    /// 1..=12
    pub month: i64,
    /// 1..=31
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    /// 0 = Sunday
    pub weekday: i64,
}

impl DateTime {
    /// The UTC date of `secs` seconds since the epoch.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86400);
        let rem = secs.rem_euclid(86400);
        // Civil date from day count (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// Seconds since the epoch, ignoring the weekday; out-of-range fields
    /// carry over arithmetically, as QEMU's `mktimegm` does.
    pub fn to_unix(&self) -> i64 {
        let (mut y, mut m) = (self.year, self.month);
        if m < 3 {
            m += 12;
            y -= 1;
        }
        let days = self.day + (153 * m - 457) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100)
            + y.div_euclid(400)
            - 719_469;
        days * 86400 + 3600 * self.hour + 60 * self.minute + self.second
    }
}

/// Told when the guest sets the RTC, for QMP's `RTC_CHANGE` event.
pub trait RtcChangeListener: Send + Sync {
    /// The guest set the clock to `offset_secs` seconds away from the clock
    /// the RTC was started from (the host's, moved by `-rtc base=`).
    fn rtc_changed(&self, offset_secs: i64);
}

pub struct Mc146818Rtc {
    irq: Arc<dyn InterruptLine>,
    change_listener: Option<Arc<dyn RtcChangeListener>>,
    clock: Arc<dyn Clock>,
    cmos: [u8; CMOS_SIZE],
    index: u8,
    /// Guest time, in whole seconds, at clock time `last_update`...
    base_rtc: i64,
    last_update: i64,
    /// ...plus this many nanoseconds.
    offset: i64,
    /// Periodic interrupt period in 32 kHz cycles; 0 when off.
    period: u32,
    next_periodic_time: i64,
    periodic_timer: Option<i64>,
    update_timer: Option<i64>,
    next_alarm_time: i64,
    irq_level: bool,
}

fn duration_to_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn ns_to_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

/// 32 kHz cycles per periodic interrupt for a rate-select value (register A
/// bits 3..0); rates 1 and 2 repeat 8 and 9, as on the real part.
fn periodic_period_to_clock(rate: u8) -> u32 {
    match rate {
        0 => 0,
        1 | 2 => 1 << (rate + 7 - 1),
        _ => 1 << (rate - 1),
    }
}

fn periodic_clock_to_ns(clock: i64) -> i64 {
    ((i128::from(clock) * i128::from(NS)) / i128::from(RTC_CLOCK_RATE)) as i64
}

fn ns_to_periodic_clock(ns: i64) -> i64 {
    ((i128::from(ns) * i128::from(RTC_CLOCK_RATE)) / i128::from(NS)) as i64
}

impl Mc146818Rtc {
    /// An RTC reading the clock's current date, in its power-on state
    /// (register A 0x26, B 0x02: BCD, 24-hour; D 0x80: battery good).
    pub fn new(irq: Arc<dyn InterruptLine>, clock: Arc<dyn Clock>) -> Self {
        let mut rtc = Self {
            irq,
            change_listener: None,
            clock,
            cmos: [0; CMOS_SIZE],
            index: 0,
            base_rtc: 0,
            last_update: 0,
            offset: 0,
            period: 0,
            next_periodic_time: 0,
            periodic_timer: None,
            update_timer: None,
            next_alarm_time: 0,
            irq_level: false,
        };
        rtc.cmos[usize::from(RTC_REG_A)] = 0x26;
        rtc.cmos[usize::from(RTC_REG_B)] = 0x02;
        rtc.cmos[usize::from(RTC_REG_C)] = 0x00;
        rtc.cmos[usize::from(RTC_REG_D)] = 0x80;
        rtc.set_date_from_clock();
        rtc.check_update_timer();
        rtc
    }

    /// Where to report the guest setting the time.
    pub fn set_change_listener(&mut self, listener: Arc<dyn RtcChangeListener>) {
        self.change_listener = Some(listener);
    }

    /// Set a CMOS byte directly, as the machine does to pass the BIOS its
    /// configuration (QEMU's `mc146818rtc_set_cmos_data`).
    pub fn set_cmos_byte(&mut self, index: u8, value: u8) {
        if let Some(byte) = self.cmos.get_mut(usize::from(index)) {
            *byte = value;
        }
    }

    /// A CMOS byte as stored, without the side effects of a guest read.
    pub fn cmos_byte(&self, index: u8) -> u8 {
        self.cmos.get(usize::from(index)).copied().unwrap_or(0)
    }

    /// The date the RTC shows now (QEMU's `rtc-time` machine property).
    pub fn date(&mut self) -> DateTime {
        self.update_time();
        self.registers_time()
    }

    fn reg(&self, index: u8) -> u8 {
        self.cmos[usize::from(index)]
    }

    fn now_ns(&self) -> i64 {
        duration_to_ns(self.clock.now())
    }

    fn set_irq(&mut self, level: bool) {
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    fn set_date_from_clock(&mut self) {
        let now = self.now_ns();
        let secs = now.div_euclid(NS);
        self.base_rtc = secs;
        self.last_update = now;
        self.offset = 0;
        self.set_registers_time(&DateTime::from_unix(secs));
    }

    /// Guest time in nanoseconds since the epoch. A guest can set dates
    /// past what 64 bits of nanoseconds hold (year 2262); the arithmetic
    /// wraps then, as QEMU's does.
    fn guest_rtc_ns(&self) -> i64 {
        self.base_rtc
            .wrapping_mul(NS)
            .wrapping_add(self.now_ns().wrapping_sub(self.last_update))
            .wrapping_add(self.offset)
    }

    /// Not in set mode and the divider chain running.
    fn running(&self) -> bool {
        self.reg(RTC_REG_B) & REG_B_SET == 0 && self.reg(RTC_REG_A) & 0x70 <= 0x20
    }

    /// A number as the time registers hold it: BCD, or binary when
    /// register B's DM bit says so.
    fn register_encoding(&self, value: i64) -> u8 {
        if self.reg(RTC_REG_B) & REG_B_DM != 0 {
            value as u8
        } else {
            (((value / 10) << 4) | (value % 10)) as u8
        }
    }

    /// A time register's value as a number (from BCD unless register B's
    /// DM bit is set); -1 for the "don't care" values 0xc0..0xff that alarms
    /// use.
    fn register_value(&self, value: u8) -> i32 {
        if value & 0xc0 == 0xc0 {
            return -1;
        }
        if self.reg(RTC_REG_B) & REG_B_DM != 0 {
            i32::from(value)
        } else {
            i32::from(value >> 4) * 10 + i32::from(value & 0x0f)
        }
    }

    /// An hour register value read in 24-hour terms.
    fn convert_hour(&self, hour: i32) -> i32 {
        if self.reg(RTC_REG_B) & REG_B_24H != 0 {
            return hour;
        }
        let mut hour = hour % 12;
        if self.reg(RTC_HOURS) & 0x80 != 0 {
            hour += 12;
        }
        hour
    }

    fn registers_time(&self) -> DateTime {
        let field = |index| i64::from(self.register_value(self.reg(index)));
        let mut hour = i64::from(self.register_value(self.reg(RTC_HOURS) & 0x7f));
        if self.reg(RTC_REG_B) & REG_B_24H == 0 {
            hour %= 12;
            if self.reg(RTC_HOURS) & 0x80 != 0 {
                hour += 12;
            }
        }
        DateTime {
            year: field(RTC_YEAR) + field(RTC_CENTURY) * 100,
            month: field(RTC_MONTH),
            day: field(RTC_DAY_OF_MONTH),
            hour,
            minute: field(RTC_MINUTES),
            second: field(RTC_SECONDS),
            weekday: field(RTC_DAY_OF_WEEK) - 1,
        }
    }

    fn set_registers_time(&mut self, tm: &DateTime) {
        let set = |rtc: &mut Self, index: u8, value: i64| {
            rtc.cmos[usize::from(index)] = rtc.register_encoding(value);
        };
        set(self, RTC_SECONDS, tm.second);
        set(self, RTC_MINUTES, tm.minute);
        if self.reg(RTC_REG_B) & REG_B_24H != 0 {
            set(self, RTC_HOURS, tm.hour);
        } else {
            let h = if tm.hour % 12 != 0 { tm.hour % 12 } else { 12 };
            set(self, RTC_HOURS, h);
            if tm.hour >= 12 {
                self.cmos[usize::from(RTC_HOURS)] |= 0x80;
            }
        }
        set(self, RTC_DAY_OF_WEEK, tm.weekday + 1);
        set(self, RTC_DAY_OF_MONTH, tm.day);
        set(self, RTC_MONTH, tm.month);
        set(self, RTC_YEAR, tm.year.rem_euclid(100));
        set(self, RTC_CENTURY, tm.year.div_euclid(100));
    }

    /// The guest wrote the time registers: count from them from now on.
    fn set_time(&mut self) {
        self.base_rtc = self.registers_time().to_unix();
        self.last_update = self.now_ns();
        if let Some(listener) = &self.change_listener {
            listener.rtc_changed(self.base_rtc - self.last_update.div_euclid(NS));
        }
    }

    /// Bring the time registers up to date, unless in set mode.
    fn update_time(&mut self) {
        let guest_sec = self.guest_rtc_ns().div_euclid(NS);
        if self.reg(RTC_REG_B) & REG_B_SET == 0 {
            self.set_registers_time(&DateTime::from_unix(guest_sec));
        }
    }

    fn update_in_progress(&mut self) -> bool {
        if !self.running() {
            return false;
        }
        if let Some(next_update) = self.update_timer {
            // Hold UIP from shortly before the update until the timer runs.
            if self.now_ns() >= next_update - UIP_HOLD_LENGTH {
                self.cmos[usize::from(RTC_REG_A)] |= REG_A_UIP;
                return true;
            }
        }
        self.guest_rtc_ns().rem_euclid(NS) >= NS - UIP_HOLD_LENGTH
    }

    fn periodic_clock_ticks(&self) -> u32 {
        if self.reg(RTC_REG_B) & REG_B_PIE == 0 {
            return 0;
        }
        periodic_period_to_clock(self.reg(RTC_REG_A) & 0x0f)
    }

    /// Re-arm the periodic timer. When the period changed (`period_change`),
    /// time already run since the last interrupt counts towards the next
    /// one, but no more than one period: lost ticks are discarded.
    fn periodic_timer_update(&mut self, current_time: i64, old_period: u32, period_change: bool) {
        let period = self.periodic_clock_ticks();
        self.period = period;
        if period == 0 {
            self.periodic_timer = None;
            return;
        }
        let cur_clock = ns_to_periodic_clock(current_time);
        let mut lost_clock = 0;
        if old_period != 0 && period_change {
            let next_periodic_clock = ns_to_periodic_clock(self.next_periodic_time);
            let last_periodic_clock = next_periodic_clock - i64::from(old_period);
            lost_clock = (cur_clock - last_periodic_clock).max(0);
        }
        lost_clock = lost_clock.min(i64::from(period));
        let next_irq_clock = cur_clock + i64::from(period) - lost_clock;
        self.next_periodic_time = periodic_clock_to_ns(next_irq_clock) + 1;
        self.periodic_timer = Some(self.next_periodic_time);
    }

    fn periodic_timer_fired(&mut self) {
        self.periodic_timer_update(self.next_periodic_time, self.period, false);
        self.cmos[usize::from(RTC_REG_C)] |= REG_C_PF;
        if self.reg(RTC_REG_B) & REG_B_PIE != 0 {
            self.cmos[usize::from(RTC_REG_C)] |= REG_C_IRQF;
            self.set_irq(true);
        }
    }

    /// Seconds from the current time to the next alarm match, 1..=86400;
    /// alarm fields 0xc0..0xff match any value.
    fn next_alarm_secs(&mut self) -> i32 {
        self.update_time();
        let mut alarm_sec = self.register_value(self.reg(RTC_SECONDS_ALARM));
        let mut alarm_min = self.register_value(self.reg(RTC_MINUTES_ALARM));
        let mut alarm_hour = self.register_value(self.reg(RTC_HOURS_ALARM));
        if alarm_hour != -1 {
            alarm_hour = self.convert_hour(alarm_hour);
        }
        let cur_sec = self.register_value(self.reg(RTC_SECONDS));
        let cur_min = self.register_value(self.reg(RTC_MINUTES));
        let cur_hour = self.convert_hour(self.register_value(self.reg(RTC_HOURS)));

        if alarm_hour == -1 {
            alarm_hour = cur_hour;
            if alarm_min == -1 {
                alarm_min = cur_min;
                if alarm_sec == -1 {
                    alarm_sec = cur_sec + 1;
                } else if cur_sec > alarm_sec {
                    alarm_min += 1;
                }
            } else if cur_min == alarm_min {
                if alarm_sec == -1 {
                    alarm_sec = cur_sec + 1;
                } else if cur_sec > alarm_sec {
                    alarm_hour += 1;
                }
                if alarm_sec == SEC_PER_MIN {
                    // Minutes are not "don't care": on to the next hour.
                    alarm_sec = 0;
                    alarm_hour += 1;
                }
            } else if cur_min > alarm_min {
                alarm_hour += 1;
            }
        } else if cur_hour == alarm_hour {
            if alarm_min == -1 {
                alarm_min = cur_min;
                if alarm_sec == -1 {
                    alarm_sec = cur_sec + 1;
                } else if cur_sec > alarm_sec {
                    alarm_min += 1;
                }
                if alarm_sec == SEC_PER_MIN {
                    alarm_sec = 0;
                    alarm_min += 1;
                }
                // The hour is fixed: past its last minute means tomorrow.
                alarm_min %= MIN_PER_HOUR;
            } else if cur_min == alarm_min {
                if alarm_sec == -1 {
                    alarm_sec = cur_sec + 1;
                }
                alarm_sec %= SEC_PER_MIN;
            }
        }

        // Fields still "don't care" match at the next minute or second.
        if alarm_min == -1 {
            alarm_min = 0;
        }
        if alarm_sec == -1 {
            alarm_sec = 0;
        }
        if alarm_sec == SEC_PER_MIN {
            alarm_sec = 0;
            alarm_min += 1;
        }
        if alarm_min == MIN_PER_HOUR {
            alarm_min = 0;
            alarm_hour += 1;
        }
        alarm_hour %= HOUR_PER_DAY;

        let hour = alarm_hour - cur_hour;
        let min = hour * MIN_PER_HOUR + alarm_min - cur_min;
        let sec = min * SEC_PER_MIN + alarm_sec - cur_sec;
        if sec <= 0 {
            sec + SEC_PER_DAY
        } else {
            sec
        }
    }

    /// Arm the update timer for the next update cycle (to set UF), or for
    /// the alarm when UF is already set and only AF can still change.
    fn check_update_timer(&mut self) {
        // Holding the divider in reset stops the interrupts; set mode does
        // not.
        if self.reg(RTC_REG_A) & 0x60 == 0x60 {
            self.update_timer = None;
            return;
        }
        let guest_nsec = self.guest_rtc_ns().rem_euclid(NS);
        let mut next_update_time = self.now_ns() + NS - guest_nsec;
        // One second is already counted in next_update_time.
        let next_alarm_sec = i64::from(self.next_alarm_secs());
        self.next_alarm_time = next_update_time + (next_alarm_sec - 1) * NS;

        // A latched UIP needs the timer at the next second to clear it.
        if self.reg(RTC_REG_A) & REG_A_UIP == 0 && self.reg(RTC_REG_C) & REG_C_UF != 0 {
            if self.reg(RTC_REG_B) & REG_B_SET != 0 || self.reg(RTC_REG_C) & REG_C_AF != 0 {
                self.update_timer = None;
                return;
            }
            next_update_time = self.next_alarm_time;
        }
        self.update_timer = Some(next_update_time);
    }

    fn update_timer_fired(&mut self) {
        let mut irqs = REG_C_UF;
        self.update_time();
        self.cmos[usize::from(RTC_REG_A)] &= !REG_A_UIP;
        if self.now_ns() >= self.next_alarm_time {
            irqs |= REG_C_AF;
        }
        let new_irqs = irqs & !self.reg(RTC_REG_C);
        self.cmos[usize::from(RTC_REG_C)] |= irqs;
        // UF and AF sit at the bit positions of their enables, UIE and AIE.
        if new_irqs & self.reg(RTC_REG_B) != 0 {
            self.cmos[usize::from(RTC_REG_C)] |= REG_C_IRQF;
            self.set_irq(true);
        }
        self.check_update_timer();
    }

    fn read_data(&mut self) -> u8 {
        if let Some(register) = clock_register(self.index) {
            self.index = register;
            if self.running() {
                self.update_time();
            }
            return self.reg(register);
        }
        match self.index {
            RTC_REG_A => {
                let value = self.reg(RTC_REG_A);
                if self.update_in_progress() {
                    value | REG_A_UIP
                } else {
                    value
                }
            }
            RTC_REG_C => {
                // Reading register C acknowledges every interrupt.
                let value = self.reg(RTC_REG_C);
                self.set_irq(false);
                self.cmos[usize::from(RTC_REG_C)] = 0;
                if value & (REG_C_UF | REG_C_AF) != 0 {
                    self.check_update_timer();
                }
                value
            }
            index => self.reg(index),
        }
    }

    fn write_data(&mut self, value: u8) {
        if let Some(register) = clock_register(self.index) {
            self.index = register;
            self.cmos[usize::from(register)] = value;
            // In set mode the time is taken when SET is cleared.
            if self.running() {
                self.set_time();
                self.check_update_timer();
            }
            return;
        }
        match self.index {
            RTC_SECONDS_ALARM | RTC_MINUTES_ALARM | RTC_HOURS_ALARM => {
                self.cmos[usize::from(self.index)] = value;
                self.check_update_timer();
            }
            RTC_REG_A => self.write_reg_a(value),
            RTC_REG_B => self.write_reg_b(value),
            // Registers C and D are read-only.
            RTC_REG_C | RTC_REG_D => {}
            index => self.cmos[usize::from(index)] = value,
        }
    }

    fn write_reg_a(&mut self, value: u8) {
        let rate_changed = (self.reg(RTC_REG_A) ^ value) & 0x0f != 0;
        let old_period = self.periodic_clock_ticks();
        let old_a = self.reg(RTC_REG_A);
        if value & 0x60 == 0x60 {
            // Divider reset: the clock stops where it is.
            if self.running() {
                self.update_time();
            }
            self.cmos[usize::from(RTC_REG_A)] &= !REG_A_UIP;
        } else if old_a & 0x60 == 0x60 && value & 0x70 <= 0x20 {
            // Leaving divider reset: the first update comes half a second
            // later.
            if self.reg(RTC_REG_B) & REG_B_SET == 0 {
                self.offset = NS / 2;
                self.set_time();
            }
            self.cmos[usize::from(RTC_REG_A)] &= !REG_A_UIP;
        }
        // UIP is read-only.
        self.cmos[usize::from(RTC_REG_A)] =
            (value & !REG_A_UIP) | (self.reg(RTC_REG_A) & REG_A_UIP);
        if rate_changed {
            self.periodic_timer_update(self.now_ns(), old_period, true);
        }
        self.check_update_timer();
    }

    fn write_reg_b(&mut self, mut value: u8) {
        let pie_changed = (self.reg(RTC_REG_B) ^ value) & REG_B_PIE != 0;
        let old_period = self.periodic_clock_ticks();
        if value & REG_B_SET != 0 {
            // Entering set mode: freeze the registers at the current time.
            if self.running() {
                self.update_time();
            }
            self.cmos[usize::from(RTC_REG_A)] &= !REG_A_UIP;
            // No update cycles, so no update-ended interrupts, in set mode.
            value &= !REG_B_UIE;
        } else if self.reg(RTC_REG_B) & REG_B_SET != 0 && self.reg(RTC_REG_A) & 0x70 <= 0x20 {
            // Leaving set mode: run from the registers as written, keeping
            // the phase within the second.
            self.offset = self.guest_rtc_ns().rem_euclid(NS);
            self.set_time();
        }
        // An interrupt flag already set when its enable goes on interrupts
        // at once.
        if value & self.reg(RTC_REG_C) & REG_C_MASK != 0 {
            self.cmos[usize::from(RTC_REG_C)] |= REG_C_IRQF;
            self.set_irq(true);
        } else {
            self.cmos[usize::from(RTC_REG_C)] &= !REG_C_IRQF;
            self.set_irq(false);
        }
        self.cmos[usize::from(RTC_REG_B)] = value;
        if pie_changed {
            self.periodic_timer_update(self.now_ns(), old_period, true);
        }
        self.check_update_timer();
    }

    fn read_port(&mut self, offset: u64) -> u8 {
        if offset & 1 == 0 {
            // The index register is write-only.
            0xff
        } else {
            self.read_data()
        }
    }

    fn write_port(&mut self, offset: u64, value: u8) {
        if offset & 1 == 0 {
            // Bit 7 is the NMI mask on real PCs; QEMU ignores it.
            self.index = value & 0x7f;
        } else {
            self.write_data(value);
        }
    }
}

/// The register a clock register index reads and writes: the time and date
/// registers themselves, and 0x37, the IBM PS/2 century byte, which QEMU
/// aliases to the century register.
fn clock_register(index: u8) -> Option<u8> {
    match index {
        RTC_IBM_PS2_CENTURY_BYTE => Some(RTC_CENTURY),
        RTC_CENTURY | RTC_SECONDS | RTC_MINUTES | RTC_HOURS | RTC_DAY_OF_WEEK
        | RTC_DAY_OF_MONTH | RTC_MONTH | RTC_YEAR => Some(index),
        _ => None,
    }
}

impl BusDevice for Mc146818Rtc {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_bytewise(offset, data, |o| self.read_port(o));
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_bytewise(offset, data, |o, v| self.write_port(o, v));
    }

    /// The clock keeps running; interrupt enables and flags clear, and the
    /// shutdown status byte clears unless it says "resume from S3".
    fn reset(&mut self) {
        if self.cmos[CMOS_SHUTDOWN_STATUS] != 0xfe {
            self.cmos[CMOS_SHUTDOWN_STATUS] = 0;
        }
        self.cmos[usize::from(RTC_REG_B)] &= !(REG_B_PIE | REG_B_AIE | REG_B_SQWE);
        self.cmos[usize::from(RTC_REG_C)] &= !(REG_C_UF | REG_C_IRQF | REG_C_PF | REG_C_AF);
        self.check_update_timer();
        self.set_irq(false);
    }
}

impl TimedDevice for Mc146818Rtc {
    fn next_deadline(&self) -> Option<Duration> {
        match (self.periodic_timer, self.update_timer) {
            (Some(a), Some(b)) => Some(ns_to_duration(a.min(b))),
            (a, b) => a.or(b).map(ns_to_duration),
        }
    }

    fn on_timer(&mut self, now: Duration) {
        let now = duration_to_ns(now);
        if self.periodic_timer.is_some_and(|at| at <= now) {
            self.periodic_timer_fired();
        }
        if self.update_timer.is_some_and(|at| at <= now) {
            self.update_timer_fired();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{ManualClock, RecordingLine};

    /// 2026-11-25T13:45:30Z, a Wednesday.
    const WED_13_45_30: u64 = 1_795_614_330;
    /// 2024-02-29T23:59:58Z, a Thursday and a leap day.
    const LEAP_DAY_23_59_58: u64 = 1_709_251_198;

    struct Rig {
        rtc: Mc146818Rtc,
        irq: Arc<RecordingLine>,
        clock: Arc<ManualClock>,
    }

    fn rig_at(secs: u64, nanos: u32) -> Rig {
        let clock = Arc::new(ManualClock::at(Duration::new(secs, nanos)));
        let irq = Arc::new(RecordingLine::default());
        let rtc = Mc146818Rtc::new(irq.clone(), clock.clone());
        Rig { rtc, irq, clock }
    }

    impl Rig {
        fn read(&mut self, index: u8) -> u8 {
            self.rtc.write(0, &[index]);
            let mut b = [0u8];
            self.rtc.read(1, &mut b);
            b[0]
        }
        fn write(&mut self, index: u8, value: u8) {
            self.rtc.write(0, &[index]);
            self.rtc.write(1, &[value]);
        }
        fn time(&mut self) -> [u8; 7] {
            [
                self.read(RTC_HOURS),
                self.read(RTC_MINUTES),
                self.read(RTC_SECONDS),
                self.read(RTC_DAY_OF_WEEK),
                self.read(RTC_DAY_OF_MONTH),
                self.read(RTC_MONTH),
                self.read(RTC_YEAR),
            ]
        }
        /// Run the timers as the main loop would, up to `until`.
        fn run_until(&mut self, until: Duration) {
            while let Some(deadline) = self.rtc.next_deadline() {
                if deadline > until {
                    break;
                }
                self.clock.set(deadline);
                self.rtc.on_timer(deadline);
            }
            self.clock.set(until);
        }
    }

    #[test]
    fn power_on_registers_and_bcd_time_match_qemu() {
        // QEMU 7.2 reads A=0x26, B=0x02, C=0, D=0x80, century 0x20, and the
        // time in BCD, 24-hour, day of week 1 = Sunday.
        let mut r = rig_at(WED_13_45_30, 0);
        assert_eq!(r.time(), [0x13, 0x45, 0x30, 0x04, 0x25, 0x11, 0x26]);
        assert_eq!(r.read(RTC_CENTURY), 0x20);
        assert_eq!(r.read(RTC_REG_A), 0x26);
        assert_eq!(r.read(RTC_REG_B), 0x02);
        assert_eq!(r.read(RTC_REG_C), 0x00);
        assert_eq!(r.read(RTC_REG_D), 0x80);
    }

    #[test]
    fn time_advances_with_the_clock_across_a_leap_day() {
        let mut r = rig_at(LEAP_DAY_23_59_58, 0);
        assert_eq!(r.time(), [0x23, 0x59, 0x58, 0x05, 0x29, 0x02, 0x24]);
        r.clock.advance(Duration::from_secs(3));
        assert_eq!(r.time(), [0x00, 0x00, 0x01, 0x06, 0x01, 0x03, 0x24]);
    }

    #[test]
    fn setting_the_time_reports_its_offset_from_the_clock() {
        #[derive(Default)]
        struct Offsets(std::sync::Mutex<Vec<i64>>);
        impl RtcChangeListener for Offsets {
            fn rtc_changed(&self, offset_secs: i64) {
                self.0.lock().unwrap().push(offset_secs);
            }
        }
        let mut r = rig_at(WED_13_45_30, 0);
        let offsets = Arc::new(Offsets::default());
        r.rtc.set_change_listener(offsets.clone());
        // 13:45:30 -> 14:45:30 while running: one hour ahead.
        r.write(RTC_HOURS, 0x14);
        assert_eq!(*offsets.0.lock().unwrap(), vec![3600]);
        // Writes in set mode report once, when SET clears.
        r.write(RTC_REG_B, REG_B_SET | REG_B_24H);
        r.write(RTC_HOURS, 0x13);
        r.write(RTC_MINUTES, 0x44);
        r.write(RTC_REG_B, REG_B_24H);
        assert_eq!(*offsets.0.lock().unwrap(), vec![3600, -60]);
    }

    #[test]
    fn binary_mode_shows_plain_numbers() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_B, REG_B_24H | REG_B_DM);
        assert_eq!(r.time(), [13, 45, 30, 4, 25, 11, 26]);
        assert_eq!(r.read(RTC_CENTURY), 20);
    }

    #[test]
    fn twelve_hour_mode_sets_bit7_for_pm() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_B, 0x00);
        assert_eq!(r.read(RTC_HOURS), 0x81, "1 PM in BCD with the PM bit");
        // Midnight reads as 12 AM.
        let mut m = rig_at(LEAP_DAY_23_59_58 + 2, 0);
        m.write(RTC_REG_B, 0x00);
        assert_eq!(m.read(RTC_HOURS), 0x12);
    }

    #[test]
    fn set_mode_takes_the_written_time() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_B, REG_B_SET | REG_B_24H);
        r.write(RTC_HOURS, 0x08);
        r.write(RTC_MINUTES, 0x00);
        r.write(RTC_SECONDS, 0x00);
        r.write(RTC_YEAR, 0x99);
        r.write(RTC_CENTURY, 0x19);
        r.clock.advance(Duration::from_secs(5));
        assert_eq!(r.read(RTC_SECONDS), 0x00, "frozen in set mode");
        r.write(RTC_REG_B, REG_B_24H);
        r.clock.advance(Duration::from_secs(2));
        // The day of week follows the date: 1999-11-25 was a Thursday.
        assert_eq!(r.time(), [0x08, 0x00, 0x02, 0x05, 0x25, 0x11, 0x99]);
        assert_eq!(r.rtc.date().year, 1999);
        assert_eq!(r.read(RTC_CENTURY), 0x19);
    }

    #[test]
    fn uip_is_set_in_the_last_244_us_of_a_second() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.clock.advance(Duration::from_micros(500_000));
        assert_eq!(r.read(RTC_REG_A), 0x26);
        r.clock.advance(Duration::from_micros(499_800));
        assert_eq!(r.read(RTC_REG_A), 0xa6);
        // After the update the bit clears again.
        r.run_until(r.clock.now() + Duration::from_micros(300));
        assert_eq!(r.read(RTC_REG_A), 0x26);
        assert_eq!(r.read(RTC_SECONDS), 0x31);
    }

    #[test]
    fn update_ended_interrupt_each_second_with_uie() {
        // As in QEMU, the guest's seconds start when the RTC is created, not
        // on the host's second boundaries.
        let mut r = rig_at(WED_13_45_30, 250_000_000);
        r.write(RTC_REG_B, REG_B_24H | REG_B_UIE);
        assert!(!r.irq.level());
        let start = r.clock.now();
        r.run_until(start + Duration::from_millis(999));
        assert!(!r.irq.level());
        r.run_until(start + Duration::from_millis(1001));
        assert!(r.irq.level());
        assert_eq!(r.read(RTC_REG_C), REG_C_IRQF | REG_C_UF);
        assert!(!r.irq.level(), "reading C lowers the line");
        assert_eq!(r.read(RTC_REG_C), 0, "and clears the flags");
        r.run_until(start + Duration::from_millis(2001));
        assert!(r.irq.level());
    }

    #[test]
    fn alarm_interrupt_fires_at_the_alarm_time() {
        let mut r = rig_at(WED_13_45_30, 0);
        // Alarm at 13:45:40, AIE only.
        r.write(RTC_HOURS_ALARM, 0x13);
        r.write(RTC_MINUTES_ALARM, 0x45);
        r.write(RTC_SECONDS_ALARM, 0x40);
        r.write(RTC_REG_B, REG_B_24H | REG_B_AIE);
        let start = r.clock.now();
        r.run_until(start + Duration::from_millis(9_999));
        assert!(!r.irq.level());
        assert_eq!(r.read(RTC_SECONDS), 0x39);
        r.run_until(start + Duration::from_secs(10));
        assert!(r.irq.level());
        assert_eq!(r.read(RTC_SECONDS), 0x40);
        // Update-ended is flagged too, but only AF is enabled.
        assert_eq!(r.read(RTC_REG_C), REG_C_IRQF | REG_C_AF | REG_C_UF);
        assert!(!r.irq.level());
    }

    #[test]
    fn alarm_dont_care_fields_match_every_second() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_HOURS_ALARM, 0xff);
        r.write(RTC_MINUTES_ALARM, 0xff);
        r.write(RTC_SECONDS_ALARM, 0xff);
        r.write(RTC_REG_B, REG_B_24H | REG_B_AIE);
        let start = r.clock.now();
        r.run_until(start + Duration::from_secs(1));
        assert!(r.irq.level());
        assert_eq!(r.read(RTC_REG_C) & REG_C_AF, REG_C_AF);
        r.run_until(start + Duration::from_secs(2));
        assert!(r.irq.level());
    }

    #[test]
    fn periodic_interrupt_at_the_register_a_rate() {
        let mut r = rig_at(WED_13_45_30, 0);
        // Rate 6: 1024 Hz, 32 cycles of the 32768 Hz clock.
        r.write(RTC_REG_A, 0x26);
        assert_eq!(
            r.rtc.next_deadline().map(|d| d.as_secs()),
            Some(WED_13_45_30 + 1)
        );
        r.write(RTC_REG_B, REG_B_24H | REG_B_PIE);
        let period = Duration::from_nanos(976_562);
        let deadline = r.rtc.next_deadline().unwrap();
        assert!(deadline <= r.clock.now() + period + Duration::from_nanos(2));
        r.run_until(deadline);
        assert!(r.irq.level());
        assert_eq!(r.read(RTC_REG_C), REG_C_IRQF | REG_C_PF);
        let next = r.rtc.next_deadline().unwrap();
        assert_eq!((next - deadline).as_nanos() / 1000, 976, "one period later");
        // Ten more periods give ten more rising edges.
        let edges = r.irq.rising_edges();
        for _ in 0..10 {
            r.run_until(r.rtc.next_deadline().unwrap());
            r.read(RTC_REG_C);
        }
        assert_eq!(r.irq.rising_edges(), edges + 10);
        r.write(RTC_REG_B, REG_B_24H);
        assert!(
            r.rtc.next_deadline().unwrap() >= r.clock.now() + Duration::from_millis(100),
            "only the update timer remains"
        );
    }

    #[test]
    fn enabling_an_interrupt_whose_flag_is_set_interrupts_at_once() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.run_until(r.clock.now() + Duration::from_secs(1));
        assert!(!r.irq.level(), "UF set but UIE off");
        r.write(RTC_REG_B, REG_B_24H | REG_B_UIE);
        assert!(r.irq.level());
    }

    #[test]
    fn index_port_strips_nmi_bit_and_reads_ff() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.rtc.write(0, &[0x80 | RTC_REG_D]);
        let mut b = [0u8];
        r.rtc.read(1, &mut b);
        assert_eq!(b[0], 0x80);
        r.rtc.read(0, &mut b);
        assert_eq!(b[0], 0xff);
        // 0x37 is the PS/2 alias of the century byte.
        assert_eq!(r.read(RTC_IBM_PS2_CENTURY_BYTE), 0x20);
    }

    #[test]
    fn registers_c_and_d_are_read_only_and_cmos_bytes_are_plain_memory() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_C, 0xff);
        r.write(RTC_REG_D, 0x00);
        assert_eq!(r.read(RTC_REG_C), 0);
        assert_eq!(r.read(RTC_REG_D), 0x80);
        r.write(0x40, 0x5a);
        assert_eq!(r.read(0x40), 0x5a);
        r.rtc.set_cmos_byte(0x41, 0xa5);
        assert_eq!(r.read(0x41), 0xa5);
        assert_eq!(r.rtc.cmos_byte(0x40), 0x5a);
    }

    #[test]
    fn reset_clears_interrupt_state_but_keeps_s3_resume_marker() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_B, REG_B_24H | REG_B_UIE | REG_B_PIE | REG_B_AIE);
        r.write(0x0f, 0xfe);
        r.run_until(r.clock.now() + Duration::from_secs(1));
        assert!(r.irq.level());
        r.rtc.reset();
        assert!(!r.irq.level());
        assert_eq!(r.read(RTC_REG_B), REG_B_24H | REG_B_UIE);
        assert_eq!(r.read(0x0f), 0xfe);
        r.write(0x0f, 0x05);
        r.rtc.reset();
        assert_eq!(r.read(0x0f), 0x00);
    }

    #[test]
    fn divider_reset_stops_the_clock() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_A, 0x70);
        assert_eq!(r.rtc.next_deadline(), None);
        r.clock.advance(Duration::from_secs(10));
        assert_eq!(r.read(RTC_SECONDS), 0x30);
        // Released, the first update comes half a second later.
        r.write(RTC_REG_A, 0x26);
        r.clock.advance(Duration::from_millis(499));
        assert_eq!(r.read(RTC_SECONDS), 0x30);
        r.clock.advance(Duration::from_millis(2));
        assert_eq!(r.read(RTC_SECONDS), 0x31);
    }

    #[test]
    fn far_future_and_garbage_dates_do_not_panic() {
        let mut r = rig_at(WED_13_45_30, 0);
        r.write(RTC_REG_B, REG_B_SET | REG_B_24H);
        for index in [RTC_YEAR, RTC_CENTURY, RTC_MONTH, RTC_DAY_OF_MONTH] {
            r.write(index, 0xbf);
        }
        r.write(RTC_HOURS_ALARM, 0xbf);
        r.write(RTC_REG_B, REG_B_24H | REG_B_AIE | REG_B_UIE | REG_B_PIE);
        r.run_until(r.clock.now() + Duration::from_secs(3));
        r.time();
        r.write(RTC_REG_B, REG_B_24H | REG_B_DM);
        r.write(RTC_CENTURY, 0xff);
        r.run_until(r.clock.now() + Duration::from_secs(2));
        r.time();
    }

    #[test]
    fn date_conversions_round_trip() {
        let d = DateTime::from_unix(0);
        assert_eq!((d.year, d.month, d.day, d.weekday), (1970, 1, 1, 4));
        let d = DateTime::from_unix(946_684_799);
        assert_eq!(
            (d.year, d.month, d.day, d.hour, d.minute, d.second),
            (1999, 12, 31, 23, 59, 59)
        );
        assert_eq!(d.to_unix(), 946_684_799);
        assert_eq!(
            DateTime::from_unix(LEAP_DAY_23_59_58 as i64).to_unix(),
            LEAP_DAY_23_59_58 as i64
        );
    }
}

//! Real-time clocks: the MC146818 CMOS RTC.

pub mod mc146818;

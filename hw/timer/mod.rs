//! Timers modelled in userspace: the 8254 PIT and the speaker port that
//! gates its channel 2.

pub mod i8254;

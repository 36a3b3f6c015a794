//! The QMP schema of rqemu as data, and the values the monitor and the
//! command line share with it.

pub mod version;

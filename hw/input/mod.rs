//! Input devices: the i8042 PS/2 controller with its keyboard and mouse.

pub mod i8042;
pub mod keymap;
pub mod ps2;

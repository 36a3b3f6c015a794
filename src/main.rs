//! `qemu-system-x86_64`: a drop-in replacement for QEMU's PC emulator on KVM.

mod accel;
mod chardev;
mod cpu;
mod os;
mod vl;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args
        .iter()
        .skip(1)
        .any(|a| a == "-version" || a == "--version")
    {
        println!("{}", qapi::version::version_line());
        println!("{}", qapi::version::COPYRIGHT);
    }
}

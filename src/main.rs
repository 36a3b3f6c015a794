//! `qemu-system-x86_64`: a drop-in replacement for QEMU's PC emulator on KVM.

// Not called from main() yet: only their tests use them so far.
#[allow(dead_code, unused_imports)]
mod chardev;
#[allow(dead_code)]
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

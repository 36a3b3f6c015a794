//! `qemu-system-x86_64`: a drop-in replacement for QEMU's PC emulator on KVM.

mod accel;
mod chardev;
mod cpu;
mod os;
mod vl;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match vl::parse_command_line(&args) {
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
        Ok(vl::Command::Exit {
            stdout,
            warnings,
            code,
        }) => {
            for line in warnings {
                eprintln!("{line}");
            }
            print!("{stdout}");
            std::process::exit(code);
        }
        Ok(vl::Command::CpuHelp { warnings }) => {
            for line in warnings {
                eprintln!("{line}");
            }
        }
        Ok(vl::Command::Run(description)) => {
            for line in &description.warnings {
                eprintln!("{line}");
            }
            for device in &description.devices {
                if let Err(error) = vl::validate_device(device) {
                    eprintln!("{error}");
                    std::process::exit(1);
                }
            }
        }
    }
}

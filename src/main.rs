//! `qemu-system-x86_64`: a drop-in replacement for QEMU's PC emulator on KVM.
//!
//! argv -> `vl` (a `MachineDescription`) -> chardevs and the `Machine` ->
//! the main loop, until the machine or a signal ends the process.

mod accel;
mod chardev;
mod cpu;
mod machine;
mod main_loop;
mod monitor;
mod os;
mod vl;

use std::process::exit;
use std::time::{Duration, Instant};

use accel::qtest::server::QtestServer;
use chardev::ChardevSet;
use machine::{Machine, MachineContext};
use main_loop::MainLoop;
use monitor::events::EventQueue;
use monitor::Monitors;
use vl::description::MachineDescription;

fn print_lines(lines: &[String]) {
    for line in lines {
        eprintln!("{line}");
    }
}

/// `-overcommit mem-lock=on`: keep all guest and emulator memory resident.
fn mem_lock_requested(desc: &MachineDescription) -> bool {
    desc.other
        .iter()
        .any(|(option, dict)| option == "overcommit" && vl::qdict::is_on(dict, "mem-lock"))
}

/// Build the machine `desc` describes and run it; returns the exit status.
fn run(desc: &MachineDescription) -> Result<i32, String> {
    let daemon = if desc.lifecycle.daemonize {
        Some(
            os::daemon::daemonize_start()
                .map_err(|e| format!("qemu-system-x86_64: -daemonize: {e}"))?,
        )
    } else {
        None
    };
    if mem_lock_requested(desc) {
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
            let err = std::io::Error::last_os_error();
            return Err(format!(
                "qemu-system-x86_64: mlockall: {}\nqemu-system-x86_64: locking memory failed",
                os::strerror(&err)
            ));
        }
    }
    let mut signals = os::signals::install()
        .map_err(|e| format!("qemu-system-x86_64: cannot install signal handlers: {e}"))?;
    let _pidfile = match &desc.lifecycle.pidfile {
        Some(path) => Some(
            os::pidfile::Pidfile::create(path).map_err(|e| format!("qemu-system-x86_64: {e}"))?,
        ),
        None => None,
    };
    let mut main_loop =
        MainLoop::new().map_err(|e| format!("qemu-system-x86_64: main loop: {e}"))?;
    let mut chardevs = ChardevSet::new(main_loop.waker());
    for opts in &desc.chardevs {
        let location = (!opts.location.is_empty()).then_some(opts.location.as_str());
        chardevs.add(opts, location).map_err(|e| match location {
            Some(at) => format!("qemu-system-x86_64: {at}: {e}"),
            None => format!("qemu-system-x86_64: {e}"),
        })?;
    }
    let events = EventQueue::default();
    let mut monitors = Monitors::new(events.clone());
    for options in &desc.monitors {
        monitors
            .add(&mut chardevs, options)
            .map_err(|e| format!("qemu-system-x86_64: -mon chardev={}: {e}", options.chardev))?;
    }
    let mut machine = Machine::build(
        desc,
        MachineContext {
            chardevs: &mut chardevs,
            requests: main_loop.requests(),
            waker: main_loop.waker(),
            events,
        },
    )
    .map_err(|e| e.to_string())?;
    let mut qtest = match &desc.qtest {
        Some(options) => Some(
            QtestServer::connect(&mut chardevs, &options.chardev, options.log.as_deref())
                .map_err(|e| format!("qemu-system-x86_64: {e}"))?,
        ),
        None => None,
    };
    if let Some(daemon) = daemon {
        daemon
            .finish()
            .map_err(|e| format!("qemu-system-x86_64: -daemonize: {e}"))?;
    }
    let status = main_loop
        .run(
            &mut chardevs,
            &mut monitors,
            qtest.as_mut(),
            &mut signals,
            &mut machine,
        )
        .map_err(|e| format!("qemu-system-x86_64: main loop: {e}"))?;
    // The last replies (to `quit`, say) reach a slow monitor client too,
    // unless it stops reading altogether.
    let give_up = Instant::now() + EXIT_FLUSH_PATIENCE;
    while chardevs.flush_held_output() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(status)
}

/// How long the process waits at exit for monitor clients to read what
/// they were sent.
const EXIT_FLUSH_PATIENCE: Duration = Duration::from_secs(1);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let desc = match vl::parse_command_line(&args) {
        Err(error) => {
            eprintln!("{error}");
            exit(1);
        }
        Ok(vl::Command::Exit {
            stdout,
            warnings,
            code,
        }) => {
            print_lines(&warnings);
            print!("{stdout}");
            exit(code);
        }
        Ok(vl::Command::CpuHelp { warnings }) => {
            print_lines(&warnings);
            print!("{}", cpu::models::cpu_help());
            exit(0);
        }
        Ok(vl::Command::Run(desc)) => desc,
    };
    print_lines(&desc.warnings);
    match run(&desc) {
        Ok(status) => exit(status),
        Err(message) => {
            eprintln!("{message}");
            exit(1);
        }
    }
}

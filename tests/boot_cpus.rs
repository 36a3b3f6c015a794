//! Guests that start a second CPU, reset the machine, or must not run.

mod common;

use std::thread;
use std::time::Duration;

use common::{boot_args, guest, run, spawn, Guest, BOOT_TIMEOUT, GUEST_SUCCESS, RQEMU};

#[test]
fn second_cpu_starts_with_init_sipi_sipi() {
    let mut args = boot_args("pc", "128", &guest(Guest::Smp));
    args.extend(["-smp".to_string(), "2".to_string()]);
    let ours = run(RQEMU, &args, BOOT_TIMEOUT);
    // QEMU 7.2 prints exactly this.
    assert_eq!(
        ours.stdout, "cpu0: hello, apic id 00\ncpu1: hello, apic id 01\ncpu0: cpu1 is up\n",
        "{ours:?}"
    );
    assert_eq!(ours.code(), Some(GUEST_SUCCESS));
}

fn check_reset(kernel: Guest, how: &str) {
    let args = boot_args("pc", "128", &guest(kernel));
    let ours = run(RQEMU, &args, BOOT_TIMEOUT);
    // The guest's count survives the reset and the kernel is loaded
    // again: QEMU 7.2 prints exactly this.
    assert_eq!(
        ours.stdout,
        format!(
            "reset guest: boot 00000001\nresetting {how}\n\
             reset guest: boot 00000002\nsecond boot, bye\n"
        ),
        "{ours:?}"
    );
    assert_eq!(ours.code(), Some(GUEST_SUCCESS));
}

#[test]
fn reset_through_i8042() {
    check_reset(Guest::ResetI8042, "through the i8042");
}

#[test]
fn reset_by_triple_fault() {
    check_reset(Guest::ResetTripleFault, "with a triple fault");
}

#[test]
fn stopped_machine_runs_nothing() {
    let mut args = boot_args("pc", "128", &guest(Guest::Pvh32));
    args.push("-S".to_string());
    let mut child = spawn(RQEMU, &args);
    thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "exited while stopped"
    );
    // SAFETY: kill() with the pid of our own child process.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.stdout.is_empty(),
        "guest ran: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    // QEMU 7.2 exits with status 0 on SIGTERM.
    assert_eq!(output.status.code(), Some(0));
}

//! QEMU's own Python QMP library (PyPI's `qemu.qmp`, installed by
//! scripts/setup.sh) against our monitor and against QEMU 7.2: the asyncio
//! QMPClient, qmp-shell in a pseudo-terminal and the legacy
//! QEMUMonitorProtocol run tests/qmp_python/conversation.py on each
//! emulator, and what they saw must be the same.

mod common;
mod qmp_client;

use std::process::Command;
use std::time::Duration;

use common::{QEMU, RQEMU};
use qmp_client::{qmp_socket_args, scratch, Vm};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/qmp_python/conversation.py"
);

/// The script's report on `program`, and how the program ended. Both
/// emulators get the same socket path, which `query-chardev` shows.
fn conversation(program: &str) -> (String, Option<i32>) {
    let dir = scratch("python");
    let socket = dir.join("qmp.sock");
    let mut args: Vec<String> = [
        "-machine",
        "none",
        "-accel",
        "kvm",
        "-S",
        "-nodefaults",
        "-display",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(qmp_socket_args("-qmp", &socket));
    let vm = Vm::start(program, &args, &socket);
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(&socket)
        .output()
        .expect("run python3");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the script failed on {program}:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _) = vm.wait(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
    (report, status.code())
}

#[test]
fn qemu_python_clients_see_what_qemu_7_2_answers() {
    let (qemu, qemu_status) = conversation(QEMU);
    let (ours, our_status) = conversation(RQEMU);
    // Each client reached its end: QEMU 7.2's answer to the last step.
    assert!(
        qemu.contains(r#""step": "quit", "arguments": {}, "reply": {"return": {}}"#),
        "QEMU 7.2's report lacks quit:\n{qemu}"
    );
    for (q, o) in qemu.lines().zip(ours.lines()) {
        assert!(o == q, "{}", first_difference(o, q));
    }
    assert_eq!(ours.lines().count(), qemu.lines().count(), "{ours}");
    assert_eq!(our_status, qemu_status);
}

/// Where report lines `ours` and `qemu` part, with some text before: the
/// lines of long answers run to many kilobytes.
fn first_difference(ours: &str, qemu: &str) -> String {
    let at = ours
        .char_indices()
        .zip(qemu.chars())
        .find(|((_, a), b)| a != b)
        .map_or(ours.len().min(qemu.len()), |((i, _), _)| i);
    let from = ours[..at]
        .char_indices()
        .rev()
        .nth(200)
        .map_or(0, |(i, _)| i);
    let head: String = ours.chars().take(80).collect();
    format!(
        "the reports part in the step {head}...\n ours: ...{}\n QEMU: ...{}",
        ours[from..].chars().take(400).collect::<String>(),
        qemu[from..].chars().take(400).collect::<String>()
    )
}

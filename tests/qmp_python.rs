//! QEMU's own Python QMP library (PyPI's `qemu.qmp`, installed by
//! scripts/setup.sh) against our monitor and against QEMU 7.2: the asyncio
//! QMPClient, qmp-shell in a pseudo-terminal and the legacy
//! QEMUMonitorProtocol run tests/qmp_python/conversation.py on each
//! emulator, and what they saw must be the same.

mod common;
mod qmp_client;

use std::process::Command;

use serde_json::Value;
use std::time::Duration;

use common::{QEMU, RQEMU};
use qmp_client::{machine_args, qmp_socket_args, scratch, Vm};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/qmp_python/conversation.py"
);

/// The script's report on `program`, and how the program ended. Both
/// emulators get the same socket path, which `query-chardev` shows.
fn conversation(program: &str) -> (String, Option<i32>) {
    let dir = scratch("python");
    let socket = dir.join("qmp.sock");
    let mut args = machine_args("none", &["-S"]);
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
        if o.starts_with(r#"{"client": "QMPClient listing""#) {
            check_listing(o, q);
        } else {
            assert!(o == q, "{}", first_difference(o, q));
        }
    }
    assert_eq!(ours.lines().count(), qemu.lines().count(), "{ours}");
    assert_eq!(our_status, qemu_status);
}

/// A listing (`query-commands`, `qom-list`, ...): each of our entries has
/// an entry of QEMU's with its name, equal in the members compared.
fn check_listing(ours: &str, qemu: &str) {
    let ours: Value = serde_json::from_str(ours).expect("a JSON report line");
    let qemu: Value = serde_json::from_str(qemu).expect("a JSON report line");
    let step = &ours["step"];
    assert_eq!(step, &qemu["step"]);
    let compared = |entry: &Value| -> Value {
        match ours["compared"].as_array() {
            Some(members) => members
                .iter()
                .filter_map(|m| m.as_str())
                .map(|m| (m.to_string(), entry[m].clone()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            None => entry.clone(),
        }
    };
    let empty = Vec::new();
    let theirs = qemu["reply"].as_array().unwrap_or(&empty);
    let entries = ours["reply"].as_array().unwrap_or(&empty);
    assert_eq!(
        ours["reply"].is_array(),
        qemu["reply"].is_array(),
        "{step}: {}",
        ours["reply"]
    );
    for entry in entries {
        let name = &entry["name"];
        assert!(
            theirs
                .iter()
                .any(|t| &t["name"] == name && compared(t) == compared(entry)),
            "{step}: QEMU 7.2 has no {}",
            compared(entry)
        );
    }
    if !ours["reply"].is_array() {
        assert_eq!(ours["reply"], qemu["reply"], "{step}");
    }
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

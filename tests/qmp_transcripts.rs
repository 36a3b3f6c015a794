//! Replays the byte-exact QMP conversations recorded from QEMU 7.2
//! (`reference/qemu-7.2/qmp/transcript*.log`) against our binary, and
//! against QEMU 7.2 itself to check the replay: every exchange whose
//! commands we implement must get the recorded reply byte for byte, with
//! timestamps, version numbers and the package string masked.
//!
//! Exchanges are skipped, each with its reason printed, when they run a
//! command not implemented here (unless QEMU rejects the request before
//! looking the command up), or when their reply depends on one that was
//! skipped.

mod common;
mod qmp_client;

use std::path::{Path, PathBuf};

use qmp_client::{count_lines, machine_args, mask, qmp_socket_args, scratch, Client, Vm, QUIET};

use common::{guest, Guest, QEMU, RQEMU};

/// Names QEMU 7.2 has no command for: replayable, as both refuse them.
const UNKNOWN_COMMANDS: &[&str] = &["nope", "x-nope", "x-oob-test"];

/// Whether the monitor runs `command` (every command of the schema) or
/// refuses it as QEMU does.
fn replayable(command: &str) -> bool {
    qapi::commands::command(command).is_some() || UNKNOWN_COMMANDS.contains(&command)
}

/// Commands that change the run state: once one is skipped, `query-status`
/// and `query-migrate` replies no longer match.
const RUN_STATE_COMMANDS: &[&str] = &["migrate"];

/// The queries of the state those commands change.
const RUN_STATE_QUERIES: &[&str] = &["query-status", "query-migrate"];

/// Exchanges whose reply depends on what only QEMU runs (its firmware)
/// or on a difference declared in `compat/DIFFERENCES.md`.
const SPECIAL_SKIPS: &[(&str, &str)] = &[
    (
        r#"{"execute":"system_reset","id":"r"}"#,
        "the second RESET (guest-reset) is SeaBIOS resetting the machine once more; no firmware runs here",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info registers"},"id":27}"#,
        "the register values: QEMU's vCPU is at its firmware's reset vector, ours at the kernel entry (the layout is compared in tests/hmp.rs)",
    ),
    (
        r#"{"execute":"inject-nmi","id":"nmi"}"#,
        "the NMI waits for the paused vCPU: QEMU's firmware takes it in real mode, our kernel takes it before it has an IDT (inject-nmi is compared in tests/qmp_commands.rs)",
    ),
    (
        r#"{"execute":"system_wakeup","id":"wake"}"#,
        "a declared difference: without ACPI power management the guest cannot be woken",
    ),
];

/// The reference files live in `shared/` beside the checkout.
fn reference(relative: &str) -> Vec<u8> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference/qemu-7.2/qmp").join(relative))
        .find_map(|path: PathBuf| std::fs::read(path).ok())
        .expect("QEMU 7.2 QMP transcripts")
}

/// A Python bytes literal (`b'...'` or `b"..."`) as bytes.
fn python_bytes(literal: &str) -> Vec<u8> {
    let body = &literal[2..literal.len() - 1];
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let escaped = bytes[i + 1];
        i += 2;
        match escaped {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hex = std::str::from_utf8(&bytes[i..i + 2]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                i += 2;
            }
            other => out.push(other),
        }
    }
    out
}

/// One step of a recorded conversation.
#[derive(Debug)]
struct Exchange {
    /// What the client sent (none: it only listened).
    sent: Option<Vec<u8>>,
    /// What came back; `<EOF>` marks the end of the stream.
    received: Vec<u8>,
}

fn exchanges(transcript: &[u8]) -> Vec<Exchange> {
    let text = String::from_utf8_lossy(transcript);
    let mut out: Vec<Exchange> = Vec::new();
    let mut pending: Option<Vec<u8>> = None;
    for line in text.lines() {
        if let Some(literal) = line.strip_prefix("-> ") {
            pending = Some(python_bytes(literal));
        } else if let Some(literal) = line.strip_prefix("<- ") {
            out.push(Exchange {
                sent: pending.take(),
                received: python_bytes(literal),
            });
        }
    }
    out
}

/// The name a request runs, if it names one.
fn command_of(request: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(request);
    let value: serde_json::Value = serde_json::from_str(&text.replace('\'', "\"")).ok()?;
    let object = value.as_object()?;
    object
        .get("execute")
        .or_else(|| object.get("exec-oob"))?
        .as_str()
        .map(str::to_owned)
}

/// Why an exchange cannot be replayed here, if it cannot.
fn skip_reason(exchange: &Exchange, state_unknown: bool) -> Option<String> {
    let sent = exchange.sent.as_deref()?;
    let text = String::from_utf8_lossy(sent);
    if let Some((_, reason)) = SPECIAL_SKIPS.iter().find(|(s, _)| text.trim_end() == *s) {
        return Some(reason.to_string());
    }
    let command = command_of(sent)?;
    let received = String::from_utf8_lossy(&exchange.received);
    // Refused before QEMU looks the command up: replayable whatever it is.
    if received.contains("QMP input member") || received.contains("Expecting capabilities") {
        return None;
    }
    if !replayable(&command) {
        return Some(format!("{command} is not implemented"));
    }
    if state_unknown && RUN_STATE_QUERIES.contains(&command.as_str()) {
        return Some("the run state comes from a command skipped earlier".to_string());
    }
    None
}

/// Replays `transcript` against `program` started with `args`; returns
/// the skipped exchanges with their reasons.
fn replay(program: &str, name: &str, transcript: &str, args: &[String]) -> Vec<String> {
    let dir = scratch(&format!("{name}-{}", program.len()));
    let socket = dir.join("qmp.sock");
    let mut full_args = args.to_vec();
    full_args.extend(qmp_socket_args("-qmp", &socket));
    let _vm = Vm::start(program, &full_args, &socket);
    let mut client: Option<Client> = None;
    let mut skipped = Vec::new();
    let mut state_unknown = false;
    for exchange in exchanges(&reference(transcript)) {
        if let Some(reason) = skip_reason(&exchange, state_unknown) {
            let sent = exchange.sent.as_deref().unwrap_or_default();
            if command_of(sent).is_some_and(|c| RUN_STATE_COMMANDS.contains(&c.as_str())) {
                state_unknown = true;
            }
            skipped.push(format!(
                "{}: {reason}",
                String::from_utf8_lossy(sent).trim_end()
            ));
            continue;
        }
        let expected = &exchange.received;
        let got = match &exchange.sent {
            // A greeting on its own: the recording client (re)connected.
            None if expected.starts_with(b"{\"QMP\"") => {
                let mut new_client = Client::connect(&socket);
                let got = new_client.read_lines(1);
                client = Some(new_client);
                got
            }
            sent => {
                let client = client.as_mut().expect("a connection");
                if let Some(sent) = sent {
                    // Files the recording wrote go to this run's scratch
                    // directory.
                    let scratch_file = dir.join("scratch.out");
                    let text = String::from_utf8_lossy(sent)
                        .replace("SCRATCH", &scratch_file.display().to_string());
                    client.send(text.as_bytes());
                }
                if expected.ends_with(b"<EOF>") {
                    let mut got = client.read_to_eof();
                    got.extend_from_slice(b"<EOF>");
                    got
                } else if expected.is_empty() {
                    client.read_for(QUIET)
                } else {
                    client.read_lines(count_lines(expected))
                }
            }
        };
        assert_eq!(
            mask(&String::from_utf8_lossy(&got)),
            mask(&String::from_utf8_lossy(expected)),
            "{program}, {transcript}, after sending {:?}",
            exchange.sent.as_deref().map(String::from_utf8_lossy)
        );
    }
    skipped
}

/// Replays against both binaries; prints what was skipped.
fn replay_both(transcript: &str, args: &[String]) {
    let skipped = replay(RQEMU, transcript, transcript, args);
    let qemu_skipped = replay(QEMU, transcript, transcript, args);
    assert_eq!(skipped, qemu_skipped);
    for skip in &skipped {
        println!("{transcript}: skipped {skip}");
    }
}

/// The machine the transcripts were recorded on, paused: a Q35 PC with
/// two vCPUs (and a kernel, which QEMU's firmware has not loaded yet
/// while paused); then `extra`.
fn args_with(extra: &[&str]) -> Vec<String> {
    let kernel = guest(Guest::Nmi);
    let kernel = kernel.to_str().expect("utf-8 path");
    let mut args = machine_args("q35", &["-smp", "2", "-m", "128", "-S", "-kernel", kernel]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn transcript1_envelope_negotiation_and_run_state() {
    replay_both(
        "transcript1.log",
        &args_with(&[
            "-name",
            "testvm",
            "-uuid",
            "12345678-1234-1234-1234-123456789abc",
        ]),
    );
}

#[test]
fn transcript2_out_of_band() {
    replay_both("transcript2.log", &args_with(&[]));
}

#[test]
fn transcript4_json_errors() {
    replay_both("transcript4-jsonerrors.log", &args_with(&["-name", "vm4"]));
}

#[test]
fn transcript5_argument_errors() {
    replay_both("transcript5-argerrors.log", &args_with(&["-name", "vm5"]));
}

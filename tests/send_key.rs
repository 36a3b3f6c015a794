//! QMP `send-key` compared with QEMU 7.2: the bytes a guest reads from the
//! PS/2 keyboard for every key QEMU names, for combinations and for keys
//! given by number, in scancode sets 1, 2 and 3 with the controller's
//! translation on and off; and the replies, on machines with and without
//! a keyboard.

mod common;
mod qmp_client;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use qapi::types::QKeyCode;

use common::{
    boot_args, guest, serial_on, wait_for_serial, Guest, BOOT_TIMEOUT, GUEST_SUCCESS, QEMU, RQEMU,
};
use qmp_client::{mask, qmp_socket_args, scratch, start_with_qmp, Client, Vm};

/// The keyboard guest's phases (tests/guests/keyboard.S).
const PHASES: usize = 5;

/// A scratch directory of its own for each emulator a test starts.
fn fresh_scratch(what: &str) -> std::path::PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    scratch(&format!("{what}-{}", COUNT.fetch_add(1, Ordering::Relaxed)))
}

/// A `send-key` request; a key written `#n` is the number n.
fn send_key(keys: &[&str], hold_time: Option<i64>) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|key| match key.strip_prefix('#') {
            Some(number) => format!(r#"{{"type":"number","data":{number}}}"#),
            None => format!(r#"{{"type":"qcode","data":"{key}"}}"#),
        })
        .collect();
    let hold_time = hold_time.map_or(String::new(), |ms| format!(r#","hold-time":{ms}"#));
    format!(
        r#"{{"execute":"send-key","arguments":{{"keys":[{}]{hold_time}}}}}"#,
        keys.join(",")
    )
}

/// A request and how long its key events take: every event is followed
/// by a pause of the hold time (10 ms by default).
struct Typing {
    request: String,
    duration: Duration,
}

fn typing(keys: &[&str], hold_time: Option<i64>) -> Typing {
    let pause = match hold_time {
        Some(ms @ 1..) => ms as u64,
        _ => 10,
    };
    Typing {
        request: send_key(keys, hold_time),
        duration: Duration::from_millis(2 * keys.len() as u64 * pause),
    }
}

/// The hold time of most requests: the guest reads while other tests load
/// the host, and the keyboard keeps only 16 bytes for it.
const HOLD_MS: i64 = 25;

/// Phases that type every key: one per scancode table (untranslated
/// sets 2, 1 and 3); the translated phases type a few.
const EVERY_KEY_PHASES: [usize; 3] = [1, 2, 3];

/// What the test types in a phase: every key on its own (but Esc, which
/// ends a phase) or a few, then combinations that change what print
/// screen and pause send, keys by number (set 1 codes, 0x80 for the 0xe0
/// prefix; numbers of no key; numbers beyond 32 bits) and other hold
/// times, among them QEMU's default.
fn phase_typing(phase: usize) -> Vec<Typing> {
    let few = [
        "a",
        "shift",
        "1",
        "right",
        "kp_divide",
        "print",
        "pause",
        "lang1",
    ];
    let mut requests: Vec<Typing> = QKeyCode::ALL
        .iter()
        .map(|key| key.as_str())
        .filter(|&key| key != "esc")
        .filter(|key| EVERY_KEY_PHASES.contains(&phase) || few.contains(key))
        .map(|key| typing(&[key], Some(HOLD_MS)))
        .collect();
    let combinations: &[&[&str]] = &[
        &["shift", "a"],
        &["ctrl", "alt", "delete"],
        &["ctrl_r", "kp_divide"],
        &["alt", "print"],
        &["alt_r", "print"],
        &["shift", "print"],
        &["ctrl_r", "print"],
        &["alt", "sysrq"],
        &["ctrl", "pause"],
        &["ctrl_r", "pause"],
        &["meta_l", "r"],
        // By number: a, right ctrl, keypad /, pause, print screen, lang1.
        &["#30", "#157", "#181", "#198", "#84", "#114"],
        // Left shift by number with a key by name.
        &["#42", "b"],
        // No key: unassigned, beyond the table, negative, zero.
        &["#85", "#286", "#-1", "#0"],
        // Only the low 32 bits count: 'a'.
        &["#4294967326"],
    ];
    requests.extend(combinations.iter().map(|keys| typing(keys, Some(HOLD_MS))));
    requests.push(typing(&["c", "d"], None));
    requests.push(typing(&["e"], Some(0)));
    requests
}

/// Boots the keyboard guest under `program`, types in every phase once
/// the guest is ready, and returns how the emulator exited and what the
/// guest printed.
fn keyboard_run(program: &str) -> (Option<i32>, String) {
    let dir = fresh_scratch("keyboard");
    let socket = dir.join("qmp.sock");
    let serial = dir.join("serial.txt");
    let args = serial_on(
        boot_args("pc", "128M", &guest(Guest::Keyboard)),
        format!("file:{}", serial.display()),
    );
    let (vm, mut client) = start_with_qmp(program, &args, &socket);
    for phase in 0..PHASES {
        wait_for_serial(&serial, &format!("ready {phase}\n"), program);
        for typing in &phase_typing(phase) {
            assert_eq!(client.exchange(&typing.request, 1), "{\"return\": {}}\r\n");
            // Events queue behind each other, up to QEMU's limit of 1024
            // entries; a pace the guest keeps up with stays far below it.
            thread::sleep(typing.duration);
        }
        client.exchange(&send_key(&["esc"], None), 1);
    }
    let (status, _) = vm.wait(BOOT_TIMEOUT);
    (
        status.code(),
        std::fs::read_to_string(&serial).unwrap_or_default(),
    )
}

#[test]
fn the_guest_reads_what_it_reads_under_qemu() {
    let reference = thread::spawn(|| keyboard_run(QEMU));
    let ours = keyboard_run(RQEMU);
    assert_eq!(ours.0, Some(GUEST_SUCCESS), "{}", ours.1);
    // Set 2 translated, as set 1 has it: the first keys are shift, 1 and
    // a, each pressed and released.
    assert!(ours.1.contains("ready 0\n2a aa 02 82 1e 9e "), "{}", ours.1);
    assert_eq!(ours, reference.join().expect("QEMU run"));
}

/// A machine paused before it starts, with the keyboard guest on PCs.
fn paused_args(machine: &str, socket: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["-machine", machine, "-accel", "kvm", "-nodefaults"]
        .iter()
        .chain(&["-display", "none", "-S"])
        .map(|s| s.to_string())
        .collect();
    if machine != "none" {
        args.push("-kernel".to_string());
        args.push(guest(Guest::Keyboard).display().to_string());
    }
    args.extend(qmp_socket_args("-qmp", socket));
    args
}

/// The replies of `program` to `send-key` requests, good and bad.
fn replies(program: &str, machine: &str) -> String {
    let dir = fresh_scratch("replies");
    let socket = dir.join("qmp.sock");
    let _vm = Vm::start(program, &paused_args(machine, &socket), &socket);
    let mut client = Client::negotiated(&socket);
    let requests = [
        send_key(&["a"], None),
        send_key(&[], None),
        send_key(&["#-5", "#99999999999"], Some(-5)),
        send_key(&["bogus"], None),
        r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"a"}],"hold-time":"x"}}"#.to_string(),
        r#"{"execute":"send-key","arguments":{"keys":[{"type":"qcode"}]}}"#.to_string(),
        r#"{"execute":"send-key","arguments":{"keys":[{"type":"foo","data":1}]}}"#.to_string(),
        r#"{"execute":"send-key","arguments":{}}"#.to_string(),
    ];
    let mut out = String::new();
    for request in requests {
        out.push_str(&format!(">> {request}\n"));
        out.push_str(&mask(&client.exchange(&request, 1)));
    }
    out
}

#[test]
fn replies_match_qemu_with_and_without_a_keyboard() {
    for machine in ["none", "pc"] {
        let ours = replies(RQEMU, machine);
        assert!(ours.contains("Parameter 'keys' is missing"), "{ours}");
        assert_eq!(ours, replies(QEMU, machine), "-machine {machine}");
    }
}

//! QMP commands answered by the machine as a whole, compared with QEMU 7.2
//! run the same way: the state of migration, jobs, iothreads and the
//! balloon, power requests, NMIs, and the machine types.

mod common;
mod qmp_client;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use common::{
    boot_args, guest, serial_on, wait_for_serial, Guest, BOOT_TIMEOUT, GUEST_SUCCESS, QEMU, RQEMU,
};
use qmp_client::{machine_args, mask, qmp_socket_args, scratch, start_with_qmp, Client, Vm};

/// A machine paused before it starts; the PC machines get the NMI guest,
/// which waits in `hlt` once started.
fn idle_args(machine: &str, socket: &Path) -> Vec<String> {
    let mut args = machine_args(machine, &["-S"]);
    if machine != "none" {
        args.push("-kernel".to_string());
        args.push(guest(Guest::Nmi).display().to_string());
    }
    args.extend(qmp_socket_args("-qmp", socket));
    args
}

/// A scratch directory of its own for each emulator a test starts.
fn fresh_scratch(what: &str) -> std::path::PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    scratch(&format!("{what}-{}", COUNT.fetch_add(1, Ordering::Relaxed)))
}

/// Sends each request (one reply line each, after the events it raises)
/// to `program` and returns the masked conversation.
fn converse(program: &str, machine: &str, requests: &[(&str, usize)]) -> String {
    let dir = fresh_scratch("commands");
    let socket = dir.join("qmp.sock");
    let _vm = Vm::start(program, &idle_args(machine, &socket), &socket);
    let mut client = Client::negotiated(&socket);
    let mut out = String::new();
    for (request, lines) in requests {
        out.push_str(&format!(">> {request}\n"));
        out.push_str(&mask(&client.exchange(request, *lines)));
    }
    out
}

#[test]
fn machine_state_commands_match_qemu() {
    let requests: &[(&str, usize)] = &[
        (r#"{"execute":"query-balloon","id":1}"#, 1),
        (r#"{"execute":"query-migrate","id":2}"#, 1),
        (r#"{"execute":"query-jobs","id":3}"#, 1),
        (r#"{"execute":"query-iothreads","id":4}"#, 1),
        (
            r#"{"execute":"migrate-set-capabilities","arguments":{"capabilities":[]}}"#,
            1,
        ),
        (
            r#"{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"xbzrle"}]}}"#,
            1,
        ),
        (
            r#"{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"bogus","state":true}]}}"#,
            1,
        ),
        // The event comes before the reply.
        (r#"{"execute":"system_powerdown","id":5}"#, 2),
        (r#"{"execute":"cont"}"#, 2),
        (r#"{"execute":"system_powerdown","id":6}"#, 2),
        (r#"{"execute":"query-balloon","arguments":{"x":1}}"#, 1),
        (
            r#"{"execute":"memsave","arguments":{"val":0,"size":16,"filename":"/nonexistent/m","cpu-index":7}}"#,
            1,
        ),
        (
            r#"{"execute":"pmemsave","arguments":{"val":0,"size":16,"filename":"/nonexistent/p"}}"#,
            1,
        ),
    ];
    for machine in ["none", "pc", "q35"] {
        assert_eq!(
            converse(RQEMU, machine, requests),
            converse(QEMU, machine, requests),
            "-machine {machine}"
        );
    }
    // Without CPUs there is nobody to take an NMI; without ACPI (which only
    // the PC machines have in QEMU) nobody to wake up.
    let cpu_less: &[(&str, usize)] = &[
        (r#"{"execute":"inject-nmi"}"#, 1),
        (
            r#"{"execute":"memsave","arguments":{"val":0,"size":16,"filename":"/dev/null"}}"#,
            1,
        ),
        (r#"{"execute":"system_wakeup"}"#, 1),
    ];
    assert_eq!(
        converse(RQEMU, "none", cpu_less),
        converse(QEMU, "none", cpu_less)
    );
}

/// QEMU's `query-machines` entry of each machine type we have equals ours,
/// but for CPU hotplug, which we do not offer.
#[test]
fn query_machines_matches_qemu_for_our_machine_types() {
    let request = r#"{"execute":"query-machines"}"#;
    let list = |v: Value| v.as_array().expect("a list").clone();
    let ours = list(query(RQEMU, request));
    let qemu = list(query(QEMU, request));
    assert!(!ours.is_empty());
    for mut entry in ours {
        let name = entry["name"].clone();
        let mut theirs = qemu
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("QEMU has no machine {name}"))
            .clone();
        assert_eq!(entry["hotpluggable-cpus"], false);
        entry["hotpluggable-cpus"] = Value::Null;
        theirs["hotpluggable-cpus"] = Value::Null;
        assert_eq!(entry, theirs);
    }
}

/// What a run of the NMI guest gave: exit status, serial output, and
/// the guest's image in memory (`pmemsave` of 1 MiB + 16 KiB) while it
/// waited.
type NmiRun = (Option<i32>, String, Vec<u8>);

/// Boots the NMI guest, waits until it says it is waiting, dumps its
/// memory, injects an NMI over QMP and returns what happened.
fn nmi_run(program: &str) -> NmiRun {
    let dir = fresh_scratch("nmi");
    let socket = dir.join("qmp.sock");
    let serial = dir.join("serial.txt");
    let args = serial_on(
        boot_args("pc", "128M", &guest(Guest::Nmi)),
        format!("file:{}", serial.display()),
    );
    let (vm, mut client) = start_with_qmp(program, &args, &socket);
    wait_for_serial(&serial, "waiting", program);
    let dump = dir.join("image.bin");
    let request = format!(
        r#"{{"execute":"pmemsave","arguments":{{"val":1048576,"size":16384,"filename":"{}"}}}}"#,
        dump.display()
    );
    assert_eq!(client.exchange(&request, 1), "{\"return\": {}}\r\n");
    let image = std::fs::read(&dump).expect("memory dump");
    // The guest runs without paging: virtual addresses are physical.
    let virtual_dump = dir.join("virtual.bin");
    let request = format!(
        r#"{{"execute":"memsave","arguments":{{"val":1048576,"size":16384,"filename":"{}"}}}}"#,
        virtual_dump.display()
    );
    assert_eq!(client.exchange(&request, 1), "{\"return\": {}}\r\n");
    assert_eq!(std::fs::read(&virtual_dump).expect("memsave dump"), image);
    let request =
        r#"{"execute":"memsave","arguments":{"val":-4096,"size":16,"filename":"/dev/null"}}"#;
    assert_eq!(
        client.exchange(request, 1),
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid addr 0xfffffffffffff000/size 16 specified\"}}\r\n"
    );
    client.send(br#"{"execute":"inject-nmi"}"#);
    let (status, _) = vm.wait(BOOT_TIMEOUT);
    (
        status.code(),
        std::fs::read_to_string(&serial).unwrap_or_default(),
        image,
    )
}

#[test]
fn memory_dumps_and_inject_nmi_as_in_qemu() {
    let ours = nmi_run(RQEMU);
    assert_eq!(ours.0, Some(GUEST_SUCCESS), "{}", ours.1);
    assert_eq!(ours.2.len(), 16384);
    assert!(
        ours.2.iter().any(|&b| b != 0),
        "the guest image is in the dump"
    );
    let qemu = nmi_run(QEMU);
    assert_eq!((ours.0, &ours.1), (qemu.0, &qemu.1));
    let differ: Vec<usize> = (0..ours.2.len())
        .filter(|&i| ours.2[i] != qemu.2[i])
        .collect();
    assert!(differ.is_empty(), "bytes differ at {differ:x?}");
}

/// The `return` of `request`, sent to a fresh `-M none` of `program`.
fn query(program: &str, request: &str) -> Value {
    let text = converse(program, "none", &[(request, 1)]);
    let reply = text.lines().nth(1).expect("reply line");
    let value: Value = serde_json::from_str(reply).expect("JSON reply");
    value["return"].clone()
}

/// Each option we report has QEMU's parameters (names, types and help),
/// and an unknown option gets QEMU's error.
#[test]
fn query_command_line_options_matches_qemu() {
    let request = r#"{"execute":"query-command-line-options"}"#;
    let ours = query(RQEMU, request);
    let qemu = query(QEMU, request);
    let params = |option: &Value| -> Vec<String> {
        let mut list: Vec<String> = option["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(Value::to_string)
            .collect();
        list.sort();
        list
    };
    let ours = ours.as_array().expect("a list");
    assert!(ours.len() >= 10);
    for option in ours {
        let name = &option["option"];
        let theirs = qemu
            .as_array()
            .expect("a list")
            .iter()
            .find(|o| &o["option"] == name)
            .unwrap_or_else(|| panic!("QEMU has no option {name}"));
        assert_eq!(params(option), params(theirs), "{name}");
    }
    let bad = [(
        r#"{"execute":"query-command-line-options","arguments":{"option":"bogus"}}"#,
        1,
    )];
    assert_eq!(converse(RQEMU, "none", &bad), converse(QEMU, "none", &bad));
}

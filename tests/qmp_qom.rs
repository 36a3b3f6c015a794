//! The QOM tree and types over QMP, side by side with QEMU 7.2: what we
//! list must be among QEMU's entries with the same types, the values we
//! read must be QEMU's, and errors must be byte for byte QEMU's.

mod common;
mod qmp_client;

use std::io::{BufRead, BufReader};

use serde_json::{json, Value};

use common::Guest;
use qmp_client::{scratch, start_with_qmp, Client, Vm};

const RQEMU: &str = env!("CARGO_BIN_EXE_qemu-system-x86_64");
const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// One emulator with a negotiated QMP connection.
struct Session {
    _vm: Vm,
    reader: BufReader<std::os::unix::net::UnixStream>,
    client: Client,
}

impl Session {
    fn start(program: &str, name: &str, args: &[String]) -> Session {
        // `-qmp unix:PATH,...` splits at commas and reads '=' as a key.
        let name = name.replace([',', '='], "_");
        let dir = scratch(&format!("qom-{name}-{}", program.len()));
        let socket = dir.join("qmp.sock");
        let mut full: Vec<String> = args.to_vec();
        full.extend(["-S", "-nodefaults", "-display", "none"].map(String::from));
        let (vm, client) = start_with_qmp(program, &full, &socket);
        let reader = BufReader::new(client.stream.try_clone().expect("clone the socket"));
        Session {
            _vm: vm,
            reader,
            client,
        }
    }

    /// The reply line to `request`, events skipped.
    fn raw(&mut self, request: &Value) -> String {
        self.client.send(format!("{request}\n").as_bytes());
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("a reply");
            assert!(!line.is_empty(), "the monitor closed");
            if !line.starts_with("{\"event\"") {
                return line;
            }
        }
    }

    fn reply(&mut self, request: &Value) -> Value {
        serde_json::from_str(&self.raw(request)).expect("JSON reply")
    }

    fn ok(&mut self, request: &Value) -> Value {
        let reply = self.reply(request);
        reply
            .get("return")
            .cloned()
            .unwrap_or_else(|| panic!("{request} failed: {reply}"))
    }

    fn execute(&mut self, command: &str, arguments: Value) -> Value {
        self.ok(&json!({"execute": command, "arguments": arguments}))
    }

    fn qom_list(&mut self, path: &str) -> Vec<(String, String)> {
        let listed = self.execute("qom-list", json!({ "path": path }));
        listed
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// Both emulators on one PC command line (with a kernel: we boot no
/// firmware yet).
fn both(name: &str, args: &[&str]) -> (Session, Session) {
    let kernel = common::guest(Guest::Pvh64);
    let mut full: Vec<String> = ["-accel", "kvm", "-kernel", kernel.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    full.extend(args.iter().map(|s| s.to_string()));
    (
        Session::start(RQEMU, name, &full),
        Session::start(QEMU, name, &full),
    )
}

/// Walks our tree from `/`: every property we list must be QEMU's of the
/// same type, and every value we read (not the host-dependent thread ids)
/// must equal QEMU's.
fn compare_tree(ours: &mut Session, qemu: &mut Session, path: &str) {
    let our_list = ours.qom_list(path);
    let qemu_list = qemu.qom_list(path);
    for (name, type_name) in &our_list {
        assert!(
            qemu_list.contains(&(name.clone(), type_name.clone())),
            "{path}: QEMU has no {name} of type {type_name}; it has {qemu_list:?}"
        );
        let child = format!("{}/{name}", path.trim_end_matches('/'));
        if type_name.starts_with("child<") {
            compare_tree(ours, qemu, &child);
            continue;
        }
        let request = json!({"execute": "qom-get", "arguments": {"path": path, "property": name}});
        assert_eq!(ours.reply(&request), qemu.reply(&request), "{path} {name}");
    }
}

#[test]
fn pc_tree_matches_qemu() {
    let (mut ours, mut qemu) = both(
        "pc",
        &[
            "-M",
            "pc",
            "-smp",
            "2",
            "-device",
            "isa-debug-exit",
            "-device",
            "isa-serial,id=com",
            "-device",
            "pci-bridge,chassis_nr=1,id=br",
            "-device",
            "pcie-root-port",
            "-device",
            "pci-bridge,chassis_nr=2",
            "-device",
            "pci-bridge,chassis_nr=3,bus=br",
        ],
    );
    compare_tree(&mut ours, &mut qemu, "/");
}

#[test]
fn q35_tree_matches_qemu() {
    for smp in ["1", "4", "4,sockets=2,cores=2"] {
        let (mut ours, mut qemu) = both(
            &format!("q35-{smp}"),
            &[
                "-M",
                "q35",
                "-cpu",
                "qemu64",
                "-smp",
                smp,
                "-device",
                "pcie-root-port,id=rp1",
                "-device",
                "pcie-root-port,chassis=2",
                "-device",
                "pci-bridge,chassis_nr=3,bus=rp1,id=br",
                "-device",
                "isa-debugcon,iobase=0x402,chardev=dbg",
                "-chardev",
                "null,id=dbg",
            ],
        );
        compare_tree(&mut ours, &mut qemu, "/");
    }
}

/// `query-cpus-fast` and `query-hotpluggable-cpus` with the thread ids
/// masked.
#[test]
fn cpu_queries_match_qemu() {
    let mask = |mut reply: Value| {
        for cpu in reply.as_array_mut().expect("a list") {
            if let Some(id) = cpu.get_mut("thread-id") {
                *id = json!(0);
            }
        }
        reply
    };
    for (machine, smp) in [
        ("pc", "1"),
        ("pc", "2,maxcpus=4"),
        ("q35", "4,sockets=2,cores=2"),
        ("q35", "4,threads=2"),
        ("pc", "4,dies=2"),
    ] {
        let (mut ours, mut qemu) = both(
            &format!("cpus-{machine}-{smp}"),
            &["-M", machine, "-smp", smp],
        );
        for command in ["query-cpus-fast", "query-hotpluggable-cpus"] {
            assert_eq!(
                mask(ours.execute(command, json!({}))),
                mask(qemu.execute(command, json!({}))),
                "{machine} -smp {smp}: {command}"
            );
        }
    }
}

/// Errors, byte for byte.
#[test]
fn errors_match_qemu() {
    let (mut ours, mut qemu) = both(
        "errors",
        &[
            "-M",
            "q35",
            "-smp",
            "2",
            "-device",
            "pcie-root-port,id=rp1",
            "-device",
            "isa-debug-exit",
        ],
    );
    let requests = [
        json!({"execute": "qom-get", "arguments": {"path": "/machine/x", "property": "type"}}),
        json!({"execute": "qom-get", "arguments": {"path": "/machine", "property": "foo"}}),
        json!({"execute": "qom-get", "arguments": {"path": "nosuch", "property": "type"}}),
        json!({"execute": "qom-list", "arguments": {"path": ""}}),
        json!({"execute": "qom-list", "arguments": {"path": "device[0]"}}),
        json!({"execute": "qom-list", "arguments": {"path": "/machine/peripheral/nosuch"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/peripheral/rp1", "property": "chassis", "value": 3}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/peripheral/rp1", "property": "type", "value": "x"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/peripheral/rp1", "property": "parent_bus", "value": "x"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/peripheral/rp1", "property": "nosuch", "value": 1}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/peripheral-anon/device[0]", "property": "iobase", "value": 1}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[0]", "property": "apic-id", "value": 1}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[0]", "property": "vendor", "value": 1}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[0]", "property": "family", "value": "x"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "vendor", "value": "x"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "vendor", "value": "GenuineIntel"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "model", "value": 256}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "stepping", "value": -1}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "family", "value": 1.5}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "family", "value": 270}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "family", "value": 271}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/unattached/device[2]", "property": "model-id", "value": "abc"}}),
        json!({"execute": "qom-get", "arguments": {"path": "/machine/unattached/device[2]", "property": "vendor"}}),
        json!({"execute": "qom-get", "arguments": {"path": "/machine/unattached/device[2]", "property": "family"}}),
        json!({"execute": "qom-get", "arguments": {"path": "/machine/unattached/device[2]", "property": "model-id"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine", "property": "kernel", "value": 5}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine", "property": "append", "value": "console=ttyS0"}}),
        json!({"execute": "qom-get", "arguments": {"path": "/machine", "property": "append"}}),
        json!({"execute": "qom-set", "arguments": {"path": "/machine/peripheral/rp1", "property": "realized", "value": true}}),
        json!({"execute": "device-list-properties", "arguments": {"typename": "nosuch"}}),
        json!({"execute": "device-list-properties", "arguments": {"typename": "pci-device"}}),
        json!({"execute": "device-list-properties", "arguments": {"typename": "pc-q35-7.2-machine"}}),
        json!({"execute": "qom-list-properties", "arguments": {"typename": "nosuch"}}),
        json!({"execute": "qom-list-types", "arguments": {"implements": "nosuch"}}),
    ];
    for request in &requests {
        assert_eq!(ours.raw(request), qemu.raw(request), "{request}");
    }
}

#[test]
fn none_machine_matches_qemu() {
    let args = ["-M", "none", "-accel", "kvm"].map(String::from);
    let mut ours = Session::start(RQEMU, "none", &args);
    let mut qemu = Session::start(QEMU, "none", &args);
    compare_tree(&mut ours, &mut qemu, "/machine");
    for command in ["query-cpus-fast", "query-hotpluggable-cpus"] {
        let request = json!({ "execute": command });
        assert_eq!(ours.raw(&request), qemu.raw(&request), "{command}");
    }
}

fn entries(list: &Value) -> Vec<Value> {
    list.as_array().expect("a list").clone()
}

/// Every type we list is QEMU's with the same parent and abstract flag;
/// what implements a type here implements it in QEMU; every property a
/// type lists is QEMU's, with QEMU's type, default and description.
#[test]
fn types_match_qemu() {
    let args = ["-M", "none", "-accel", "kvm"].map(String::from);
    let mut ours = Session::start(RQEMU, "types", &args);
    let mut qemu = Session::start(QEMU, "types", &args);
    let all = json!({"abstract": true});
    let qemu_types = entries(&qemu.execute("qom-list-types", all.clone()));
    let our_types = entries(&ours.execute("qom-list-types", all));
    for entry in &our_types {
        assert!(qemu_types.contains(entry), "QEMU has no type {entry}");
    }
    for ancestor in [
        "device",
        "pci-device",
        "base-pci-bridge",
        "pci-express-device",
        "conventional-pci-device",
        "isa-device",
        "x86_64-cpu",
        "machine",
        "bus",
        "memory-backend",
        "user-creatable",
    ] {
        for include_abstract in [false, true] {
            let arguments = json!({"implements": ancestor, "abstract": include_abstract});
            let qemu_list = entries(&qemu.execute("qom-list-types", arguments.clone()));
            let our_list = entries(&ours.execute("qom-list-types", arguments));
            assert!(!our_list.is_empty() || include_abstract, "{ancestor}");
            for entry in &our_list {
                assert!(
                    qemu_list.contains(entry),
                    "{ancestor}: QEMU lists no {entry}"
                );
            }
        }
    }
    for entry in &our_types {
        let name = entry["name"].as_str().unwrap();
        let typename = json!({ "typename": name });
        for command in ["qom-list-properties", "device-list-properties"] {
            let request = json!({"execute": command, "arguments": typename});
            let qemu_reply = qemu.reply(&request);
            let our_reply = ours.reply(&request);
            match (our_reply.get("return"), qemu_reply.get("return")) {
                (Some(our_list), Some(qemu_list)) => {
                    let qemu_list = entries(qemu_list);
                    for property in entries(our_list) {
                        assert!(
                            qemu_list.contains(&property),
                            "{command} {name}: QEMU has no {property}"
                        );
                    }
                }
                _ => assert_eq!(our_reply, qemu_reply, "{command} {name}"),
            }
        }
    }
}

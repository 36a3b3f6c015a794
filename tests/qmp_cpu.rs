//! The CPU model queries compared with QEMU 7.2 run the same way on this
//! host (`-machine none -accel kvm`), and with what QEMU 7.2 and libvirt
//! 9.0 recorded elsewhere.

mod common;
mod qmp_client;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use common::{QEMU, RQEMU};
use qmp_client::{machine_args, scratch, start_with_qmp};

/// The models we have, by the names QEMU lists them under.
const OUR_MODELS: &[&str] = &[
    "max",
    "host",
    "base",
    "qemu64-v1",
    "qemu64",
    "kvm64-v1",
    "kvm64",
];

/// The reply line of `program` to each of `requests`, on a paused
/// `-machine none` under KVM.
fn replies(program: &str, requests: &[String]) -> Vec<String> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = scratch(&format!("cpu-{}", COUNT.fetch_add(1, Ordering::Relaxed)));
    let socket = dir.join("qmp.sock");
    let args = machine_args("none", &["-S"]);
    let (_vm, mut client) = start_with_qmp(program, &args, &socket);
    requests
        .iter()
        .map(|request| client.exchange(request, 1))
        .collect()
}

fn parse(reply: &str) -> Value {
    serde_json::from_str(reply).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

fn expansion(kind: &str, model: Value) -> String {
    json!({"execute": "query-cpu-model-expansion", "arguments": {"type": kind, "model": model}})
        .to_string()
}

/// The recorded files live in `shared/reference/` beside the checkout.
fn reference(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference").join(relative))
        .find_map(|path| std::fs::read_to_string(path).ok())
        .expect("reference files")
}

/// QEMU's entries for our models, in its order and with its member order,
/// are ours.
#[test]
fn cpu_definitions_match_qemu() {
    let request = [r#"{"execute":"query-cpu-definitions"}"#.to_string()];
    let entries = |reply: &str| -> Vec<String> {
        parse(reply)["return"]
            .as_array()
            .expect("a list")
            .iter()
            .filter(|d| OUR_MODELS.iter().any(|name| d["name"] == *name))
            .map(Value::to_string)
            .collect()
    };
    let ours = entries(&replies(RQEMU, &request)[0]);
    let qemu = entries(&replies(QEMU, &request)[0]);
    assert_eq!(ours.len(), OUR_MODELS.len());
    assert_eq!(ours, qemu);
}

/// Every expansion libvirt asks for, and both kinds for every model, give
/// QEMU's properties and values; static ones byte for byte.
#[test]
fn cpu_model_expansions_match_qemu() {
    let mut requests = Vec::new();
    for kind in ["static", "full"] {
        for model in OUR_MODELS {
            requests.push(expansion(kind, json!({"name": model})));
        }
    }
    // libvirt 9.0's probe, then property switches of each kind.
    for (kind, model) in [
        (
            "static",
            json!({"name": "host", "props": {"migratable": false}}),
        ),
        (
            "full",
            json!({"name": "host", "props": {"migratable": false, "hv-passthrough": true}}),
        ),
        (
            "static",
            json!({"name": "max", "props": {"migratable": false}}),
        ),
        (
            "full",
            json!({"name": "qemu64", "props": {"sse4_2": true, "family": 6, "invtsc": true}}),
        ),
        (
            "static",
            json!({"name": "qemu64", "props": {"min-level": 5, "lmce": true}}),
        ),
        (
            "full",
            json!({"name": "kvm64", "props": {"svm": true, "kvmclock": false}}),
        ),
        (
            "full",
            json!({"name": "base", "props": {"xd": true, "kvmclock": true}}),
        ),
        (
            "full",
            json!({"name": "qemu64", "props": {"lbr-fmt": 5, "hv-apicv": true}}),
        ),
        (
            "full",
            json!({"name": "qemu64", "props": {"vendor": "GenuineIntel", "model-id": "x".repeat(60)}}),
        ),
        ("static", json!({"name": "max", "props": {"x2apic": false}})),
        // Not an object: ignored.
        ("full", json!({"name": "qemu64", "props": [1]})),
    ] {
        requests.push(expansion(kind, model));
    }
    let ours = replies(RQEMU, &requests);
    let qemu = replies(QEMU, &requests);
    for ((request, ours), qemu) in requests.iter().zip(&ours).zip(&qemu) {
        if request.contains(r#""type":"static""#) {
            assert_eq!(ours, qemu, "{request}");
        } else {
            // A full expansion lists the object's properties in the order
            // of QEMU's property tables; the members are the same.
            assert_eq!(parse(ours), parse(qemu), "{request}");
        }
    }
}

/// Wrong models and property values get QEMU's error, byte for byte.
#[test]
fn cpu_model_expansion_errors_match_qemu() {
    let mut requests: Vec<String> = [
        json!({"name": "nosuch"}),
        json!({"name": "qemu64-x86_64-cpu"}),
        json!({"name": "qemu64", "props": {"nosuch": true}}),
        json!({"name": "qemu64", "props": {"migratable": false}}),
        json!({"name": "qemu64", "props": {"kvm_pv_ipi": true}}),
        json!({"name": "qemu64", "props": {"pni": "yes"}}),
        json!({"name": "qemu64", "props": {"sse4_2": 1}}),
        json!({"name": "host", "props": {"migratable": null}}),
        json!({"name": "qemu64", "props": {"family": "x"}}),
        json!({"name": "qemu64", "props": {"family": 1.5}}),
        json!({"name": "qemu64", "props": {"family": -1}}),
        json!({"name": "qemu64", "props": {"stepping": 99}}),
        json!({"name": "qemu64", "props": {"model": 1_u64 << 40}}),
        json!({"name": "qemu64", "props": {"tsc-frequency": -5}}),
        json!({"name": "qemu64", "props": {"level": -1}}),
        json!({"name": "qemu64", "props": {"level": "x"}}),
        json!({"name": "qemu64", "props": {"level": 1_u64 << 33}}),
        json!({"name": "qemu64", "props": {"host-phys-bits-limit": 300}}),
        json!({"name": "qemu64", "props": {"hv-version-id-major": 70000}}),
        json!({"name": "qemu64", "props": {"ucode-rev": "x"}}),
        json!({"name": "qemu64", "props": {"node-id": "x"}}),
        json!({"name": "qemu64", "props": {"node-id": 1_u64 << 31}}),
        json!({"name": "qemu64", "props": {"lbr-fmt": -1}}),
        json!({"name": "qemu64", "props": {"model-id": 5}}),
        json!({"name": "qemu64", "props": {"vendor": "x"}}),
        json!({"name": "qemu64", "props": {"hv-no-nonarch-coresharing": "x"}}),
        json!({"name": "qemu64", "props": {"hv-no-nonarch-coresharing": 1}}),
        json!({"name": "qemu64", "props": {"feature-words": 1}}),
        json!({"name": "qemu64", "props": {"unavailable-features": []}}),
        json!({"name": "qemu64", "props": {"legacy-memory": "x"}}),
        json!({"name": "qemu64", "props": {"type": "x"}}),
        json!({"name": "qemu64", "props": {"hotplugged": true}}),
        json!({"name": "qemu64", "props": {"realized": true}}),
        json!({"name": "qemu64", "props": {"memory": "x"}}),
        // QEMU sets them in its dictionary's order: the first to fail wins.
        json!({"name": "qemu64", "props": {"a": 1, "b": 2, "c": 3, "pni": 1}}),
    ]
    .into_iter()
    .map(|model| expansion("full", model))
    .collect();
    requests.extend(
        [
            r#"{"execute":"query-cpu-model-expansion","arguments":{"type":"full"}}"#,
            r#"{"execute":"query-cpu-model-expansion","arguments":{"type":"bogus","model":{"name":"qemu64"}}}"#,
            r#"{"execute":"query-cpu-model-expansion","arguments":{"type":"static","model":{"name":"qemu64"},"x":1}}"#,
            r#"{"execute":"query-cpu-definitions","arguments":{"x":1}}"#,
        ]
        .map(str::to_string),
    );
    let ours = replies(RQEMU, &requests);
    let qemu = replies(QEMU, &requests);
    for ((request, ours), qemu) in requests.iter().zip(&ours).zip(&qemu) {
        assert!(qemu.starts_with("{\"error\""), "{request}: {qemu}");
        assert_eq!(ours, qemu, "{request}");
    }
}

/// The definitions QEMU 7.2 recorded (on a host like this one) for our
/// models, entry for entry.
#[test]
fn cpu_definitions_match_the_recording() {
    let recorded = parse(&reference("qemu-7.2/qmp/query-cpu-definitions.json"));
    let recorded: Vec<&Value> = recorded["return"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|d| OUR_MODELS.iter().any(|name| d["name"] == *name))
        .collect();
    let request = [r#"{"execute":"query-cpu-definitions"}"#.to_string()];
    let ours = parse(&replies(RQEMU, &request)[0]);
    let ours: Vec<&Value> = ours["return"].as_array().expect("a list").iter().collect();
    assert_eq!(ours, recorded);
}

/// The static expansions QEMU 7.2 gave libvirt 9.0 name the same
/// properties as ours (their values are another host's).
#[test]
fn static_expansion_properties_match_libvirts_recording() {
    let text = reference("libvirt-9.0/caps_7.2.22-debian_x86_64.libvirt-9.0.0.replies");
    let messages: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("JSON messages");
    let mut compared = 0;
    // Each reply follows its request (ids repeat across probe processes).
    for pair in messages.windows(2) {
        let (request, recorded) = (&pair[0], &pair[1]);
        if request["execute"] != "query-cpu-model-expansion" {
            continue;
        }
        assert_eq!(recorded["id"], request["id"]);
        let ours = parse(
            &replies(
                RQEMU,
                &[json!({"execute": "query-cpu-model-expansion", "arguments": request["arguments"]})
                    .to_string()],
            )[0],
        );
        let names = |reply: &Value| -> Vec<String> {
            let mut names: Vec<String> = reply["return"]["model"]["props"]
                .as_object()
                .expect("properties")
                .keys()
                .cloned()
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            ours["return"]["model"]["name"], recorded["return"]["model"]["name"],
            "{request}"
        );
        assert_eq!(names(&ours), names(recorded), "{request}");
        compared += 1;
    }
    assert!(compared >= 3);
}

//! QEMU 7.2's recorded answers (`reference/qemu-7.2/qmp/`) read into our
//! return types and serialised again must come out unchanged: our types
//! carry exactly what QEMU sends.

mod common;

use qapi::types::*;
use qapi::visit::{FromQmp, Name};
use serde::Serialize;
use serde_json::Value;

/// Reads `value` as a `T` and serialises it back.
fn round_trip<T: FromQmp + Serialize>(value: &Value) -> Value {
    let name = Name {
        full: "return",
        member: None,
    };
    let typed = T::from_qmp(value, name).unwrap_or_else(|e| panic!("{}: {value}", e.desc));
    serde_json::to_value(typed).expect("serialise")
}

/// Checks one recorded answer of `command`; false when the command is not
/// one whose return type we know here.
fn check(command: &str, answer: &Value) -> bool {
    let back = match command {
        "query-status" => round_trip::<StatusInfo>(answer),
        "query-version" => round_trip::<VersionInfo>(answer),
        "query-name" => round_trip::<NameInfo>(answer),
        "query-uuid" => round_trip::<UuidInfo>(answer),
        "query-kvm" => round_trip::<KvmInfo>(answer),
        "query-target" => round_trip::<TargetInfo>(answer),
        "query-cpus-fast" => round_trip::<Vec<CpuInfoFast>>(answer),
        "qom-list" | "device-list-properties" | "qom-list-properties" => {
            round_trip::<Vec<ObjectPropertyInfo>>(answer)
        }
        "query-chardev" => round_trip::<Vec<ChardevInfo>>(answer),
        "query-hotpluggable-cpus" => round_trip::<Vec<HotpluggableCPU>>(answer),
        "query-balloon" => round_trip::<BalloonInfo>(answer),
        "query-migrate" => round_trip::<MigrationInfo>(answer),
        "query-iothreads" => round_trip::<Vec<IOThreadInfo>>(answer),
        "query-fdsets" => round_trip::<Vec<FdsetInfo>>(answer),
        "human-monitor-command" => round_trip::<String>(answer),
        "query-machines" => round_trip::<Vec<MachineInfo>>(answer),
        "query-cpu-definitions" => round_trip::<Vec<CpuDefinitionInfo>>(answer),
        "query-cpu-model-expansion" => round_trip::<CpuModelExpansionInfo>(answer),
        "query-command-line-options" => round_trip::<Vec<CommandLineOptionInfo>>(answer),
        "qom-list-types" => round_trip::<Vec<ObjectTypeInfo>>(answer),
        _ => return false,
    };
    assert_eq!(&back, answer, "{command}");
    true
}

#[test]
fn recorded_query_answers() {
    let text = common::reference("qemu-7.2/qmp/queries.json");
    let queries: serde_json::Map<String, Value> =
        serde_json::from_str(&text).expect("queries.json");
    let mut checked = Vec::new();
    for (request, reply) in &queries {
        let command = request.split(' ').next().unwrap_or("");
        if let Some(answer) = reply.get("return") {
            if check(command, answer) {
                checked.push(command);
            }
        }
    }
    for command in [
        "query-status",
        "query-version",
        "query-cpus-fast",
        "qom-list",
        "query-chardev",
        "query-hotpluggable-cpus",
        "query-migrate",
        "device-list-properties",
        "human-monitor-command",
    ] {
        assert!(checked.contains(&command), "{command} not checked");
    }
}

#[test]
fn recorded_answer_files() {
    for (file, command) in [
        ("query-machines.json", "query-machines"),
        ("query-cpu-definitions.json", "query-cpu-definitions"),
        (
            "query-cpu-model-expansion.json",
            "query-cpu-model-expansion",
        ),
        (
            "query-command-line-options.json",
            "query-command-line-options",
        ),
        ("qom-list-types.json", "qom-list-types"),
        ("query-commands.json", "query-commands"),
    ] {
        let text = common::reference(&format!("qemu-7.2/qmp/{file}"));
        let reply: Value = serde_json::from_str(&text).expect(file);
        let answer = &reply["return"];
        if command == "query-commands" {
            assert_eq!(&round_trip::<Vec<CommandInfo>>(answer), answer);
        } else {
            assert!(check(command, answer), "{command}");
        }
    }
}

#[test]
fn events_serialise_as_qemu_sends_them() {
    // From transcript5-argerrors.log: quit and system_reset.
    let shutdown = qapi::QmpEvent::Shutdown(ShutdownEvent {
        guest: false,
        reason: ShutdownCause::HostQmpQuit,
    });
    assert_eq!(shutdown.name(), "SHUTDOWN");
    assert_eq!(
        shutdown.data(),
        Some(serde_json::json!({"guest": false, "reason": "host-qmp-quit"}))
    );
    let reset = qapi::QmpEvent::Reset(ResetEvent {
        guest: true,
        reason: ShutdownCause::GuestReset,
    });
    assert_eq!(
        reset.data(),
        Some(serde_json::json!({"guest": true, "reason": "guest-reset"}))
    );
    // Events without data leave `data` out.
    assert_eq!(qapi::QmpEvent::Resume.data(), None);
    assert_eq!(qapi::QmpEvent::Stop.name(), "STOP");
    let deleted = qapi::QmpEvent::DeviceDeleted(DeviceDeletedEvent {
        device: None,
        path: "/machine/peripheral-anon/device[0]".into(),
    });
    assert_eq!(
        deleted.data(),
        Some(serde_json::json!({"path": "/machine/peripheral-anon/device[0]"}))
    );
}

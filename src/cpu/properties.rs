//! The QOM properties of an x86 CPU object, named and typed as QEMU 7.2's
//! (target/i386/cpu.c): a bool for every feature under each of its
//! spellings, and the model's other settings.
//!
//! QEMU fills some values in when the CPU is realized; `qom-get` on a vCPU
//! reads those, `query-cpu-model-expansion` reads a CPU that was never
//! realized. [`Stage`] tells which.

use serde_json::{json, Value};

use super::cpuid::GuestCpu;
use super::features::{word, Reg, ALIASES, FEATURE_WORDS, MSR_FEATURE_WORDS, MSR_WORD_COUNT};
use super::models::ModelKind;

/// One property: its name, its QOM type name, and what `qom-get` returns
/// (`Value::Null` where QEMU's `qom-get` fails: `legacy-memory` is
/// write-only, `crash-information` exists only after a guest panic).
#[derive(Debug, Clone, PartialEq)]
pub struct CpuProperty {
    pub name: String,
    pub type_name: &'static str,
    pub value: serde_json::Value,
}

impl CpuProperty {
    fn new(name: &str, type_name: &'static str, value: Value) -> Self {
        CpuProperty {
            name: name.to_string(),
            type_name,
            value,
        }
    }
}

/// When the properties are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A CPU created only to be looked at: features as asked for, before
    /// the host filters them; settings QEMU fills in at realize unset.
    Unrealized,
    /// A vCPU of the running machine: features as the guest sees them.
    Realized,
}

/// The properties of a vCPU object of the machine (`/machine/unattached/
/// device[N]`), except those of every device (`type`, `parent_bus`,
/// `realized`, `hotplugged`, `hotpluggable`), the `lapic` child and the
/// vCPU's place in the topology ([`cpu_position_properties`]).
#[allow(dead_code)] // for the vCPU objects of the QOM tree
pub fn cpu_properties(cpu: &GuestCpu) -> Vec<CpuProperty> {
    properties(cpu, Stage::Realized)
        .into_iter()
        .map(|p| p.property)
        .collect()
}

/// Where a vCPU sits: its APIC ID and its socket, die, core and thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuPosition {
    pub apic_id: u32,
    pub socket_id: i32,
    pub die_id: i32,
    pub core_id: i32,
    pub thread_id: i32,
    /// The NUMA node, when `-numa` gave the machine nodes.
    pub node_id: Option<i32>,
}

/// The topology properties of the vCPU at `position`.
#[allow(dead_code)] // for the vCPU objects of the QOM tree
pub fn cpu_position_properties(position: &CpuPosition) -> Vec<CpuProperty> {
    position_properties(Some(position))
}

/// The topology properties, unset (as before realize) without a position.
pub(crate) fn position_properties(position: Option<&CpuPosition>) -> Vec<CpuProperty> {
    // An unplaced CPU has every ID unset: -1, and UNASSIGNED_APIC_ID.
    let id = |pick: fn(&CpuPosition) -> i32| json!(position.map_or(-1, pick));
    vec![
        CpuProperty::new(
            "apic-id",
            "uint32",
            json!(position.map_or(u32::MAX, |p| p.apic_id)),
        ),
        CpuProperty::new(
            "node-id",
            "int32",
            json!(position.and_then(|p| p.node_id).unwrap_or(-1)),
        ),
        CpuProperty::new("socket-id", "int32", id(|p| p.socket_id)),
        CpuProperty::new("die-id", "int32", id(|p| p.die_id)),
        CpuProperty::new("core-id", "int32", id(|p| p.core_id)),
        CpuProperty::new("thread-id", "int32", id(|p| p.thread_id)),
    ]
}

/// A property and whether a request may set it (QEMU's full expansion
/// reports only properties that can be both read and written).
pub(crate) struct Setting {
    pub property: CpuProperty,
    pub writable: bool,
}

/// The feature bits a CPU's properties show at `stage`.
fn shown_words(cpu: &GuestCpu, stage: Stage) -> [u32; word::COUNT] {
    let mut words = *cpu.feature_words();
    if stage == Stage::Unrealized {
        for (w, filtered) in cpu.filtered_words().iter().enumerate() {
            words[w] |= filtered;
        }
    }
    words
}

/// Every feature property by its QEMU name, in QEMU's word and bit order
/// (its MSR words sit between CPUID leaf 6 and leaf 0x14), with its value.
fn feature_values(
    words: &[u32; word::COUNT],
    msr_words: &[u64; MSR_WORD_COUNT],
) -> Vec<(&'static str, bool)> {
    let cpuid_word = |w: usize| {
        let fw = &FEATURE_WORDS[w];
        fw.names
            .iter()
            .copied()
            .filter(|n| !n.is_empty())
            .map(move |name| {
                let mask = fw.mask_of(name);
                (name, words[w] & mask == mask)
            })
    };
    let msr_word = |w: usize| {
        let mw = &MSR_FEATURE_WORDS[w];
        mw.names.iter().map(move |(_, name)| {
            let mask = mw.mask_of(name);
            (*name, msr_words[w] & mask == mask)
        })
    };
    let all = (0..word::F14_0_ECX)
        .flat_map(cpuid_word)
        .chain((0..MSR_WORD_COUNT).flat_map(msr_word))
        .chain((word::F14_0_ECX..word::COUNT).flat_map(cpuid_word));
    // A name given to two bits is one property.
    let mut out: Vec<(&'static str, bool)> = Vec::new();
    for (name, on) in all {
        if out.iter().all(|(seen, _)| *seen != name) {
            out.push((name, on));
        }
    }
    out
}

/// The properties a static expansion reports, in the order QEMU builds
/// its list of them: a few settings, then the features.
pub(crate) fn static_property_names() -> Vec<&'static str> {
    const SETTINGS: &[&str] = &[
        "min-level",
        "min-xlevel",
        "family",
        "model",
        "stepping",
        "model-id",
        "vendor",
        "lmce",
    ];
    let features = feature_values(&[0; word::COUNT], &[0; MSR_WORD_COUNT]);
    SETTINGS
        .iter()
        .copied()
        .chain(features.into_iter().map(|(name, _)| name))
        .collect()
}

/// The features the host lacks for `cpu`, one name per bit in word order,
/// as QEMU lists them in `unavailable-features`.
pub(crate) fn filtered_feature_names(cpu: &GuestCpu) -> Vec<&'static str> {
    FEATURE_WORDS
        .iter()
        .zip(cpu.filtered_words())
        .flat_map(|(fw, filtered)| {
            (0..32)
                .filter(move |bit| filtered & (1 << bit) != 0)
                .map(|bit| fw.names[bit])
        })
        .collect()
}

/// Every property of `cpu` at `stage`, except those of every device and the
/// topology.
pub(crate) fn properties(cpu: &GuestCpu, stage: Stage) -> Vec<Setting> {
    let features = feature_values(&shown_words(cpu, stage), cpu.msr_feature_words());
    let mut out = settings(cpu, stage);
    let bool_setting = |name: &str, value: bool| Setting {
        property: CpuProperty::new(name, "bool", json!(value)),
        writable: true,
    };
    out.extend(features.iter().map(|(name, on)| bool_setting(name, *on)));
    for (alias, target) in ALIASES {
        if let Some((_, on)) = features.iter().find(|(name, _)| name == target) {
            out.push(bool_setting(alias, *on));
        }
    }
    out
}

/// The settings other than features, with QEMU 7.2's types and values.
fn settings(cpu: &GuestCpu, stage: Stage) -> Vec<Setting> {
    let realized = stage == Stage::Realized;
    let passthrough = cpu.model().kind == ModelKind::Passthrough;
    let amd = cpu.vendor() == "AuthenticAMD";
    let (family, model, stepping) = cpu.signature();
    let (level, xlevel, xlevel2) = cpu.levels();
    let words = shown_words(cpu, stage);
    let mut out = Vec::new();
    let mut add = |name: &str, type_name: &'static str, value: Value, writable: bool| {
        out.push(Setting {
            property: CpuProperty::new(name, type_name, value),
            writable,
        })
    };
    add("family", "int", json!(family), true);
    add("model", "int", json!(model), true);
    add("stepping", "int", json!(stepping), true);
    add("vendor", "string", json!(cpu.vendor()), true);
    add("model-id", "string", json!(cpu.model_id()), true);
    add("level", "uint32", json!(level), true);
    add("xlevel", "uint32", json!(xlevel), true);
    add("xlevel2", "uint32", json!(0), true);
    add("min-level", "uint32", json!(level), true);
    add("min-xlevel", "uint32", json!(xlevel), true);
    add("min-xlevel2", "uint32", json!(xlevel2), true);
    add("level-func7", "uint32", json!(cpu.level_func7()), true);
    // QEMU's default width, or the host's for host and max.
    let phys_bits = if realized { cpu.phys_bits() } else { 0 };
    add("phys-bits", "uint32", json!(phys_bits), true);
    add("host-phys-bits", "bool", json!(passthrough), true);
    add("host-phys-bits-limit", "uint8", json!(0), true);
    // Filled in at realize: QEMU's made-up microcode revisions.
    let ucode_rev: u64 = match (realized, amd) {
        (false, _) => 0,
        (true, true) => 0x0100_0065,
        (true, false) => 0x1_0000_0000,
    };
    add("ucode-rev", "uint64", json!(ucode_rev), true);
    // The vCPU's TSC rate is the accelerator's, which is not read here.
    add("tsc-frequency", "int", json!(0), true);
    // LBR format unset (~0x3f).
    add("lbr-fmt", "uint64", json!(0xffff_ffff_ffff_ffc0u64), true);
    add("lbr_fmt", "uint64", json!(0xffff_ffff_ffff_ffc0u64), true);
    for (name, on) in [
        ("pmu", passthrough),
        ("check", true),
        ("enforce", false),
        ("x-force-features", false),
        ("kvm", true),
        ("fill-mtrr-mask", true),
        ("l3-cache", true),
        ("legacy-cache", true),
        ("cpuid-0xb", true),
        ("full-cpuid-auto-level", true),
        ("x-vendor-cpuid-only", true),
        ("x-intel-pt-auto-level", true),
        ("x-migrate-smi-count", true),
        ("vmware-cpuid-freq", true),
        ("tcg-cpuid", true),
        ("kvm-no-smi-migration", false),
        ("kvm-pv-enforce-cpuid", false),
        ("lmce", false),
        ("start-powered-off", false),
    ] {
        add(name, "bool", json!(on), true);
    }
    if let Some(migratable) = cpu.migratable() {
        add("migratable", "bool", json!(migratable), true);
        add("host-cache-info", "bool", json!(false), true);
    }
    for name in HYPERV_SWITCHES {
        add(name, "bool", json!(false), true);
    }
    add("hv-spinlocks", "uint32", json!(u32::MAX), true);
    add("hv-no-nonarch-coresharing", "OnOffAuto", json!("off"), true);
    // Hyper-V's vendor is filled in at realize.
    let hv_vendor = if realized { "Microsoft Hv" } else { "" };
    add("hv-vendor-id", "str", json!(hv_vendor), true);
    add("hv-version-id-build", "uint32", json!(14393), true);
    add("hv-version-id-major", "uint16", json!(10), true);
    add("hv-version-id-minor", "uint16", json!(0), true);
    add("hv-version-id-spack", "uint32", json!(0), true);
    add("hv-version-id-sbranch", "uint8", json!(0), true);
    add("hv-version-id-snumber", "uint32", json!(0), true);
    add("x-hv-max-vps", "int32", json!(-1), true);
    add(
        "memory",
        "link<memory-region>",
        json!("/machine/unattached/system[0]"),
        true,
    );
    add("legacy-memory", "str", Value::Null, false);
    add(
        "crash-information",
        "GuestPanicInformation",
        Value::Null,
        false,
    );
    add(
        "unavailable-features",
        "strList",
        json!(filtered_feature_names(cpu)),
        false,
    );
    add(
        "feature-words",
        "X86CPUFeatureWordInfo",
        feature_word_info(&words),
        false,
    );
    add(
        "filtered-features",
        "X86CPUFeatureWordInfo",
        feature_word_info(cpu.filtered_words()),
        false,
    );
    out
}

/// Hyper-V enlightenment switches, all off unless asked for.
const HYPERV_SWITCHES: &[&str] = &[
    "hv-relaxed",
    "hv-vapic",
    "hv-time",
    "hv-crash",
    "hv-reset",
    "hv-vpindex",
    "hv-runtime",
    "hv-synic",
    "hv-stimer",
    "hv-frequencies",
    "hv-reenlightenment",
    "hv-tlbflush",
    "hv-evmcs",
    "hv-ipi",
    "hv-stimer-direct",
    "hv-avic",
    "hv-apicv",
    "hv-emsr-bitmap",
    "hv-xmm-input",
    "hv-tlbflush-ext",
    "hv-tlbflush-direct",
    "hv-syndbg",
    "hv-passthrough",
    "hv-enforce-cpuid",
    "x-hv-synic-kvm-only",
];

/// QEMU's `X86CPUFeatureWordInfo` list of the CPUID feature words, last
/// word first as QEMU builds it. The XSAVE component words (XCR0 after
/// leaf 6, XSS last) have no feature names and stay 0 here.
fn feature_word_info(words: &[u32; word::COUNT]) -> Value {
    let entry = |leaf: u32, subleaf: Option<u32>, reg: Reg, value: u32| {
        let mut info = serde_json::Map::new();
        info.insert("cpuid-register".into(), json!(reg.name()));
        if let Some(subleaf) = subleaf {
            info.insert("cpuid-input-ecx".into(), json!(subleaf));
        }
        info.insert("cpuid-input-eax".into(), json!(leaf));
        info.insert("features".into(), json!(value));
        Value::Object(info)
    };
    let mut list = Vec::new();
    for (w, fw) in FEATURE_WORDS.iter().enumerate() {
        list.push(entry(fw.leaf, fw.subleaf, fw.reg, words[w]));
        if fw.leaf == 6 {
            list.push(entry(0xd, Some(0), Reg::Eax, 0));
            list.push(entry(0xd, Some(0), Reg::Edx, 0));
        }
    }
    list.push(entry(0xd, Some(1), Reg::Ecx, 0));
    list.push(entry(0xd, Some(1), Reg::Edx, 0));
    list.reverse();
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::cpuid::{vendor_words, CpuidEntry, HostCpuid};
    use crate::cpu::models::find_model;

    /// This machine's host as far as qemu64 cares: AMD, leaf 1 EDX and the
    /// KVM leaf fully, no SSE3.
    fn host() -> Vec<CpuidEntry> {
        let [ebx, edx, ecx] = vendor_words("AuthenticAMD");
        vec![
            CpuidEntry {
                function: 0,
                eax: 0x10,
                ebx,
                ecx,
                edx,
                ..Default::default()
            },
            CpuidEntry {
                function: 1,
                ecx: 1 << 13 | 1 << 21 | 1 << 31,
                edx: 0xffff_ffff,
                ..Default::default()
            },
            CpuidEntry {
                function: 0x8000_0001,
                ecx: 1,
                edx: 0xffff_ffff,
                ..Default::default()
            },
            CpuidEntry {
                function: 0x4000_0001,
                eax: 0x0100_7aff,
                ..Default::default()
            },
        ]
    }

    fn qemu64() -> GuestCpu {
        let host = host();
        let model = find_model("qemu64").unwrap();
        GuestCpu::new(model, &[], &HostCpuid(&host)).unwrap().0
    }

    /// QEMU 7.2's `qom-list` of /machine/unattached/device[0] with
    /// `-machine pc -accel kvm -cpu qemu64`.
    fn qemu_qom_list() -> Vec<(String, String)> {
        let replies = crate::cpu::qemu_replies(
            &["-machine", "pc", "-accel", "kvm", "-cpu", "qemu64"],
            &[
                json!({"execute": "qom-list", "arguments": {"path": "/machine/unattached/device[0]"}}),
            ],
        );
        replies[0]["return"]
            .as_array()
            .expect("qom-list returns a list")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_string(),
                    p["type"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn names_and_types_are_qemus() {
        const OURS_ELSEWHERE: &[&str] = &[
            "type",
            "parent_bus",
            "realized",
            "hotplugged",
            "hotpluggable",
            "lapic",
        ];
        let mut qemu: Vec<(String, String)> = qemu_qom_list()
            .into_iter()
            .filter(|(name, _)| !OURS_ELSEWHERE.contains(&name.as_str()))
            .collect();
        let position = CpuPosition {
            apic_id: 0,
            socket_id: 0,
            die_id: 0,
            core_id: 0,
            thread_id: 0,
            node_id: None,
        };
        let mut ours: Vec<(String, String)> = cpu_properties(&qemu64())
            .into_iter()
            .chain(cpu_position_properties(&position))
            .map(|p| (p.name, p.type_name.to_string()))
            .collect();
        qemu.sort();
        ours.sort();
        assert_eq!(ours, qemu);
    }

    #[test]
    fn qemu64_values_are_the_ones_qemu_reads() {
        let props = cpu_properties(&qemu64());
        let value = |name: &str| {
            props
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.clone())
                .unwrap_or_else(|| panic!("no property {name}"))
        };
        // Read from QEMU 7.2 with qom-get on this host, which lacks SSE3.
        assert_eq!(value("family"), json!(15));
        assert_eq!(value("model"), json!(107));
        assert_eq!(value("model-id"), json!("QEMU Virtual CPU version 2.5+"));
        assert_eq!(value("xlevel"), json!(0x8000_000au32));
        assert_eq!(value("ucode-rev"), json!(16777317));
        assert_eq!(value("phys-bits"), json!(40));
        assert_eq!(value("pni"), json!(false));
        assert_eq!(value("sse3"), json!(false));
        assert_eq!(value("kvmclock"), json!(true));
        assert_eq!(value("xd"), json!(true));
        assert_eq!(value("svm"), json!(false));
        assert_eq!(value("unavailable-features"), json!(["pni"]));
        let words = value("feature-words");
        let word = |eax: u32, reg: &str| {
            words
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["cpuid-input-eax"] == json!(eax) && w["cpuid-register"] == reg)
                .map(|w| w["features"].clone())
                .unwrap()
        };
        assert_eq!(word(1, "EDX"), json!(0x078b_fbfd));
        assert_eq!(word(1, "ECX"), json!(0x8020_2000u32));
        assert_eq!(word(0x8000_0001, "EDX"), json!(0x2193_fbfd));
        assert_eq!(word(0x8000_0001, "ECX"), json!(1));
        assert_eq!(word(0x4000_0001, "EAX"), json!(0x0100_007b));
        assert_eq!(words.as_array().unwrap().len(), 24);
    }

    /// On this host, a vCPU of each defined model reads as QEMU 7.2's
    /// `/machine/unattached/device[0]` under `-machine pc -accel kvm`,
    /// property for property (but the TSC rate, which is not known here).
    #[test]
    fn vcpu_values_match_qemu_on_this_host() {
        let supported = crate::accel::kvm::host_supported_cpuid().expect("KVM");
        for name in ["qemu64", "kvm64"] {
            let model = find_model(name).unwrap();
            let (cpu, _) = GuestCpu::new(model, &[], &HostCpuid(&supported)).unwrap();
            let ours: Vec<CpuProperty> = cpu_properties(&cpu)
                .into_iter()
                .filter(|p| !p.value.is_null() && p.name != "tsc-frequency")
                .collect();
            let requests: Vec<Value> = ours
                .iter()
                .map(|p| {
                    json!({"execute": "qom-get", "arguments":
                        {"path": "/machine/unattached/device[0]", "property": p.name}})
                })
                .collect();
            let qemu = crate::cpu::qemu_replies(
                &["-machine", "pc", "-accel", "kvm", "-cpu", name],
                &requests,
            );
            for (p, reply) in ours.iter().zip(&qemu) {
                assert_eq!(p.value, reply["return"], "-cpu {name}: {}", p.name);
            }
        }
    }
}

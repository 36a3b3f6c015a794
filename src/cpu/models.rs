//! The CPU models `-cpu` accepts, with QEMU's definitions (target/i386/cpu.c).

use super::features::{find_feature, word};

/// How a model gets its features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A fixed definition, filtered by what the host supports.
    Defined,
    /// Everything the accelerator supports (`host`, `max` under KVM).
    Passthrough,
    /// No features at all (`base`).
    Empty,
}

pub struct CpuModel {
    pub name: &'static str,
    /// The versioned name this one is an alias of (`qemu64` -> `qemu64-v1`).
    pub alias_of: Option<&'static str>,
    /// The text `-cpu help` shows beside the name.
    pub description: &'static str,
    pub kind: ModelKind,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
    pub level: u32,
    pub xlevel: u32,
    pub model_id: &'static str,
    /// Feature names enabled by the model definition.
    pub features: &'static [&'static str],
}

// QEMU's PPRO_FEATURES, the base of the 64-bit models' leaf 1 EDX.
macro_rules! ppro_features {
    ($($extra:literal),*) => {
        &[
            "fpu", "de", "pse", "tsc", "msr", "mce", "cx8", "pge", "cmov", "pat", "fxsr",
            "mmx", "sse", "sse2", "pae", "sep", "apic", $($extra),*
        ]
    };
}

const QEMU64: CpuModel = CpuModel {
    name: "qemu64-v1",
    alias_of: None,
    description: "QEMU Virtual CPU version 2.5+",
    kind: ModelKind::Defined,
    family: 15,
    model: 107,
    stepping: 1,
    level: 0xd,
    xlevel: 0x8000_000a,
    model_id: "QEMU Virtual CPU version 2.5+",
    features: ppro_features!(
        "mtrr", "clflush", "mca", "pse36", "pni", "cx16", "lm", "syscall", "nx", "lahf-lm", "svm"
    ),
};

const KVM64: CpuModel = CpuModel {
    name: "kvm64-v1",
    alias_of: None,
    description: "Common KVM processor",
    kind: ModelKind::Defined,
    family: 15,
    model: 6,
    stepping: 1,
    level: 0xd,
    xlevel: 0x8000_0008,
    model_id: "Common KVM processor",
    features: ppro_features!(
        "vme", "mtrr", "clflush", "mca", "pse36", "pni", "cx16", "lm", "syscall", "nx"
    ),
};

const fn alias(name: &'static str, target: &'static CpuModel) -> CpuModel {
    CpuModel {
        name,
        alias_of: Some(target.name),
        description: "(alias configured by machine type)",
        ..*target
    }
}

const fn special(name: &'static str, description: &'static str, kind: ModelKind) -> CpuModel {
    CpuModel {
        name,
        alias_of: None,
        description,
        kind,
        family: 0,
        model: 0,
        stepping: 0,
        level: 0,
        xlevel: 0,
        model_id: "",
        features: &[],
    }
}

/// Every model, in the order `-cpu help` lists them: named models sorted,
/// then `base`, `host` and `max` as QEMU orders them.
pub static CPU_MODELS: &[CpuModel] = &[
    alias("kvm64", &KVM64),
    KVM64,
    alias("qemu64", &QEMU64),
    QEMU64,
    special(
        "base",
        "base CPU model type with no features enabled",
        ModelKind::Empty,
    ),
    special(
        "host",
        "processor with all supported host features ",
        ModelKind::Passthrough,
    ),
    special(
        "max",
        "Enables all features supported by the accelerator in the current host",
        ModelKind::Passthrough,
    ),
];

/// The model `-cpu` names, or None (QEMU: "unable to find CPU model 'x'").
pub fn find_model(name: &str) -> Option<&'static CpuModel> {
    CPU_MODELS.iter().find(|m| m.name == name)
}

/// Properties the KVM accelerator applies to every model (QEMU's
/// `kvm_default_props`).
pub const KVM_DEFAULT_FEATURES: &[(&str, bool)] = &[
    ("kvmclock", true),
    ("kvm-nopiodelay", true),
    ("kvm-asyncpf", true),
    ("kvm-steal-time", true),
    ("kvm-pv-eoi", true),
    ("kvmclock-stable-bit", true),
    ("x2apic", true),
    ("kvm-msi-ext-dest-id", false),
    ("acpi", false),
    ("monitor", false),
    ("svm", false),
];

/// The feature words a model asks for, before host filtering.
pub fn model_feature_words(model: &CpuModel) -> [u32; word::COUNT] {
    let mut words = [0u32; word::COUNT];
    for name in model.features {
        if let Some((w, mask)) = find_feature(name) {
            words[w] |= mask;
        }
    }
    words
}

/// `-cpu help`, in QEMU's format.
pub fn cpu_help() -> String {
    let mut out = String::from("Available CPUs:\n");
    for m in CPU_MODELS {
        out.push_str(&format!("x86 {:<20}  {}\n", m.name, m.description));
    }
    out.push_str("\nRecognized CPUID flags:\n");
    let names = super::features::all_feature_names();
    let mut line = String::new();
    for name in names {
        if !line.is_empty() && line.len() + 1 + name.len() > 73 {
            out.push_str(&format!("  {line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(name);
    }
    if !line.is_empty() {
        out.push_str(&format!("  {line}\n"));
    }
    // QEMU ends the list with an empty line.
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qemu_help() -> String {
        crate::cpu::qemu_reference("help/cpu-help.txt")
    }

    /// Each model line we print is a line QEMU 7.2 prints.
    #[test]
    fn model_lines_match_qemu() {
        let qemu = qemu_help();
        let ours = cpu_help();
        let models = ours.split("\n\n").next().unwrap_or_default();
        for line in models.lines().skip(1) {
            assert!(
                qemu.lines().any(|l| l == line),
                "line {line:?} is not in QEMU's -cpu help"
            );
        }
    }

    /// The flags part of our `-cpu help` is QEMU's, byte for byte (the
    /// recording ends with the exit status, which is not QEMU's output).
    #[test]
    fn flag_list_is_qemus() {
        let qemu = qemu_help();
        let qemu = qemu.trim_end_matches("rc=0\n");
        let flags = |help: &str| -> String {
            let at = help.find("Recognized CPUID flags:").expect("flags");
            help[at..].to_string()
        };
        assert_eq!(flags(&cpu_help()), flags(qemu));
    }

    #[test]
    fn qemu64_is_amd_with_qemu_features() {
        let m = find_model("qemu64").unwrap();
        assert_eq!(m.alias_of, Some("qemu64-v1"));
        let w = model_feature_words(m);
        // pni and cx16 in leaf 1 ECX, lahf-lm and svm in 8000_0001 ECX.
        assert_eq!(w[word::F1_ECX], 1 | 1 << 13);
        assert_eq!(w[word::F8000_0001_ECX], 1 | 1 << 2);
        assert!(find_model("nosuchcpu").is_none());
    }
}

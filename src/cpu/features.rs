//! CPUID feature words and the names QEMU gives their bits.
//!
//! `-cpu model,+name,-name,name=on` and the "host doesn't support requested
//! feature" warnings use these names; they are guest-visible ABI and follow
//! QEMU's `feature_word_info` (target/i386/cpu.c) in order and spelling.

/// A 32-bit CPUID output register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    Eax,
    Ebx,
    Ecx,
    Edx,
}

impl Reg {
    fn name(self) -> &'static str {
        match self {
            Reg::Eax => "EAX",
            Reg::Ebx => "EBX",
            Reg::Ecx => "ECX",
            Reg::Edx => "EDX",
        }
    }
}

/// One CPUID register whose bits are features.
pub struct FeatureWord {
    pub leaf: u32,
    /// The subleaf (ECX input) for leaves that have them.
    pub subleaf: Option<u32>,
    pub reg: Reg,
    /// Bit names, bit 0 first; empty strings are bits without a name.
    pub names: [&'static str; 32],
}

impl FeatureWord {
    /// QEMU's description of the word in warnings: `CPUID.01H:ECX`,
    /// `CPUID.07H:EBX`, `CPUID.80000001H:EDX`, `CPUID.0DH:EAX`.
    pub fn description(&self) -> String {
        format!("CPUID.{:02X}H:{}", self.leaf, self.reg.name())
    }
}

/// Index in `FEATURE_WORDS` of the words the CPUID code treats specially.
pub mod word {
    pub const F1_EDX: usize = 0;
    pub const F1_ECX: usize = 1;
    pub const F8000_0001_EDX: usize = 5;
    pub const COUNT: usize = 11;
}

const fn pad(names: &[&'static str]) -> [&'static str; 32] {
    let mut out = [""; 32];
    let mut i = 0;
    while i < names.len() {
        out[i] = names[i];
        i += 1;
    }
    out
}

/// The feature words we model, in QEMU's order (which is the order of its
/// warnings).
pub static FEATURE_WORDS: [FeatureWord; word::COUNT] = [
    FeatureWord {
        leaf: 1,
        subleaf: None,
        reg: Reg::Edx,
        names: pad(&[
            "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep",
            "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "ds", "acpi", "mmx",
            "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
        ]),
    },
    FeatureWord {
        leaf: 1,
        subleaf: None,
        reg: Reg::Ecx,
        names: pad(&[
            "pni",
            "pclmulqdq",
            "dtes64",
            "monitor",
            "ds-cpl",
            "vmx",
            "smx",
            "est",
            "tm2",
            "ssse3",
            "cid",
            "",
            "fma",
            "cx16",
            "xtpr",
            "pdcm",
            "",
            "pcid",
            "dca",
            "sse4.1",
            "sse4.2",
            "x2apic",
            "movbe",
            "popcnt",
            "tsc-deadline",
            "aes",
            "xsave",
            "",
            "avx",
            "f16c",
            "rdrand",
            "hypervisor",
        ]),
    },
    FeatureWord {
        leaf: 7,
        subleaf: Some(0),
        reg: Reg::Ebx,
        names: pad(&[
            "fsgsbase",
            "tsc-adjust",
            "sgx",
            "bmi1",
            "hle",
            "avx2",
            "",
            "smep",
            "bmi2",
            "erms",
            "invpcid",
            "rtm",
            "",
            "",
            "mpx",
            "",
            "avx512f",
            "avx512dq",
            "rdseed",
            "adx",
            "smap",
            "avx512ifma",
            "pcommit",
            "clflushopt",
            "clwb",
            "intel-pt",
            "avx512pf",
            "avx512er",
            "avx512cd",
            "sha-ni",
            "avx512bw",
            "avx512vl",
        ]),
    },
    FeatureWord {
        leaf: 7,
        subleaf: Some(0),
        reg: Reg::Ecx,
        names: pad(&[
            "",
            "avx512vbmi",
            "umip",
            "pku",
            "",
            "waitpkg",
            "avx512vbmi2",
            "",
            "gfni",
            "vaes",
            "vpclmulqdq",
            "avx512vnni",
            "avx512bitalg",
            "",
            "avx512-vpopcntdq",
            "",
            "la57",
            "",
            "",
            "",
            "",
            "",
            "rdpid",
            "",
            "bus-lock-detect",
            "cldemote",
            "",
            "movdiri",
            "movdir64b",
            "",
            "sgxlc",
            "pks",
        ]),
    },
    FeatureWord {
        leaf: 7,
        subleaf: Some(0),
        reg: Reg::Edx,
        names: pad(&[
            "",
            "",
            "avx512-4vnniw",
            "avx512-4fmaps",
            "fsrm",
            "",
            "",
            "",
            "avx512-vp2intersect",
            "",
            "md-clear",
            "",
            "",
            "",
            "serialize",
            "",
            "tsx-ldtrk",
            "",
            "",
            "",
            "arch-lbr",
            "",
            "amx-bf16",
            "avx512-fp16",
            "amx-tile",
            "amx-int8",
            "spec-ctrl",
            "stibp",
            "",
            "arch-capabilities",
            "core-capability",
            "ssbd",
        ]),
    },
    FeatureWord {
        leaf: 0x8000_0001,
        subleaf: None,
        reg: Reg::Edx,
        names: pad(&[
            "", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "", "", "", "", "",
            "nx", "", "mmxext", "", "", "fxsr-opt", "pdpe1gb", "rdtscp", "", "lm", "3dnowext",
            "3dnow",
        ]),
    },
    FeatureWord {
        leaf: 0x8000_0001,
        subleaf: None,
        reg: Reg::Ecx,
        names: pad(&[
            "lahf-lm",
            "cmp-legacy",
            "svm",
            "extapic",
            "cr8legacy",
            "abm",
            "sse4a",
            "misalignsse",
            "3dnowprefetch",
            "osvw",
            "ibs",
            "xop",
            "skinit",
            "wdt",
            "",
            "lwp",
            "fma4",
            "tce",
            "",
            "nodeid-msr",
            "",
            "tbm",
            "topoext",
            "perfctr-core",
            "perfctr-nb",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]),
    },
    FeatureWord {
        leaf: 0x8000_0008,
        subleaf: None,
        reg: Reg::Ebx,
        names: pad(&[
            "clzero",
            "",
            "xsaveerptr",
            "",
            "",
            "",
            "",
            "",
            "",
            "wbnoinvd",
            "",
            "",
            "ibpb",
            "",
            "ibrs",
            "amd-stibp",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "amd-ssbd",
            "virt-ssbd",
            "amd-no-ssb",
        ]),
    },
    FeatureWord {
        leaf: 0x4000_0001,
        subleaf: None,
        reg: Reg::Eax,
        names: pad(&[
            "kvmclock",
            "kvm-nopiodelay",
            "kvm-mmu",
            "kvmclock",
            "kvm-asyncpf",
            "kvm-steal-time",
            "kvm-pv-eoi",
            "kvm-pv-unhalt",
            "",
            "kvm-pv-tlb-flush",
            "",
            "kvm-pv-ipi",
            "kvm-poll-control",
            "kvm-pv-sched-yield",
            "kvm-asyncpf-int",
            "kvm-msi-ext-dest-id",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "kvmclock-stable-bit",
        ]),
    },
    FeatureWord {
        leaf: 0xd,
        subleaf: Some(1),
        reg: Reg::Eax,
        names: pad(&["xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd"]),
    },
    FeatureWord {
        leaf: 6,
        subleaf: None,
        reg: Reg::Eax,
        names: pad(&["", "", "arat"]),
    },
];

/// QEMU's alternative spellings of feature names.
const ALIASES: &[(&str, &str)] = &[
    ("sse3", "pni"),
    ("sse4-1", "sse4.1"),
    ("sse4-2", "sse4.2"),
    ("i64", "lm"),
];

/// Find a feature by name as `-cpu` takes it: `_` and `-` are the same,
/// aliases resolve. Returns the word index and the bit.
pub fn find_feature(name: &str) -> Option<(usize, u32)> {
    let mut canonical = name.replace('_', "-");
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == canonical) {
        canonical = (*to).to_string();
    }
    FEATURE_WORDS.iter().enumerate().find_map(|(w, word)| {
        word.names
            .iter()
            .position(|n| !n.is_empty() && *n == canonical)
            .map(|bit| (w, bit as u32))
    })
}

/// Every feature name, sorted, as `-cpu help` lists them (a name given to two
/// bits, like `kvmclock`, is listed twice, as QEMU does).
pub fn all_feature_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = FEATURE_WORDS
        .iter()
        .flat_map(|w| w.names.iter().copied())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_underscores_and_aliases() {
        assert_eq!(find_feature("pni"), Some((word::F1_ECX, 0)));
        assert_eq!(find_feature("sse3"), Some((word::F1_ECX, 0)));
        assert_eq!(find_feature("lahf_lm"), Some((6, 0)));
        assert_eq!(find_feature("sse4_1"), Some((word::F1_ECX, 19)));
        assert_eq!(find_feature("xsaveerptr"), Some((7, 2)));
        assert_eq!(find_feature("nosuch"), None);
    }

    /// Every name we know must be one QEMU 7.2 lists in `-cpu help`.
    #[test]
    fn every_name_is_one_qemu_recognises() {
        let help = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/reference/qemu-7.2/help/cpu-help.txt"
        ))
        .expect("QEMU 7.2's -cpu help output");
        let qemu: Vec<&str> = help
            .split("Recognized CPUID flags:")
            .nth(1)
            .expect("flags section")
            .split_whitespace()
            .filter(|w| !w.starts_with("rc="))
            .collect();
        for name in all_feature_names() {
            assert!(qemu.contains(&name), "{name} is not a QEMU 7.2 flag");
        }
    }
}

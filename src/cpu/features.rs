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
    pub fn name(self) -> &'static str {
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
    /// The bits called `name` in this word (0 when none is).
    pub fn mask_of(&self, name: &str) -> u32 {
        self.names
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.is_empty() && **n == name)
            .fold(0, |mask, (bit, _)| mask | 1 << bit)
    }

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
    pub const F7_0_EBX: usize = 2;
    pub const F7_0_EDX: usize = 4;
    pub const F7_1_EAX: usize = 5;
    pub const F8000_0001_EDX: usize = 6;
    pub const F8000_0001_ECX: usize = 7;
    pub const F8000_0007_EDX: usize = 8;
    #[cfg(test)]
    pub const KVM: usize = 11;
    pub const KVM_HINTS: usize = 12;
    /// The first word after leaf 6; QEMU's MSR words come before it.
    pub const F14_0_ECX: usize = 16;
    pub const COUNT: usize = 20;
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

/// Names of a word where few bits have one: `(bit, name)` pairs.
const fn sparse(names: &[(usize, &'static str)]) -> [&'static str; 32] {
    let mut out = [""; 32];
    let mut i = 0;
    while i < names.len() {
        out[names[i].0] = names[i].1;
        i += 1;
    }
    out
}

const fn cpuid(
    leaf: u32,
    subleaf: Option<u32>,
    reg: Reg,
    names: [&'static str; 32],
) -> FeatureWord {
    FeatureWord {
        leaf,
        subleaf,
        reg,
        names,
    }
}

/// QEMU 7.2's CPUID feature words, in its order (which is the order of its
/// warnings and of the `feature-words` property, reversed).
pub static FEATURE_WORDS: [FeatureWord; word::COUNT] = [
    cpuid(
        1,
        None,
        Reg::Edx,
        pad(&[
            "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep",
            "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "ds", "acpi", "mmx",
            "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
        ]),
    ),
    cpuid(
        1,
        None,
        Reg::Ecx,
        pad(&[
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
    ),
    cpuid(
        7,
        Some(0),
        Reg::Ebx,
        pad(&[
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
    ),
    cpuid(
        7,
        Some(0),
        Reg::Ecx,
        sparse(&[
            (1, "avx512vbmi"),
            (2, "umip"),
            (3, "pku"),
            (5, "waitpkg"),
            (6, "avx512vbmi2"),
            (8, "gfni"),
            (9, "vaes"),
            (10, "vpclmulqdq"),
            (11, "avx512vnni"),
            (12, "avx512bitalg"),
            (14, "avx512-vpopcntdq"),
            (16, "la57"),
            (22, "rdpid"),
            (24, "bus-lock-detect"),
            (25, "cldemote"),
            (27, "movdiri"),
            (28, "movdir64b"),
            (30, "sgxlc"),
            (31, "pks"),
        ]),
    ),
    cpuid(
        7,
        Some(0),
        Reg::Edx,
        sparse(&[
            (2, "avx512-4vnniw"),
            (3, "avx512-4fmaps"),
            (4, "fsrm"),
            (8, "avx512-vp2intersect"),
            (10, "md-clear"),
            (14, "serialize"),
            (16, "tsx-ldtrk"),
            (19, "arch-lbr"),
            (22, "amx-bf16"),
            (23, "avx512-fp16"),
            (24, "amx-tile"),
            (25, "amx-int8"),
            (26, "spec-ctrl"),
            (27, "stibp"),
            (29, "arch-capabilities"),
            (30, "core-capability"),
            (31, "ssbd"),
        ]),
    ),
    cpuid(
        7,
        Some(1),
        Reg::Eax,
        sparse(&[(4, "avx-vnni"), (5, "avx512-bf16")]),
    ),
    cpuid(
        0x8000_0001,
        None,
        Reg::Edx,
        sparse(&[
            (11, "syscall"),
            (20, "nx"),
            (22, "mmxext"),
            (25, "fxsr-opt"),
            (26, "pdpe1gb"),
            (27, "rdtscp"),
            (29, "lm"),
            (30, "3dnowext"),
            (31, "3dnow"),
        ]),
    ),
    cpuid(
        0x8000_0001,
        None,
        Reg::Ecx,
        pad(&[
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
        ]),
    ),
    cpuid(0x8000_0007, None, Reg::Edx, sparse(&[(8, "invtsc")])),
    cpuid(
        0x8000_0008,
        None,
        Reg::Ebx,
        sparse(&[
            (0, "clzero"),
            (2, "xsaveerptr"),
            (9, "wbnoinvd"),
            (12, "ibpb"),
            (14, "ibrs"),
            (15, "amd-stibp"),
            (24, "amd-ssbd"),
            (25, "virt-ssbd"),
            (26, "amd-no-ssb"),
        ]),
    ),
    cpuid(
        0xc000_0001,
        None,
        Reg::Edx,
        sparse(&[
            (2, "xstore"),
            (3, "xstore-en"),
            (6, "xcrypt"),
            (7, "xcrypt-en"),
            (8, "ace2"),
            (9, "ace2-en"),
            (10, "phe"),
            (11, "phe-en"),
            (12, "pmm"),
            (13, "pmm-en"),
        ]),
    ),
    cpuid(
        0x4000_0001,
        None,
        Reg::Eax,
        sparse(&[
            (0, "kvmclock"),
            (1, "kvm-nopiodelay"),
            (2, "kvm-mmu"),
            (3, "kvmclock"),
            (4, "kvm-asyncpf"),
            (5, "kvm-steal-time"),
            (6, "kvm-pv-eoi"),
            (7, "kvm-pv-unhalt"),
            (9, "kvm-pv-tlb-flush"),
            (11, "kvm-pv-ipi"),
            (12, "kvm-poll-control"),
            (13, "kvm-pv-sched-yield"),
            (14, "kvm-asyncpf-int"),
            (15, "kvm-msi-ext-dest-id"),
            (24, "kvmclock-stable-bit"),
        ]),
    ),
    cpuid(
        0x4000_0001,
        None,
        Reg::Edx,
        sparse(&[(0, "kvm-hint-dedicated")]),
    ),
    cpuid(
        0x8000_000a,
        None,
        Reg::Edx,
        sparse(&[
            (0, "npt"),
            (1, "lbrv"),
            (2, "svm-lock"),
            (3, "nrip-save"),
            (4, "tsc-scale"),
            (5, "vmcb-clean"),
            (6, "flushbyasid"),
            (7, "decodeassists"),
            (10, "pause-filter"),
            (12, "pfthreshold"),
            (13, "avic"),
            (15, "v-vmsave-vmload"),
            (16, "vgif"),
            (28, "svme-addr-chk"),
        ]),
    ),
    cpuid(
        0xd,
        Some(1),
        Reg::Eax,
        pad(&["xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd"]),
    ),
    cpuid(6, None, Reg::Eax, sparse(&[(2, "arat")])),
    cpuid(0x14, Some(0), Reg::Ecx, sparse(&[(31, "intel-pt-lip")])),
    cpuid(0x12, Some(0), Reg::Eax, sparse(&[(0, "sgx1"), (1, "sgx2")])),
    cpuid(0x12, Some(0), Reg::Ebx, sparse(&[(0, "sgx-exinfo")])),
    cpuid(
        0x12,
        Some(1),
        Reg::Eax,
        sparse(&[
            (1, "sgx-debug"),
            (2, "sgx-mode64"),
            (4, "sgx-provisionkey"),
            (5, "sgx-tokenkey"),
            (7, "sgx-kss"),
        ]),
    ),
];

/// A model-specific register whose bits are features (the capability MSRs
/// and nested VMX controls). Guests here never see these bits set: the
/// names exist so that `-cpu` and QOM know them as QEMU does.
pub struct MsrFeatureWord {
    pub msr: u32,
    /// The CPUID feature (word index, bit) without which QEMU drops these.
    pub needs: (usize, u32),
    /// A VMX control MSR: the bits that may be set are its high half.
    pub allowed_in_high_half: bool,
    /// `(bit, name)` for the bits with a name.
    pub names: &'static [(u32, &'static str)],
}

impl MsrFeatureWord {
    /// The bits called `name` in this word (0 when none is).
    pub fn mask_of(&self, name: &str) -> u64 {
        self.names
            .iter()
            .filter(|(_, n)| *n == name)
            .fold(0, |mask, (bit, _)| mask | 1 << bit)
    }

    /// QEMU's description of one of these bits in warnings.
    pub fn describe(&self, bit: u32, name: &str) -> String {
        format!("MSR({:02X}H).{name} [bit {bit}]", self.msr)
    }
}

/// QEMU 7.2's MSR feature words, in its order. The capability MSRs need
/// the leaf 7 (or, for PERF_CAPABILITIES, PDCM) bit announcing them; the
/// VMX controls need VMX.
pub const MSR_WORD_COUNT: usize = 12;

pub static MSR_FEATURE_WORDS: [MsrFeatureWord; MSR_WORD_COUNT] = [
    // IA32_ARCH_CAPABILITIES (MSR 0x10a)
    MsrFeatureWord {
        msr: 0x10a,
        needs: (word::F7_0_EDX, 29),
        allowed_in_high_half: false,
        names: &[
            (0, "rdctl-no"),
            (1, "ibrs-all"),
            (2, "rsba"),
            (3, "skip-l1dfl-vmentry"),
            (4, "ssb-no"),
            (5, "mds-no"),
            (6, "pschange-mc-no"),
            (7, "tsx-ctrl"),
            (8, "taa-no"),
        ],
    },
    // IA32_CORE_CAPABILITY (MSR 0xcf)
    MsrFeatureWord {
        msr: 0xcf,
        needs: (word::F7_0_EDX, 30),
        allowed_in_high_half: false,
        names: &[(5, "split-lock-detect")],
    },
    // IA32_PERF_CAPABILITIES (MSR 0x345)
    MsrFeatureWord {
        msr: 0x345,
        needs: (word::F1_ECX, 15),
        allowed_in_high_half: false,
        names: &[(13, "full-width-write")],
    },
    // IA32_VMX_TRUE_PROCBASED_CTLS (MSR 0x48e)
    MsrFeatureWord {
        msr: 0x48e,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: true,
        names: &[
            (2, "vmx-vintr-pending"),
            (3, "vmx-tsc-offset"),
            (7, "vmx-hlt-exit"),
            (9, "vmx-invlpg-exit"),
            (10, "vmx-mwait-exit"),
            (11, "vmx-rdpmc-exit"),
            (12, "vmx-rdtsc-exit"),
            (15, "vmx-cr3-load-noexit"),
            (16, "vmx-cr3-store-noexit"),
            (19, "vmx-cr8-load-exit"),
            (20, "vmx-cr8-store-exit"),
            (21, "vmx-flexpriority"),
            (22, "vmx-vnmi-pending"),
            (23, "vmx-movdr-exit"),
            (24, "vmx-io-exit"),
            (25, "vmx-io-bitmap"),
            (27, "vmx-mtf"),
            (28, "vmx-msr-bitmap"),
            (29, "vmx-monitor-exit"),
            (30, "vmx-pause-exit"),
            (31, "vmx-secondary-ctls"),
        ],
    },
    // IA32_VMX_PROCBASED_CTLS2 (MSR 0x48b)
    MsrFeatureWord {
        msr: 0x48b,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: true,
        names: &[
            (0, "vmx-apicv-xapic"),
            (1, "vmx-ept"),
            (2, "vmx-desc-exit"),
            (3, "vmx-rdtscp-exit"),
            (4, "vmx-apicv-x2apic"),
            (5, "vmx-vpid"),
            (6, "vmx-wbinvd-exit"),
            (7, "vmx-unrestricted-guest"),
            (8, "vmx-apicv-register"),
            (9, "vmx-apicv-vid"),
            (10, "vmx-ple"),
            (11, "vmx-rdrand-exit"),
            (12, "vmx-invpcid-exit"),
            (13, "vmx-vmfunc"),
            (14, "vmx-shadow-vmcs"),
            (15, "vmx-encls-exit"),
            (16, "vmx-rdseed-exit"),
            (17, "vmx-pml"),
            (20, "vmx-xsaves"),
            (25, "vmx-tsc-scaling"),
        ],
    },
    // IA32_VMX_TRUE_PINBASED_CTLS (MSR 0x48d)
    MsrFeatureWord {
        msr: 0x48d,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: true,
        names: &[
            (0, "vmx-intr-exit"),
            (3, "vmx-nmi-exit"),
            (5, "vmx-vnmi"),
            (6, "vmx-preemption-timer"),
            (7, "vmx-posted-intr"),
        ],
    },
    // IA32_VMX_TRUE_EXIT_CTLS (MSR 0x48f)
    MsrFeatureWord {
        msr: 0x48f,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: true,
        names: &[
            (2, "vmx-exit-nosave-debugctl"),
            (12, "vmx-exit-load-perf-global-ctrl"),
            (15, "vmx-exit-ack-intr"),
            (18, "vmx-exit-save-pat"),
            (19, "vmx-exit-load-pat"),
            (20, "vmx-exit-save-efer"),
            (21, "vmx-exit-load-efer"),
            (22, "vmx-exit-save-preemption-timer"),
            (23, "vmx-exit-clear-bndcfgs"),
            (25, "vmx-exit-clear-rtit-ctl"),
            (29, "vmx-exit-load-pkrs"),
        ],
    },
    // IA32_VMX_TRUE_ENTRY_CTLS (MSR 0x490)
    MsrFeatureWord {
        msr: 0x490,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: true,
        names: &[
            (2, "vmx-entry-noload-debugctl"),
            (9, "vmx-entry-ia32e-mode"),
            (13, "vmx-entry-load-perf-global-ctrl"),
            (14, "vmx-entry-load-pat"),
            (15, "vmx-entry-load-efer"),
            (16, "vmx-entry-load-bndcfgs"),
            (18, "vmx-entry-load-rtit-ctl"),
            (22, "vmx-entry-load-pkrs"),
        ],
    },
    // IA32_VMX_MISC (MSR 0x485)
    MsrFeatureWord {
        msr: 0x485,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: false,
        names: &[
            (5, "vmx-store-lma"),
            (6, "vmx-activity-hlt"),
            (7, "vmx-activity-shutdown"),
            (8, "vmx-activity-wait-sipi"),
            (29, "vmx-vmwrite-vmexit-fields"),
            (30, "vmx-zero-len-inject"),
        ],
    },
    // IA32_VMX_EPT_VPID_CAP (MSR 0x48c)
    MsrFeatureWord {
        msr: 0x48c,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: false,
        names: &[
            (0, "vmx-ept-execonly"),
            (6, "vmx-page-walk-4"),
            (7, "vmx-page-walk-5"),
            (16, "vmx-ept-2mb"),
            (17, "vmx-ept-1gb"),
            (20, "vmx-invept"),
            (21, "vmx-eptad"),
            (22, "vmx-ept-advanced-exitinfo"),
            (25, "vmx-invept-single-context"),
            (26, "vmx-invept-all-context"),
            (32, "vmx-invvpid"),
            (40, "vmx-invvpid-single-addr"),
            (41, "vmx-invept-single-context"),
            (42, "vmx-invvpid-all-context"),
            (43, "vmx-invept-single-context-noglobals"),
        ],
    },
    // IA32_VMX_BASIC (MSR 0x480)
    MsrFeatureWord {
        msr: 0x480,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: false,
        names: &[(54, "vmx-ins-outs"), (55, "vmx-true-ctls")],
    },
    // IA32_VMX_VMFUNC (MSR 0x491)
    MsrFeatureWord {
        msr: 0x491,
        needs: (word::F1_ECX, 5),
        allowed_in_high_half: false,
        names: &[(0, "vmx-eptp-switching")],
    },
];

/// QEMU's other spellings of feature names, alias first, in the order its
/// x86 CPU registers them as properties. `-cpu` folds `_` into `-` before
/// looking a name up, so the `_` spellings matter for QOM only.
pub const ALIASES: &[(&str, &str)] = &[
    ("sse3", "pni"),
    ("pclmuldq", "pclmulqdq"),
    ("sse4-1", "sse4.1"),
    ("sse4-2", "sse4.2"),
    ("xd", "nx"),
    ("ffxsr", "fxsr-opt"),
    ("i64", "lm"),
    ("ds_cpl", "ds-cpl"),
    ("tsc_adjust", "tsc-adjust"),
    ("fxsr_opt", "fxsr-opt"),
    ("lahf_lm", "lahf-lm"),
    ("cmp_legacy", "cmp-legacy"),
    ("nodeid_msr", "nodeid-msr"),
    ("perfctr_core", "perfctr-core"),
    ("perfctr_nb", "perfctr-nb"),
    ("kvm_nopiodelay", "kvm-nopiodelay"),
    ("kvm_mmu", "kvm-mmu"),
    ("kvm_asyncpf", "kvm-asyncpf"),
    ("kvm_asyncpf_int", "kvm-asyncpf-int"),
    ("kvm_steal_time", "kvm-steal-time"),
    ("kvm_pv_eoi", "kvm-pv-eoi"),
    ("kvm_pv_unhalt", "kvm-pv-unhalt"),
    ("kvm_poll_control", "kvm-poll-control"),
    ("svm_lock", "svm-lock"),
    ("nrip_save", "nrip-save"),
    ("tsc_scale", "tsc-scale"),
    ("vmcb_clean", "vmcb-clean"),
    ("pause_filter", "pause-filter"),
    ("sse4_1", "sse4.1"),
    ("sse4_2", "sse4.2"),
];

/// Find a feature by name as `-cpu` takes it: `_` and `-` are the same,
/// aliases resolve. Returns the word index and the bits the name sets (two
/// for `kvmclock`, as QEMU's property sets both).
pub fn find_feature(name: &str) -> Option<(usize, u32)> {
    let mut canonical = name.replace('_', "-");
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == canonical) {
        canonical = (*to).to_string();
    }
    FEATURE_WORDS.iter().enumerate().find_map(|(w, word)| {
        let mask = word.mask_of(&canonical);
        (mask != 0).then_some((w, mask))
    })
}

/// Find an MSR feature by name as `-cpu` takes it (`_` and `-` are the
/// same). Returns the index in `MSR_FEATURE_WORDS` and the bits it sets.
pub fn find_msr_feature(name: &str) -> Option<(usize, u64)> {
    let canonical = name.replace('_', "-");
    MSR_FEATURE_WORDS.iter().enumerate().find_map(|(w, word)| {
        let mask = word.mask_of(&canonical);
        (mask != 0).then_some((w, mask))
    })
}

/// Every feature name, sorted, as `-cpu help` lists them (a name given to two
/// bits, like `kvmclock`, is listed twice, as QEMU does).
pub fn all_feature_names() -> Vec<&'static str> {
    let cpuid_names = FEATURE_WORDS.iter().flat_map(|w| w.names.iter().copied());
    let msr_names = MSR_FEATURE_WORDS
        .iter()
        .flat_map(|w| w.names.iter().map(|(_, name)| *name));
    let mut names: Vec<&'static str> = cpuid_names
        .filter(|n| !n.is_empty())
        .chain(msr_names)
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_underscores_and_aliases() {
        assert_eq!(find_feature("pni"), Some((word::F1_ECX, 1)));
        assert_eq!(find_feature("sse3"), Some((word::F1_ECX, 1)));
        assert_eq!(find_feature("lahf_lm"), Some((word::F8000_0001_ECX, 1)));
        assert_eq!(find_feature("sse4_1"), Some((word::F1_ECX, 1 << 19)));
        assert_eq!(find_feature("xd"), Some((word::F8000_0001_EDX, 1 << 20)));
        assert_eq!(find_feature("arch-lbr"), Some((word::F7_0_EDX, 1 << 19)));
        // KVM_FEATURE_CLOCKSOURCE and KVM_FEATURE_CLOCKSOURCE2.
        assert_eq!(find_feature("kvmclock"), Some((word::KVM, 1 | 1 << 3)));
        assert_eq!(find_feature("nosuch"), None);
    }

    /// We know the names QEMU 7.2 lists in `-cpu help`, and no others.
    #[test]
    fn names_are_the_ones_qemu_lists() {
        let help = crate::cpu::qemu_reference("help/cpu-help.txt");
        let qemu: Vec<&str> = help
            .split("Recognized CPUID flags:")
            .nth(1)
            .expect("flags section")
            .split_whitespace()
            .filter(|w| !w.starts_with("rc="))
            .collect();
        assert_eq!(all_feature_names(), qemu);
    }
}

//! The guest's CPUID table: a model's definition, `-cpu` feature switches and
//! the accelerator's defaults, filtered by what the host supports, laid out
//! leaf by leaf as QEMU's `cpu_x86_cpuid` does.

use super::features::{
    find_feature, find_msr_feature, word, FEATURE_WORDS, MSR_FEATURE_WORDS, MSR_WORD_COUNT,
};
use super::models::{model_feature_words, CpuModel, ModelKind, KVM_DEFAULT_FEATURES};

/// One CPUID leaf (and subleaf) as the accelerator takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuidEntry {
    pub function: u32,
    pub index: u32,
    /// The subleaf in `index` matters (KVM_CPUID_FLAG_SIGNIFCANT_INDEX).
    pub significant_index: bool,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// What the host (the accelerator) supports: KVM_GET_SUPPORTED_CPUID.
pub struct HostCpuid<'a>(pub &'a [CpuidEntry]);

impl HostCpuid<'_> {
    /// The host's vendor string (CPUID leaf 0).
    fn vendor(&self) -> String {
        let Some(leaf) = self.entry(0, 0) else {
            return String::new();
        };
        let bytes: Vec<u8> = [leaf.ebx, leaf.edx, leaf.ecx]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn entry(&self, function: u32, index: u32) -> Option<&CpuidEntry> {
        self.0
            .iter()
            .find(|e| e.function == function && (!e.significant_index || e.index == index))
    }

    fn reg(&self, function: u32, index: u32, reg: super::features::Reg) -> u32 {
        use super::features::Reg;
        self.entry(function, index).map_or(0, |e| match reg {
            Reg::Eax => e.eax,
            Reg::Ebx => e.ebx,
            Reg::Ecx => e.ecx,
            Reg::Edx => e.edx,
        })
    }

    /// The bits of a feature word the guest may have, with QEMU's
    /// adjustments to what KVM reports (kvm_arch_get_supported_cpuid).
    fn supported_word(&self, w: usize) -> u32 {
        let fw = &FEATURE_WORDS[w];
        let mut bits = self.reg(fw.leaf, fw.subleaf.unwrap_or(0), fw.reg);
        match w {
            // The hypervisor bit is always offered under KVM.
            word::F1_ECX => bits |= HYPERVISOR_BIT,
            // On Intel hosts KVM leaves out the AMD aliases of leaf 1 EDX.
            word::F8000_0001_EDX => bits |= self.supported_word(word::F1_EDX) & AMD_ALIASES,
            _ => {}
        }
        bits
    }
}

const HYPERVISOR_BIT: u32 = 1 << 31;
/// Leaf 7 EBX: SGX (needs leaf 0x12) and Intel PT (needs leaf 0x14).
const SGX_BIT: u32 = 1 << 2;
const INTEL_PT_BIT: u32 = 1 << 25;
/// Leaf 0x80000001 ECX: SVM (needs leaf 0x8000000a).
const SVM_BIT: u32 = 1 << 2;

/// Bits `host` and `max` do not take from the host unasked (QEMU's
/// `no_autoenable_flags`): HT, TOPOEXT (needs a consistent cache topology)
/// and the KVM hints.
fn not_autoenabled(w: usize) -> u32 {
    match w {
        word::F1_EDX => 1 << 28,
        word::F8000_0001_ECX => 1 << 22,
        word::KVM_HINTS => !0,
        _ => 0,
    }
}

/// Bits that cannot migrate (QEMU's `unmigratable_flags`): invtsc.
fn unmigratable(w: usize) -> u32 {
    match w {
        word::F8000_0007_EDX => 1 << 8,
        _ => 0,
    }
}
/// Leaf 1 EDX bits AMD repeats in leaf 0x80000001 EDX (CPUID_EXT2_AMD_ALIASES).
const AMD_ALIASES: u32 = 0x0183_f3ff;

/// The vCPU topology CPUID reports.
#[derive(Debug, Clone, Copy)]
pub struct Topology {
    pub cores: u32,
    pub threads: u32,
}

/// The resolved CPU: the model plus feature words after switches and host
/// filtering, ready to lay out per vCPU.
pub struct GuestCpu {
    model: &'static CpuModel,
    /// The `migratable` switch of `host` and `max`; None for other models.
    migratable: Option<bool>,
    /// The CPUID vendor: the host's under KVM, for every model with a
    /// definition (QEMU advertises the real vendor so that SYSENTER and
    /// SYSCALL work in compatibility mode); empty for `base`.
    vendor: String,
    /// The brand string: the definition's, or the host processor's for
    /// `host` and `max` (QEMU reads it with the CPUID instruction).
    model_id: String,
    words: [u32; word::COUNT],
    /// Bits the model or the switches asked for that the host lacks.
    filtered: [u32; word::COUNT],
    /// The MSR feature words (`MSR_FEATURE_WORDS` order): those switched
    /// on, and for `host` and `max` the host's (`with_host_msr_features`).
    /// They are not checked against the host for other models.
    msr_words: [u64; MSR_WORD_COUNT],
    /// The MSR feature bits the switches named, on or off.
    msr_requested: [u64; MSR_WORD_COUNT],
    passthrough: Vec<CpuidEntry>,
}

/// A requested feature the guest does not get: QEMU warns and drops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingFeature {
    /// A CPUID feature the host does not have.
    Unsupported { word: usize, bit: u32 },
    /// An MSR feature whose MSR the CPUID features do not announce.
    Dependency { msr_word: usize, bit: u32 },
}

impl MissingFeature {
    /// QEMU's warning text, without the program-name prefix.
    pub fn warning(&self) -> String {
        match *self {
            MissingFeature::Unsupported { word, bit } => {
                let w = &FEATURE_WORDS[word];
                format!(
                    "warning: host doesn't support requested feature: {}.{} [bit {bit}]",
                    w.description(),
                    w.names[bit as usize],
                )
            }
            MissingFeature::Dependency { msr_word, bit } => {
                let w = &MSR_FEATURE_WORDS[msr_word];
                let name = w
                    .names
                    .iter()
                    .find(|(b, _)| *b == bit)
                    .map_or("", |(_, name)| name);
                format!(
                    "warning: This feature depends on other features that were not requested: {}",
                    w.describe(bit, name)
                )
            }
        }
    }
}

/// Why `-cpu` switches cannot apply.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CpuError {
    #[error("Property '{model}-x86_64-cpu.{feature}' not found")]
    UnknownFeature { model: String, feature: String },
}

impl GuestCpu {
    /// Resolve `model` with `switches` (`+feat` -> true, `-feat` -> false,
    /// in command-line order) against the host's CPUID. Returns the CPU and
    /// the requested features the host lacks (each a QEMU warning).
    pub fn new(
        model: &'static CpuModel,
        switches: &[(String, bool)],
        host: &HostCpuid,
    ) -> Result<(GuestCpu, Vec<MissingFeature>), CpuError> {
        let class = model.alias_of.unwrap_or(model.name);
        let mut words = model_feature_words(model);
        let mut requested = [0u32; word::COUNT];
        let mut msr_words = [0u64; MSR_WORD_COUNT];
        let mut msr_requested = [0u64; MSR_WORD_COUNT];
        // The accelerator's defaults apply to models with a definition only.
        let defaults = KVM_DEFAULT_FEATURES
            .iter()
            .filter(|_| model.kind == ModelKind::Defined)
            .map(|(n, on)| (n.to_string(), *on));
        // `host` and `max` have a `migratable` switch; on, they leave out
        // what cannot migrate.
        let mut migratable = (model.kind == ModelKind::Passthrough).then_some(true);
        for (name, on) in defaults.chain(switches.iter().cloned()) {
            if let (Some(value), "migratable") = (migratable.as_mut(), name.as_str()) {
                *value = on;
                continue;
            }
            if let Some((w, mask)) = find_msr_feature(&name) {
                if on {
                    msr_words[w] |= mask;
                } else {
                    msr_words[w] &= !mask;
                }
                msr_requested[w] |= mask;
                continue;
            }
            let (w, mask) = find_feature(&name).ok_or_else(|| CpuError::UnknownFeature {
                model: class.trim_end_matches("-v1").to_string(),
                feature: name.clone(),
            })?;
            if on {
                words[w] |= mask;
            } else {
                words[w] &= !mask;
            }
            requested[w] |= mask;
        }
        let vendor = match model.kind {
            ModelKind::Empty => String::new(),
            ModelKind::Defined | ModelKind::Passthrough => host.vendor(),
        };
        if model.kind != ModelKind::Empty {
            words[word::F1_ECX] |= HYPERVISOR_BIT;
        }
        if vendor == "AuthenticAMD" {
            words[word::F8000_0001_EDX] |= words[word::F1_EDX] & AMD_ALIASES;
        }
        let mut missing = Vec::new();
        // An MSR feature needs the CPUID bit announcing its MSR.
        for (w, bits) in msr_words.iter_mut().enumerate() {
            let (needed_word, needed_bit) = MSR_FEATURE_WORDS[w].needs;
            if words[needed_word] & (1 << needed_bit) == 0 {
                for (bit, _) in MSR_FEATURE_WORDS[w].names {
                    if *bits & (1 << bit) != 0 {
                        missing.push(MissingFeature::Dependency {
                            msr_word: w,
                            bit: *bit,
                        });
                    }
                }
                *bits = 0;
            }
        }
        let mut filtered = [0u32; word::COUNT];
        if model.kind == ModelKind::Passthrough {
            for (w, bits) in words.iter_mut().enumerate() {
                let mut offered = host.supported_word(w) & !not_autoenabled(w);
                if migratable == Some(true) {
                    offered &= !unmigratable(w);
                }
                *bits |= offered & !(requested[w] & !*bits);
            }
        }
        for (w, bits) in words.iter_mut().enumerate() {
            let unsupported = *bits & !host.supported_word(w);
            for bit in 0..32 {
                if unsupported & (1 << bit) != 0 && !FEATURE_WORDS[w].names[bit].is_empty() {
                    missing.push(MissingFeature::Unsupported {
                        word: w,
                        bit: bit as u32,
                    });
                }
            }
            *bits &= !unsupported;
            filtered[w] = unsupported;
        }
        let (passthrough, model_id) = match model.kind {
            ModelKind::Passthrough => (host.0.to_vec(), host_brand_string()),
            ModelKind::Defined | ModelKind::Empty => (Vec::new(), model.model_id.to_string()),
        };
        Ok((
            GuestCpu {
                model,
                migratable,
                vendor,
                model_id,
                words,
                filtered,
                msr_words,
                msr_requested,
                passthrough,
            },
            missing,
        ))
    }

    /// The model this CPU was resolved from.
    pub fn model(&self) -> &'static CpuModel {
        self.model
    }

    /// The `migratable` switch of `host` and `max`; None for other models.
    pub fn migratable(&self) -> Option<bool> {
        self.migratable
    }

    /// The features the guest sees, word by word (`FEATURE_WORDS` order).
    pub fn feature_words(&self) -> &[u32; word::COUNT] {
        &self.words
    }

    /// The features asked for that the host lacks, word by word.
    pub fn filtered_words(&self) -> &[u32; word::COUNT] {
        &self.filtered
    }

    /// The MSR feature words, in `MSR_FEATURE_WORDS` order.
    pub fn msr_feature_words(&self) -> &[u64; MSR_WORD_COUNT] {
        &self.msr_words
    }

    /// `host` and `max` take the host's MSR features (`msrs`: index and
    /// value, as KVM reports them) that QEMU names, but those switched off
    /// and those whose MSR the CPUID features do not announce.
    pub fn with_host_msr_features(mut self, msrs: &[(u32, u64)]) -> Self {
        if self.model.kind != ModelKind::Passthrough {
            return self;
        }
        for (w, word) in MSR_FEATURE_WORDS.iter().enumerate() {
            let (needed_word, needed_bit) = word.needs;
            if self.words[needed_word] & (1 << needed_bit) == 0 {
                continue;
            }
            let host = msrs
                .iter()
                .find(|(index, _)| *index == word.msr)
                .map_or(0, |(_, v)| *v);
            // The VMX control MSRs offer their settable bits in 63:32.
            let host = if word.allowed_in_high_half {
                host >> 32
            } else {
                host
            };
            let named = word.names.iter().fold(0, |mask, (bit, _)| mask | 1 << bit);
            self.msr_words[w] |= host & named & !self.msr_requested[w];
        }
        self
    }

    /// The CPUID vendor string.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// Family, model and stepping: the definition's, or the host's for
    /// `host` and `max`.
    pub fn signature(&self) -> (u32, u32, u32) {
        match self.passthrough_leaf(1) {
            Some(leaf) => split_family_model_stepping(leaf.eax),
            None => (self.model.family, self.model.model, self.model.stepping),
        }
    }

    /// The brand string (CPUID 0x80000002..4).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The highest basic, extended (0x8000_0000) and Centaur (0xc000_0000)
    /// leaves.
    pub fn levels(&self) -> (u32, u32, u32) {
        let (mut level, mut xlevel, mut xlevel2) = if self.passthrough.is_empty() {
            (self.model.level, self.model.xlevel, 0)
        } else {
            let max = |function| self.passthrough_leaf(function).map_or(0, |e| e.eax);
            (max(0), max(0x8000_0000), max(0xc000_0000))
        };
        // QEMU raises them to reach every leaf a feature asked for is in
        // (full-cpuid-auto-level), before the host filters features.
        let asked = |w: usize| self.words[w] | self.filtered[w];
        for (w, fw) in FEATURE_WORDS.iter().enumerate() {
            if asked(w) == 0 {
                continue;
            }
            match fw.leaf & 0xf000_0000 {
                0 => level = level.max(fw.leaf),
                0x8000_0000 => xlevel = xlevel.max(fw.leaf),
                0xc000_0000 => xlevel2 = xlevel2.max(fw.leaf),
                _ => {}
            }
        }
        let leaf7_ebx = asked(word::F7_0_EBX);
        if leaf7_ebx & SGX_BIT != 0 {
            level = level.max(0x12);
        }
        if leaf7_ebx & INTEL_PT_BIT != 0 {
            level = level.max(0x14);
        }
        if asked(word::F8000_0001_ECX) & SVM_BIT != 0 {
            xlevel = xlevel.max(0x8000_000a);
        }
        (level, xlevel, xlevel2)
    }

    /// The highest subleaf of leaf 7: 1 once a feature of 7.1 is asked for.
    pub fn level_func7(&self) -> u32 {
        u32::from(self.words[word::F7_1_EAX] | self.filtered[word::F7_1_EAX] != 0)
    }

    /// Physical address bits: QEMU's default of 40, or the host's for
    /// `host` and `max` (which set `host-phys-bits`).
    pub fn phys_bits(&self) -> u32 {
        if self.passthrough.is_empty() {
            return 40;
        }
        self.passthrough_leaf(0x8000_0008)
            .map_or(40, |e| e.eax & 0xff)
    }

    fn passthrough_leaf(&self, function: u32) -> Option<&CpuidEntry> {
        self.passthrough.iter().find(|e| e.function == function)
    }

    /// The CPUID table of the vCPU with `apic_id`.
    pub fn entries(&self, apic_id: u32, topo: Topology) -> Vec<CpuidEntry> {
        let mut out = if self.passthrough.is_empty() {
            self.defined_entries(topo)
        } else {
            self.passthrough_entries()
        };
        for e in &mut out {
            self.apply_words(e);
            self.apply_per_cpu(e, apic_id, topo);
        }
        out
    }

    fn apply_words(&self, e: &mut CpuidEntry) {
        use super::features::Reg;
        for (w, fw) in FEATURE_WORDS.iter().enumerate() {
            if fw.leaf == e.function && fw.subleaf.is_none_or(|s| s == e.index) {
                let value = self.words[w];
                match fw.reg {
                    Reg::Eax => e.eax = value,
                    Reg::Ebx => e.ebx = value,
                    Reg::Ecx => e.ecx = value,
                    Reg::Edx => e.edx = value,
                }
            }
        }
    }

    /// The parts of leaves 1, 0xb and 0x80000008 that depend on the vCPU.
    fn apply_per_cpu(&self, e: &mut CpuidEntry, apic_id: u32, topo: Topology) {
        let logical = topo.cores * topo.threads;
        match e.function {
            1 => {
                e.ebx = (e.ebx & 0xffff) | (apic_id << 24);
                if logical > 1 {
                    e.ebx |= logical.min(255) << 16;
                    e.edx |= 1 << 28; // HT: more than one logical CPU per package
                }
            }
            0xb => {
                let smt_shift = apicid_bits(topo.threads);
                let core_shift = smt_shift + apicid_bits(topo.cores);
                (e.eax, e.ebx, e.ecx) = match e.index {
                    0 => (smt_shift, topo.threads, 0x100),
                    1 => (core_shift, logical, 0x201),
                    i => (0, 0, i),
                };
                e.edx = apic_id;
            }
            0x8000_0008 if logical > 1 => e.ecx = logical - 1,
            _ => {}
        }
    }

    /// The host's leaves, with the host processor's brand string.
    fn passthrough_entries(&self) -> Vec<CpuidEntry> {
        let mut out = self.passthrough.clone();
        let brand = model_id_words(&self.model_id);
        for (i, chunk) in brand.chunks(4).enumerate() {
            let function = 0x8000_0002 + i as u32;
            if let Some(e) = out.iter_mut().find(|e| e.function == function) {
                (e.eax, e.ebx, e.ecx, e.edx) = (chunk[0], chunk[1], chunk[2], chunk[3]);
            }
        }
        out
    }

    /// The leaves of a defined model, as QEMU's cpu_x86_cpuid fills them.
    fn defined_entries(&self, topo: Topology) -> Vec<CpuidEntry> {
        let m = self.model;
        let leaf = |function: u32, eax, ebx, ecx, edx| CpuidEntry {
            function,
            eax,
            ebx,
            ecx,
            edx,
            ..Default::default()
        };
        let sub = |function: u32, index: u32, eax, ebx, ecx, edx| CpuidEntry {
            function,
            index,
            significant_index: true,
            eax,
            ebx,
            ecx,
            edx,
        };
        let (level, xlevel, _) = self.levels();
        let [v0, v1, v2] = vendor_words(&self.vendor);
        let signature = family_model_stepping(m.family, m.model, m.stepping);
        let amd = self.vendor == "AuthenticAMD";
        let mut out = vec![
            leaf(0, level, v0, v2, v1),
            // CLFLUSH line size 8 quadwords; per-vCPU bits come later.
            leaf(1, signature, 8 << 8, 0, 0),
            // Legacy cache descriptors: L1D 32K, L1I 32K, L2 2M.
            leaf(2, 1, 0, 0, 0x002c_307d),
        ];
        // Leaf 4 stays empty on AMD models (QEMU's x-vendor-cpuid-only).
        let cache4 = [(1u32, 1u32, 8u32, 64u32), (2, 1, 8, 64), (3, 2, 16, 4096)];
        for (i, (ty, level, ways, sets)) in cache4.into_iter().enumerate() {
            let (eax, ebx, ecx, edx) = if amd {
                (0, 0, 0, 0)
            } else {
                let cores_minus_one = topo.cores.saturating_sub(1);
                (
                    ty | level << 5 | 1 << 8 | cores_minus_one << 26,
                    63 | (ways - 1) << 22,
                    sets - 1,
                    0,
                )
            };
            out.push(sub(4, i as u32, eax, ebx, ecx, edx));
        }
        out.push(sub(4, 3, 0, 0, 0, 0));
        out.extend([
            leaf(5, 0, 0, 0, 0),
            leaf(6, 0, 0, 0, 0),
            sub(7, 0, 0, 0, 0, 0),
            leaf(0xa, 0, 0, 0, 0),
            sub(0xb, 0, 0, 0, 0, 0),
            sub(0xb, 1, 0, 0, 0, 0),
            sub(0xb, 2, 0, 0, 0, 0),
            sub(0xd, 0, 0, 0, 0, 0),
            sub(0xd, 1, 0, 0, 0, 0),
            leaf(0x4000_0000, 0x4000_0001, KVM_SIG[0], KVM_SIG[1], KVM_SIG[2]),
            leaf(0x4000_0001, 0, 0, 0, 0),
            leaf(0x8000_0000, xlevel, v0, v2, v1),
            leaf(0x8000_0001, signature, 0, 0, 0),
        ]);
        let id = model_id_words(m.model_id);
        for (i, chunk) in id.chunks(4).enumerate() {
            out.push(leaf(
                0x8000_0002 + i as u32,
                chunk[0],
                chunk[1],
                chunk[2],
                chunk[3],
            ));
        }
        // QEMU's legacy AMD cache and TLB descriptions (L1 64K 2-way, L2
        // 512K 16-way, L3 16M 16-way), reported for every vendor.
        out.extend([
            leaf(
                0x8000_0005,
                0x01ff_01ff,
                0x01ff_01ff,
                0x4002_0140,
                0x4002_0140,
            ),
            leaf(0x8000_0006, 0, 0x4200_4200, 0x0200_8140, 0x0080_8140),
            leaf(0x8000_0007, 0, 0, 0, 0),
            // 40 physical and 48 virtual address bits.
            leaf(0x8000_0008, 0x3028, 0, 0, 0),
        ]);
        if xlevel >= 0x8000_000a {
            out.push(leaf(0x8000_000a, 0, 0, 0, 0));
        }
        out.retain(|e| {
            let max = if e.function >= 0x8000_0000 {
                xlevel
            } else if e.function >= 0x4000_0000 {
                0x4000_0001
            } else {
                level
            };
            e.function <= max
        });
        out
    }
}

/// The processor's own brand string, read with the CPUID instruction.
fn host_brand_string() -> String {
    let bytes: Vec<u8> = (0x8000_0002..=0x8000_0004)
        .map(std::arch::x86_64::__cpuid)
        .flat_map(|r| [r.eax, r.ebx, r.ecx, r.edx])
        .flat_map(u32::to_le_bytes)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// "KVMKVMKVM\0\0\0" as CPUID 0x40000000 returns it in EBX, ECX, EDX.
const KVM_SIG: [u32; 3] = [0x4b4d_564b, 0x564b_4d56, 0x0000_004d];

/// Bits needed to number `count` items in an APIC ID field.
pub fn apicid_bits(count: u32) -> u32 {
    if count <= 1 {
        0
    } else {
        32 - (count - 1).leading_zeros()
    }
}

/// The vendor string as CPUID returns it: EBX, EDX, ECX order of the text.
pub fn vendor_words(vendor: &str) -> [u32; 3] {
    let mut bytes = [0u8; 12];
    for (dst, src) in bytes.iter_mut().zip(vendor.bytes()) {
        *dst = src;
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    [word(0), word(4), word(8)]
}

fn model_id_words(id: &str) -> [u32; 12] {
    let mut bytes = [0u8; 48];
    for (dst, src) in bytes.iter_mut().zip(id.bytes()) {
        *dst = src;
    }
    let mut out = [0u32; 12];
    for (i, w) in out.iter_mut().enumerate() {
        *w = u32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]);
    }
    out
}

/// Family, model and stepping from CPUID leaf 1 EAX, added up as QEMU
/// does for the host's signature.
fn split_family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);
    let model = (eax >> 4) & 0xf | ((eax >> 16) & 0xf) << 4;
    (family, model, eax & 0xf)
}

/// CPUID leaf 1 EAX from family, model and stepping (extended fields as the
/// SDM defines them).
fn family_model_stepping(family: u32, model: u32, stepping: u32) -> u32 {
    let mut eax = stepping & 0xf | (model & 0xf) << 4 | (model >> 4) << 16;
    if family > 0xf {
        eax |= 0xf << 8 | (family - 0xf) << 20;
    } else {
        eax |= family << 8;
    }
    eax
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::models::find_model;

    /// A host that supports leaf 1 EDX fully but not SSE3 (as this
    /// machine's KVM reports), x2apic, and the KVM paravirt leaf.
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
                ecx: 1 << 13 | 1 << 21,
                edx: 0xffff_ffff,
                ..Default::default()
            },
            CpuidEntry {
                function: 0x8000_0001,
                ecx: 1,
                edx: 1 << 11 | 1 << 20 | 1 << 29,
                ..Default::default()
            },
            CpuidEntry {
                function: 0x4000_0001,
                eax: 0x0100_00ff,
                ..Default::default()
            },
        ]
    }

    fn find(entries: &[CpuidEntry], function: u32, index: u32) -> CpuidEntry {
        *entries
            .iter()
            .find(|e| e.function == function && e.index == index)
            .expect("leaf present")
    }

    #[test]
    fn qemu64_warns_like_qemu_on_a_host_without_sse3() {
        let host = host();
        let model = find_model("qemu64").unwrap();
        let switches = vec![("ssse3".to_string(), true), ("svm".to_string(), false)];
        let (_, missing) = GuestCpu::new(model, &switches, &HostCpuid(&host)).unwrap();
        let warnings: Vec<String> = missing.iter().map(MissingFeature::warning).collect();
        // The same lines QEMU 7.2 prints here for `-cpu qemu64,+ssse3,-svm`.
        assert_eq!(
            warnings,
            [
                "warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]",
                "warning: host doesn't support requested feature: CPUID.01H:ECX.ssse3 [bit 9]",
            ]
        );
    }

    #[test]
    fn msr_features_need_their_cpuid_bit_as_in_qemu() {
        let host = host();
        let model = find_model("qemu64").unwrap();
        let switches = vec![
            ("vmx-ept".to_string(), true),
            ("rdctl_no".to_string(), true),
        ];
        let (cpu, missing) = GuestCpu::new(model, &switches, &HostCpuid(&host)).unwrap();
        let warnings: Vec<String> = missing.iter().map(MissingFeature::warning).collect();
        // QEMU 7.2's lines for `-cpu qemu64,+vmx-ept,+rdctl-no` here.
        assert_eq!(
            warnings[..2],
            [
                "warning: This feature depends on other features that were not requested: MSR(10AH).rdctl-no [bit 0]",
                "warning: This feature depends on other features that were not requested: MSR(48BH).vmx-ept [bit 1]",
            ]
        );
        assert!(cpu.msr_feature_words().iter().all(|w| *w == 0));
    }

    #[test]
    fn unknown_feature_is_qemus_property_error() {
        let host = host();
        let model = find_model("qemu64").unwrap();
        let err = GuestCpu::new(model, &[("nosuchfeat".into(), true)], &HostCpuid(&host))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "Property 'qemu64-x86_64-cpu.nosuchfeat' not found"
        );
    }

    #[test]
    fn qemu64_leaves_carry_vendor_signature_and_topology() {
        let host = host();
        let model = find_model("qemu64").unwrap();
        let (cpu, _) = GuestCpu::new(model, &[], &HostCpuid(&host)).unwrap();
        let entries = cpu.entries(
            1,
            Topology {
                cores: 2,
                threads: 1,
            },
        );
        let l0 = find(&entries, 0, 0);
        let vendor: Vec<u8> = [l0.ebx, l0.edx, l0.ecx]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(vendor, b"AuthenticAMD");
        assert_eq!(l0.eax, 0xd);
        let l1 = find(&entries, 1, 0);
        // family 15, model 107 (0x6b), stepping 1
        assert_eq!(l1.eax, 0x0006_0fb1);
        assert_eq!(l1.ebx >> 24, 1, "APIC ID");
        assert_eq!((l1.ebx >> 16) & 0xff, 2, "logical processors");
        assert_ne!(l1.ecx & HYPERVISOR_BIT, 0);
        assert_ne!(l1.ecx & 1 << 21, 0, "x2apic from the KVM defaults");
        assert_eq!(l1.ecx & 1, 0, "pni filtered out");
        let ext = find(&entries, 0x8000_0001, 0);
        assert_ne!(ext.edx & 1 << 29, 0, "lm");
        assert_eq!(ext.ecx & 1 << 2, 0, "svm is off under KVM");
        let brand: Vec<u8> = (0..3)
            .map(|i| find(&entries, 0x8000_0002 + i, 0))
            .flat_map(|e| [e.eax, e.ebx, e.ecx, e.edx])
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert!(brand.starts_with(b"QEMU Virtual CPU version 2.5+\0"));
        let kvm = find(&entries, 0x4000_0001, 0);
        // What QEMU 7.2's qemu64 reports in feature-words under KVM.
        assert_eq!(kvm.eax, 0x0100_007b);
    }

    #[test]
    fn host_model_passes_supported_leaves_through() {
        let host = host();
        let model = find_model("host").unwrap();
        let (cpu, missing) =
            GuestCpu::new(model, &[("x2apic".into(), false)], &HostCpuid(&host)).unwrap();
        assert!(missing.is_empty());
        let entries = cpu.entries(
            0,
            Topology {
                cores: 1,
                threads: 1,
            },
        );
        assert_eq!(entries.len(), host.len());
        assert_eq!(find(&entries, 1, 0).ecx & 1 << 21, 0, "-x2apic honoured");
        assert_ne!(find(&entries, 1, 0).ecx & 1 << 13, 0, "cx16 passed through");
    }
}

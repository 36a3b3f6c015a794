//! `-smp`: QEMU 7.2's CPU topology rules (hw/core/machine-smp.c), for a
//! PC machine (dies supported, clusters not) and `none`.

use super::description::Dict;
use super::description::SmpTopology;
use super::error::warning;
use super::qdict::parse_i64;

/// The topology values as given; 0 means not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmpConfig {
    pub cpus: u64,
    pub max_cpus: u64,
    pub sockets: u64,
    pub dies: u64,
    pub clusters: u64,
    pub cores: u64,
    pub threads: u64,
    /// Some parameter was given as 0 (deprecated, treated as not given).
    pub has_zero: bool,
}

const SMP_KEYS: [&str; 7] = [
    "cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads",
];

/// `-smp help`.
pub fn smp_help() -> String {
    let mut keys = SMP_KEYS;
    keys.sort_unstable();
    let mut out = String::from("smp-opts options:\n");
    for key in keys {
        out.push_str(&format!("  {key}=<num>\n"));
    }
    out
}

impl SmpConfig {
    /// Reads `-smp` and `-machine smp.*` (merged into one dictionary) with
    /// QEMU's messages (`Parameter 'smp.cpus' expects integer`,
    /// `Parameter 'smp.foo' is unexpected`).
    pub fn from_dict(smp: &Dict) -> Result<SmpConfig, String> {
        let mut config = SmpConfig::default();
        for key in smp.keys() {
            if !SMP_KEYS.contains(&key.as_str()) {
                return Err(format!("Parameter 'smp.{key}' is unexpected"));
            }
        }
        for key in SMP_KEYS {
            let Some(value) = smp.get(key) else { continue };
            let value = value
                .as_str()
                .and_then(parse_i64)
                .ok_or_else(|| format!("Parameter 'smp.{key}' expects integer"))?;
            if value == 0 {
                config.has_zero = true;
            }
            // QEMU keeps the 64-bit values in 32-bit unsigned fields.
            let value = u64::from(value as u32);
            match key {
                "cpus" => config.cpus = value,
                "maxcpus" => config.max_cpus = value,
                "sockets" => config.sockets = value,
                "dies" => config.dies = value,
                "clusters" => config.clusters = value,
                "cores" => config.cores = value,
                _ => config.threads = value,
            }
        }
        Ok(config)
    }
}

/// What a machine type supports.
#[derive(Debug, Clone, Copy)]
pub struct SmpLimits<'a> {
    pub machine: &'a str,
    pub max_cpus: u64,
    pub dies_supported: bool,
}

/// Computes the topology as QEMU 7.2 does for machines that prefer cores
/// over sockets. Returns warnings to print and the topology, or the error.
pub fn compute(
    config: &SmpConfig,
    limits: &SmpLimits,
) -> Result<(SmpTopology, Vec<String>), String> {
    let mut warnings = Vec::new();
    if config.has_zero {
        warnings.push(warning(
            None,
            "Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero",
        ));
    }
    if config.clusters > 1 {
        return Err("clusters not supported by this machine's CPU topology".to_owned());
    }
    if !limits.dies_supported && config.dies > 1 {
        return Err("dies not supported by this machine's CPU topology".to_owned());
    }
    let SmpConfig {
        cpus,
        mut max_cpus,
        mut sockets,
        mut cores,
        mut threads,
        ..
    } = *config;
    let dies = config.dies.max(1);
    let clusters = config.clusters.max(1);
    let or_one = |v: u64| if v > 0 { v } else { 1 };
    // Values are 32-bit, so products of several may exceed 64 bits.
    let product_of = |values: &[u64]| values.iter().fold(1u64, |acc, v| acc.saturating_mul(*v));
    if cpus == 0 && max_cpus == 0 {
        sockets = or_one(sockets);
        cores = or_one(cores);
        threads = or_one(threads);
    } else {
        max_cpus = if max_cpus > 0 { max_cpus } else { cpus };
        if cores == 0 {
            sockets = or_one(sockets);
            threads = or_one(threads);
            cores = max_cpus / product_of(&[sockets, dies, clusters, threads]);
        } else if sockets == 0 {
            threads = or_one(threads);
            sockets = max_cpus / product_of(&[dies, clusters, cores, threads]);
        }
        if threads == 0 {
            threads = max_cpus / product_of(&[sockets, dies, clusters, cores]);
        }
    }
    let product = product_of(&[sockets, dies, clusters, cores, threads]);
    let max_cpus = if max_cpus > 0 { max_cpus } else { product };
    let cpus = if cpus > 0 { cpus } else { max_cpus };

    let dies_text = if limits.dies_supported {
        format!(" * dies ({dies})")
    } else {
        String::new()
    };
    let hierarchy =
        format!("sockets ({sockets}){dies_text} * cores ({cores}) * threads ({threads})");
    if product != max_cpus {
        return Err(format!(
            "Invalid CPU topology: product of the hierarchy must match maxcpus: {hierarchy} != maxcpus ({max_cpus})"
        ));
    }
    if max_cpus < cpus {
        return Err(format!(
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: {hierarchy} == maxcpus ({max_cpus}) < smp_cpus ({cpus})"
        ));
    }
    if max_cpus > limits.max_cpus {
        return Err(format!(
            "Invalid SMP CPUs {}. The max CPUs supported by machine '{}' is {}",
            max_cpus as u32 as i32, limits.machine, limits.max_cpus
        ));
    }
    // Every value is at most max_cpus, which fits the machine's limit.
    let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok((
        SmpTopology {
            cpus: narrow(cpus),
            max_cpus: narrow(max_cpus),
            sockets: narrow(sockets),
            dies: narrow(dies),
            clusters: narrow(clusters),
            cores: narrow(cores),
            threads: narrow(threads),
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vl::keyval::{parse_keyval, ImpliedValue};

    const Q35: SmpLimits = SmpLimits {
        machine: "pc-q35-7.2",
        max_cpus: 288,
        dies_supported: true,
    };

    fn topology(body: &str) -> Result<SmpTopology, String> {
        let parsed = parse_keyval(body, Some("cpus"), ImpliedValue::UpToComma)?;
        let config = SmpConfig::from_dict(&parsed.dict)?;
        compute(&config, &Q35).map(|(t, _)| t)
    }

    /// Results recorded from QEMU 7.2 (`qom-get /machine smp`).
    #[test]
    fn topologies_match_qemu() {
        let t = topology("4").unwrap();
        assert_eq!(
            (t.cpus, t.max_cpus, t.sockets, t.cores, t.threads),
            (4, 4, 1, 4, 1)
        );
        let t = topology("2,maxcpus=4").unwrap();
        assert_eq!(
            (t.cpus, t.max_cpus, t.sockets, t.cores, t.threads),
            (2, 4, 1, 4, 1)
        );
        let t = topology("sockets=2").unwrap();
        assert_eq!(
            (t.cpus, t.max_cpus, t.sockets, t.cores, t.threads),
            (2, 2, 2, 1, 1)
        );
        let t = topology("cpus=2,sockets=1,dies=1,cores=2,threads=1").unwrap();
        assert_eq!(
            (t.cpus, t.max_cpus, t.sockets, t.cores, t.threads),
            (2, 2, 1, 2, 1)
        );
        assert_eq!(
            topology("2,sockets=3,cores=1,threads=1,maxcpus=2"),
            Err("Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (2)".to_owned())
        );
        assert_eq!(
            topology("foo"),
            Err("Parameter 'smp.cpus' expects integer".to_owned())
        );
    }
}

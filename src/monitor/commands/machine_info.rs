//! What kinds of machine there are: `query-machines`.

use qapi::types::MachineInfo;

use crate::vl::machine::MACHINE_TYPES;

/// Every machine type `-machine` accepts, with QEMU 7.2's values for it.
pub fn query_machines() -> Vec<MachineInfo> {
    MACHINE_TYPES
        .iter()
        .map(|m| MachineInfo {
            name: m.name.to_string(),
            alias: m.alias.map(str::to_string),
            is_default: m.is_default.then_some(true),
            cpu_max: m.max_cpus as i64,
            // CPUs cannot be added to a running machine here.
            hotpluggable_cpus: false,
            numa_mem_supported: false,
            deprecated: false,
            default_cpu_type: m.default_cpu_type.map(str::to_string),
            default_ram_id: Some(m.default_ram_id.to_string()),
        })
        .collect()
}

//! The vCPUs over QMP: `query-cpus-fast` and `query-hotpluggable-cpus`.

use qapi::types::{CpuInfoFast, CpuInfoFastVariant, CpuInstanceProperties, HotpluggableCPU};
use qapi::QmpError;

use crate::machine::qom::CpuTopologyIds;
use crate::machine::Machine;

/// The topology ids QEMU's PC machines report: socket, core and thread
/// (die only with more than one die per socket).
fn instance_properties(ids: CpuTopologyIds, dies: u32) -> CpuInstanceProperties {
    CpuInstanceProperties {
        node_id: None,
        socket_id: Some(ids.socket.into()),
        die_id: (dies > 1).then_some(ids.die.into()),
        cluster_id: None,
        core_id: Some(ids.core.into()),
        thread_id: Some(ids.thread.into()),
    }
}

pub fn query_cpus_fast(machine: &Machine) -> Vec<CpuInfoFast> {
    let qom = machine.qom();
    let thread_ids = machine.vcpu_thread_ids();
    let dies = machine.smp().dies;
    qom.cpus
        .iter()
        .zip(thread_ids)
        .enumerate()
        .map(|(index, (cpu, thread_id))| CpuInfoFast {
            cpu_index: index as i64,
            qom_path: qom.tree.path(cpu.object),
            thread_id: thread_id.into(),
            props: Some(instance_properties(cpu.topology, dies)),
            variant: CpuInfoFastVariant::X86_64,
        })
        .collect()
}

/// Every CPU slot up to `maxcpus`, the last first as QEMU lists them, with
/// the path of the CPU plugged there.
pub fn query_hotpluggable_cpus(machine: &Machine) -> Result<Vec<HotpluggableCPU>, QmpError> {
    let qom = machine.qom();
    let Some(cpu_type) = &qom.cpu_type else {
        return Err(QmpError::generic(
            "The feature 'query-hotpluggable-cpus' is not enabled",
        ));
    };
    let smp = machine.smp();
    Ok((0..smp.max_cpus)
        .rev()
        .map(|index| {
            let ids = CpuTopologyIds::of(index, smp);
            HotpluggableCPU {
                r#type: cpu_type.clone(),
                vcpus_count: 1,
                props: instance_properties(ids, smp.dies),
                qom_path: qom
                    .cpus
                    .iter()
                    .find(|cpu| cpu.topology == ids)
                    .map(|cpu| qom.tree.path(cpu.object)),
            }
        })
        .collect())
}

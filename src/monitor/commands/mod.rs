//! The commands the monitors run: `QmpContext` implements the schema's
//! [`QmpCommands`] trait, one method per command, each a call into the
//! module of its area. Argument decoding and the command table are
//! generated from `qapi/schema` (see the `qapi` crate).

mod chardev;
mod command_line;
mod cpu;
mod fds;
mod input;
mod machine_info;
mod memory;
mod migration;
mod qom;
mod run_state;
mod vcpus;

use serde_json::{Map, Value};

use qapi::types::*;
use qapi::{CommandEntry, ErrorClass, QmpCommands, QmpError};

use super::fds::{FdSets, MonitorFds};
use super::qmp::CommandHandler;
use crate::chardev::ChardevSet;
use crate::machine::Machine;
use crate::monitor::hmp::{self, HmpState};

/// What a command may act on: the machine, the process's chardevs, the
/// file descriptors of the monitor the request came from and the
/// process's fd sets.
pub struct QmpContext<'a> {
    pub machine: &'a mut Machine,
    pub chardevs: &'a mut ChardevSet,
    pub monitor_fds: &'a mut MonitorFds,
    pub fdsets: &'a mut FdSets,
    /// What the human monitor keeps between command lines.
    pub hmp: &'a mut HmpState,
}

impl CommandHandler for QmpContext<'_> {
    fn command(&self, name: &str) -> Option<&'static CommandEntry> {
        qapi::commands::command(name)
    }

    fn dispatch(&mut self, name: &str, args: Map<String, Value>) -> Result<Value, QmpError> {
        qapi::dispatch(self, name, &args)
    }
}

impl QmpCommands for QmpContext<'_> {
    fn query_status(&mut self) -> Result<StatusInfo, QmpError> {
        Ok(run_state::query_status(self.machine))
    }

    fn query_jobs(&mut self) -> Result<Vec<JobInfo>, QmpError> {
        // No block jobs exist yet.
        Ok(Vec::new())
    }

    fn query_chardev(&mut self) -> Result<Vec<ChardevInfo>, QmpError> {
        Ok(chardev::query_chardev(self.chardevs))
    }

    fn chardev_add(
        &mut self,
        id: String,
        backend: ChardevBackend,
    ) -> Result<ChardevReturn, QmpError> {
        chardev::chardev_add(self.chardevs, self.monitor_fds, id, backend)
    }

    fn chardev_remove(&mut self, id: String) -> Result<(), QmpError> {
        chardev::chardev_remove(self.chardevs, &id)
    }

    fn send_key(&mut self, keys: Vec<KeyValue>, hold_time: Option<i64>) -> Result<(), QmpError> {
        input::send_key(self.machine, &keys, hold_time);
        Ok(())
    }

    fn query_migrate(&mut self) -> Result<MigrationInfo, QmpError> {
        Ok(migration::query_migrate())
    }

    fn migrate_set_capabilities(
        &mut self,
        capabilities: Vec<MigrationCapabilityStatus>,
    ) -> Result<(), QmpError> {
        migration::migrate_set_capabilities(&capabilities)
    }

    fn query_migrate_capabilities(&mut self) -> Result<Vec<MigrationCapabilityStatus>, QmpError> {
        Ok(migration::query_migrate_capabilities())
    }

    fn qmp_capabilities(&mut self, _enable: Option<Vec<QMPCapability>>) -> Result<(), QmpError> {
        // The session answers qmp_capabilities itself, before dispatch;
        // a negotiated session only reaches here by mistake.
        Err(QmpError::new(
            ErrorClass::CommandNotFound,
            "Capabilities negotiation is already complete, command ignored",
        ))
    }

    fn query_version(&mut self) -> Result<VersionInfo, QmpError> {
        Ok(qapi::version::version_info())
    }

    fn query_commands(&mut self) -> Result<Vec<CommandInfo>, QmpError> {
        Ok(qapi::introspection::command_list())
    }

    fn quit(&mut self) -> Result<(), QmpError> {
        self.machine.qmp_quit();
        Ok(())
    }

    fn query_qmp_schema(&mut self) -> Result<Vec<SchemaInfo>, QmpError> {
        Ok(qapi::introspection::qmp_schema())
    }

    fn qom_list(&mut self, path: String) -> Result<Vec<ObjectPropertyInfo>, QmpError> {
        qom::qom_list(self.machine.qom(), &path)
    }

    fn qom_get(&mut self, path: String, property: String) -> Result<serde_json::Value, QmpError> {
        qom::qom_get(self.machine.qom(), &path, &property)
    }

    fn qom_set(
        &mut self,
        path: String,
        property: String,
        value: serde_json::Value,
    ) -> Result<(), QmpError> {
        qom::qom_set(self.machine.qom_mut(), &path, &property, value)
    }

    fn qom_list_types(
        &mut self,
        implements: Option<String>,
        r#abstract: Option<bool>,
    ) -> Result<Vec<ObjectTypeInfo>, QmpError> {
        Ok(qom::qom_list_types(
            implements.as_deref(),
            r#abstract.unwrap_or(false),
        ))
    }

    fn qom_list_properties(
        &mut self,
        typename: String,
    ) -> Result<Vec<ObjectPropertyInfo>, QmpError> {
        qom::qom_list_properties(&typename)
    }

    fn device_list_properties(
        &mut self,
        typename: String,
    ) -> Result<Vec<ObjectPropertyInfo>, QmpError> {
        qom::device_list_properties(&typename)
    }

    fn query_cpus_fast(&mut self) -> Result<Vec<CpuInfoFast>, QmpError> {
        Ok(vcpus::query_cpus_fast(self.machine))
    }

    fn query_machines(&mut self) -> Result<Vec<MachineInfo>, QmpError> {
        Ok(machine_info::query_machines())
    }

    fn query_target(&mut self) -> Result<TargetInfo, QmpError> {
        Ok(run_state::query_target())
    }

    fn query_uuid(&mut self) -> Result<UuidInfo, QmpError> {
        Ok(run_state::query_uuid(self.machine))
    }

    fn system_reset(&mut self) -> Result<(), QmpError> {
        self.machine.qmp_system_reset();
        Ok(())
    }

    fn system_powerdown(&mut self) -> Result<(), QmpError> {
        self.machine.qmp_system_powerdown();
        Ok(())
    }

    fn system_wakeup(&mut self) -> Result<(), QmpError> {
        // Waking up needs ACPI suspend support, which the machine lacks.
        Err(QmpError::generic(
            "wake-up from suspend is not supported by this guest",
        ))
    }

    fn inject_nmi(&mut self) -> Result<(), QmpError> {
        if self.machine.inject_nmi() {
            Ok(())
        } else {
            Err(QmpError::generic(
                "this feature or command is not currently supported",
            ))
        }
    }

    fn query_kvm(&mut self) -> Result<KvmInfo, QmpError> {
        Ok(run_state::query_kvm())
    }

    fn memsave(
        &mut self,
        val: i64,
        size: i64,
        filename: String,
        cpu_index: Option<i64>,
    ) -> Result<(), QmpError> {
        memory::memsave(self.machine, val, size, &filename, cpu_index)
    }

    fn pmemsave(&mut self, val: i64, size: i64, filename: String) -> Result<(), QmpError> {
        memory::pmemsave(self.machine, val, size, &filename)
    }

    fn query_hotpluggable_cpus(&mut self) -> Result<Vec<HotpluggableCPU>, QmpError> {
        vcpus::query_hotpluggable_cpus(self.machine)
    }

    fn query_balloon(&mut self) -> Result<BalloonInfo, QmpError> {
        Err(QmpError::new(
            ErrorClass::DeviceNotActive,
            "No balloon device has been activated",
        ))
    }

    fn query_cpu_model_expansion(
        &mut self,
        r#type: CpuModelExpansionType,
        model: CpuModelInfo,
    ) -> Result<CpuModelExpansionInfo, QmpError> {
        cpu::query_cpu_model_expansion(r#type, model)
    }

    fn query_cpu_definitions(&mut self) -> Result<Vec<CpuDefinitionInfo>, QmpError> {
        cpu::query_cpu_definitions()
    }

    fn query_name(&mut self) -> Result<NameInfo, QmpError> {
        Ok(run_state::query_name(self.machine))
    }

    fn query_iothreads(&mut self) -> Result<Vec<IOThreadInfo>, QmpError> {
        // Devices do their I/O on the main loop: there are no -object iothreads.
        Ok(Vec::new())
    }

    fn stop(&mut self) -> Result<(), QmpError> {
        self.machine.qmp_stop();
        Ok(())
    }

    fn cont(&mut self) -> Result<(), QmpError> {
        self.machine.qmp_cont().map_err(QmpError::generic)
    }

    fn human_monitor_command(
        &mut self,
        command_line: String,
        cpu_index: Option<i64>,
    ) -> Result<String, QmpError> {
        hmp::human_monitor_command(self, &command_line, cpu_index)
    }

    fn getfd(&mut self, fdname: String) -> Result<(), QmpError> {
        fds::getfd(self.monitor_fds, fdname)
    }

    fn closefd(&mut self, fdname: String) -> Result<(), QmpError> {
        fds::closefd(self.monitor_fds, &fdname)
    }

    fn add_fd(
        &mut self,
        fdset_id: Option<i64>,
        opaque: Option<String>,
    ) -> Result<AddfdInfo, QmpError> {
        fds::add_fd(self.monitor_fds, self.fdsets, fdset_id, opaque)
    }

    fn remove_fd(&mut self, fdset_id: i64, fd: Option<i64>) -> Result<(), QmpError> {
        fds::remove_fd(self.fdsets, self.machine, fdset_id, fd)
    }

    fn query_fdsets(&mut self) -> Result<Vec<FdsetInfo>, QmpError> {
        Ok(fds::query_fdsets(self.fdsets))
    }

    fn query_command_line_options(
        &mut self,
        option: Option<String>,
    ) -> Result<Vec<CommandLineOptionInfo>, QmpError> {
        command_line::query_command_line_options(option.as_deref())
    }
}

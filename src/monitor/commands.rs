//! The commands the machine answers, by QMP name, with QEMU 7.2's return
//! values: run state (`stop`, `cont`, `system_reset`, `quit`,
//! `query-status`) and what the machine is (`query-name`, `query-uuid`,
//! `query-kvm`, `query-target`, `query-version`).

use serde_json::{json, Map, Value};

use super::qmp::{reject_unexpected, version, CommandHandler, CommandInfo, QmpError};
use crate::machine::Machine;
use crate::runstate::RunState;

const COMMANDS: [&str; 10] = [
    "query-version",
    "query-status",
    "query-name",
    "query-uuid",
    "query-kvm",
    "query-target",
    "stop",
    "cont",
    "system_reset",
    "quit",
];

impl CommandHandler for Machine {
    fn command(&self, name: &str) -> Option<CommandInfo> {
        COMMANDS
            .contains(&name)
            .then_some(CommandInfo { allow_oob: false })
    }

    fn dispatch(&mut self, name: &str, args: Map<String, Value>) -> Result<Value, QmpError> {
        // None of these commands takes arguments.
        reject_unexpected(&args)?;
        let state = self.run_state();
        Ok(match name {
            "query-version" => version(),
            // Members in the QAPI schema's order (QEMU's insertion order).
            "query-status" => json!({
                "running": state == RunState::Running,
                "singlestep": false,
                "status": state.name(),
            }),
            "query-name" => match self.name() {
                Some(name) => json!({ "name": name }),
                None => json!({}),
            },
            "query-uuid" => json!({
                "UUID": self
                    .uuid()
                    .map_or("00000000-0000-0000-0000-000000000000".to_string(), str::to_lowercase)
            }),
            // Only KVM exists here.
            "query-kvm" => json!({"enabled": true, "present": true}),
            "query-target" => json!({"arch": "x86_64"}),
            "stop" => {
                self.qmp_stop();
                json!({})
            }
            "cont" => {
                self.qmp_cont().map_err(QmpError::generic)?;
                json!({})
            }
            "system_reset" => {
                self.qmp_system_reset();
                json!({})
            }
            "quit" => {
                self.qmp_quit();
                json!({})
            }
            _ => return Err(QmpError::command_not_found(name)),
        })
    }
}

//! What the monitor says about its own schema: `query-commands`.

use qapi::types::CommandInfo;

/// Every command of the schema, in its definition order.
pub fn query_commands() -> Vec<CommandInfo> {
    qapi::COMMANDS
        .iter()
        .map(|c| CommandInfo {
            name: c.name.to_string(),
        })
        .collect()
}

//! What the command line takes: `query-command-line-options`.

use qapi::types::{CommandLineOptionInfo, CommandLineParameterInfo, CommandLineParameterType};
use qapi::QmpError;

use crate::vl::opts_list::{OptsList, ParamKind, CHECKED_OPTIONS, FREE_FORM_OPTIONS};

fn parameter_type(kind: ParamKind) -> CommandLineParameterType {
    match kind {
        ParamKind::Text => CommandLineParameterType::String,
        ParamKind::Bool => CommandLineParameterType::Boolean,
        ParamKind::Number => CommandLineParameterType::Number,
        ParamKind::Size => CommandLineParameterType::Size,
    }
}

fn checked_option(list: &OptsList) -> CommandLineOptionInfo {
    CommandLineOptionInfo {
        option: list.name.to_string(),
        parameters: list
            .params
            .iter()
            .map(|p| CommandLineParameterInfo {
                name: p.name.to_string(),
                r#type: parameter_type(p.kind),
                help: p.help.map(str::to_string),
                default: p.default.map(str::to_string),
            })
            .collect(),
    }
}

/// The QemuOpts options with their parameters; only `option` if given.
pub fn query_command_line_options(
    option: Option<&str>,
) -> Result<Vec<CommandLineOptionInfo>, QmpError> {
    let all = CHECKED_OPTIONS
        .iter()
        .map(|list| checked_option(list))
        .chain(FREE_FORM_OPTIONS.iter().map(|name| CommandLineOptionInfo {
            option: name.to_string(),
            parameters: Vec::new(),
        }));
    let options: Vec<_> = all
        .filter(|info| option.is_none_or(|name| info.option == name))
        .collect();
    if let (Some(name), true) = (option, options.is_empty()) {
        return Err(QmpError::generic(format!("invalid option name: {name}")));
    }
    Ok(options)
}

//! `-fw_cfg name=NAME,file=FILE|string=STR|gen_id=ID`: a file the user puts
//! in fw_cfg, checked and added as QEMU 7.2's `parse_fw_cfg` does.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::fw_cfg::{FwCfg, FwCfgError, MAX_FILE_PATH};
use crate::i386::loader::strerror;

/// The values of one `-fw_cfg` option as given (`None` when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FwCfgOption<'a> {
    pub name: Option<&'a str>,
    pub file: Option<&'a Path>,
    pub string: Option<&'a str>,
    pub gen_id: Option<&'a str>,
}

/// Why a `-fw_cfg` option is refused; the text is QEMU's, to be printed
/// after the option's location (`qemu-system-x86_64: -fw_cfg ARG: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FwCfgOptionError {
    #[error("fw_cfg device not available")]
    NoDevice,
    #[error("name, plus exactly one of file, string and gen_id, are needed")]
    InvalidArguments,
    #[error("name too long (max. {} char)", MAX_FILE_PATH - 1)]
    NameTooLong,
    /// The file could not be read: its name and GLib's message.
    #[error("can't load {0}: {1}")]
    CantLoad(String, String),
    #[error("Cannot find object ID '{0}'")]
    NoSuchObject(String),
    /// The object exists but does not generate fw_cfg data (in QEMU 7.2
    /// only `tls-cipher-suites` does).
    #[error("Object ID '{0}' is not a 'fw_cfg-data-generator' subclass")]
    NotAGenerator(String),
    #[error(transparent)]
    FwCfg(#[from] FwCfgError),
}

/// QEMU's warning for a user file outside the `opt/` namespace.
pub const OPT_NAMESPACE_WARNING: &str =
    "externally provided fw_cfg item names should be prefixed with \"opt/\"";

/// Add the file of one `-fw_cfg` option to `fw_cfg` (`None` on machines
/// without one, such as `none`). `object_exists` says whether an `-object`
/// has the given id; `warn` receives warnings as they arise, before any
/// error, as QEMU prints them.
pub fn add_fw_cfg_option(
    fw_cfg: Option<&mut FwCfg>,
    option: &FwCfgOption,
    object_exists: impl Fn(&str) -> bool,
    mut warn: impl FnMut(&str),
) -> Result<(), FwCfgOptionError> {
    let fw_cfg = fw_cfg.ok_or(FwCfgOptionError::NoDevice)?;
    let given = |value: Option<&str>| value.is_some_and(|v| !v.is_empty());
    let file = option.file.filter(|f| !f.as_os_str().is_empty());
    let sources = [file.is_some(), given(option.string), given(option.gen_id)];
    let name = match option.name {
        Some(name) if !name.is_empty() && sources.iter().filter(|&&s| s).count() == 1 => name,
        _ => return Err(FwCfgOptionError::InvalidArguments),
    };
    if name.len() > MAX_FILE_PATH - 1 {
        return Err(FwCfgOptionError::NameTooLong);
    }
    if let Some(id) = option.gen_id.filter(|id| !id.is_empty()) {
        // Generated contents may use any name; no object here generates
        // fw_cfg data yet.
        return Err(if object_exists(id) {
            FwCfgOptionError::NotAGenerator(id.to_string())
        } else {
            FwCfgOptionError::NoSuchObject(id.to_string())
        });
    }
    if !name.starts_with("opt/") {
        warn(OPT_NAMESPACE_WARNING);
    }
    let data = match (option.string, file) {
        // The string's NUL is not part of the file.
        (Some(string), _) if !string.is_empty() => string.as_bytes().to_vec(),
        (_, Some(path)) => load_file(path)?,
        _ => return Err(FwCfgOptionError::InvalidArguments),
    };
    fw_cfg.add_file(name, data)?;
    Ok(())
}

/// A whole file, with GLib's `g_file_get_contents` messages on failure.
fn load_file(path: &Path) -> Result<Vec<u8>, FwCfgOptionError> {
    let shown = path.display().to_string();
    let failed = |message: String| FwCfgOptionError::CantLoad(shown.clone(), message);
    let mut file = File::open(path).map_err(|e| {
        failed(format!(
            "Failed to open file \u{201c}{shown}\u{201d}: {}",
            strerror(&e)
        ))
    })?;
    let regular = file.metadata().map(|m| m.is_file()).map_err(|e| {
        failed(format!(
            "Failed to get attributes of file \u{201c}{shown}\u{201d}: fstat() failed: {}",
            strerror(&e)
        ))
    })?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(|e| {
        // GLib reads regular files by size and others as a stream, with
        // different words.
        let what = if regular {
            "Failed to read from file"
        } else {
            "Error reading file"
        };
        failed(format!("{what} \u{201c}{shown}\u{201d}: {}", strerror(&e)))
    })?;
    Ok(data)
}

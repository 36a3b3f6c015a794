//! Shared by the qapi crate's integration tests: QEMU 7.2's recorded
//! evidence.

use std::path::Path;

/// A file under the reference evidence in `shared/reference/` beside the
/// checkout.
pub fn reference(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference").join(relative))
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_else(|| panic!("reference file {relative}"))
}

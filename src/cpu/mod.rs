//! The x86 CPU as the guest sees it: models, feature names and CPUID.

pub mod cpuid;
pub mod features;
pub mod models;
pub mod paging;

/// A QEMU 7.2 reference file from `shared/reference/qemu-7.2/` beside the
/// checkout.
#[cfg(test)]
pub(crate) fn qemu_reference(relative: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference/qemu-7.2").join(relative))
        .find_map(|path| std::fs::read_to_string(path).ok())
        .expect("QEMU 7.2 reference files")
}

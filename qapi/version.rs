//! The one place that says which QEMU interface version this binary speaks.
//!
//! `--version` prints it and QMP's greeting and `query-version` report it, so
//! the three can never disagree.

/// The QEMU release whose command line and QMP interface we reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuVersion {
    pub major: u32,
    pub minor: u32,
    pub micro: u32,
}

/// QEMU 7.2.0: the behaviour every test compares against.
pub const QEMU_VERSION: QemuVersion = QemuVersion {
    major: 7,
    minor: 2,
    micro: 0,
};

/// The `package` string of `query-version`: our own name and release.
pub fn package() -> String {
    format!("rqemu {}", env!("CARGO_PKG_VERSION"))
}

/// What QMP's greeting and `query-version` report.
pub fn version_info() -> crate::types::VersionInfo {
    let v = QEMU_VERSION;
    crate::types::VersionInfo {
        qemu: crate::types::VersionTriple {
            major: v.major.into(),
            minor: v.minor.into(),
            micro: v.micro.into(),
        },
        package: package(),
    }
}

/// The first line of `--version`, as QEMU prints it with a package string.
pub fn version_line() -> String {
    let v = QEMU_VERSION;
    format!(
        "QEMU emulator version {}.{}.{} ({})",
        v.major,
        v.minor,
        v.micro,
        package()
    )
}

/// QEMU's copyright line, printed under the version.
pub const COPYRIGHT: &str =
    "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_info_has_qemus_shape() {
        // QEMU 7.2's answer, recorded in reference/qemu-7.2/qmp/queries.json,
        // with its own package string.
        let ours = serde_json::to_value(version_info()).unwrap();
        assert_eq!(
            ours,
            serde_json::json!({"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": package()})
        );
    }

    #[test]
    fn version_line_names_qemu_release_and_our_package() {
        assert_eq!(
            version_line(),
            format!(
                "QEMU emulator version 7.2.0 (rqemu {})",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}

//! The x86 CPU as the guest sees it: models, feature names and CPUID.

pub mod cpuid;
pub mod features;
pub mod models;
pub mod paging;
pub mod properties;

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

/// The replies of QEMU 7.2 (the installed `qemu-system-x86_64`), started
/// paused with `args`, to `commands` sent over QMP in order.
#[cfg(test)]
pub(crate) fn qemu_replies(
    args: &[&str],
    commands: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new("/usr/bin/qemu-system-x86_64")
        .args(["-qmp", "stdio", "-nodefaults", "-display", "none", "-S"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("QEMU 7.2 runs");
    let mut input = String::from("{\"execute\":\"qmp_capabilities\"}\n");
    for command in commands {
        input.push_str(&format!("{command}\n"));
    }
    input.push_str("{\"execute\":\"quit\"}\n");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("QEMU reads its commands");
    let output = child.wait_with_output().expect("QEMU ends");
    let replies: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v.get("return").is_some() || v.get("error").is_some())
        .collect();
    // The first answers qmp_capabilities, the last quit.
    replies[1..=commands.len()].to_vec()
}

//! Help and version texts in QEMU 7.2's formats, listing what is
//! implemented.

use super::chardev::BACKENDS;
use super::objects::OBJECT_TYPES;
use super::options::IMPLEMENTED_OPTIONS;

pub fn version() -> String {
    format!(
        "{}\n{}\n",
        qapi::version::version_line(),
        qapi::version::COPYRIGHT
    )
}

/// `-h`: QEMU's usage header, then the accepted options with their
/// argument synopsis.
pub fn usage() -> String {
    let mut out = version();
    out.push_str("usage: qemu-system-x86_64 [options] [disk_image]\n\n");
    out.push_str("'disk_image' is a raw hard disk image for IDE hard disk 0\n\n");
    out.push_str("Standard options:\n");
    for (name, synopsis, summary) in IMPLEMENTED_OPTIONS {
        let head = if synopsis.is_empty() {
            format!("-{name}")
        } else {
            format!("-{name} {synopsis}")
        };
        // QEMU's layout: the text starts in column 16, on the next line
        // when the option and its synopsis are too long.
        if head.len() < 16 {
            out.push_str(&format!("{head:<16}{summary}\n"));
        } else {
            out.push_str(&format!("{head}\n                {summary}\n"));
        }
    }
    out
}

pub fn chardev_help() -> String {
    let mut out = String::from("Available chardev backend types: \n");
    for backend in BACKENDS {
        out.push_str(&format!("  {backend}\n"));
    }
    out
}

pub fn netdev_help() -> String {
    "Available netdev backend types:\n".to_owned()
}

pub fn display_help() -> String {
    "Available display backend types:\nnone\n".to_owned()
}

pub fn object_help() -> String {
    let mut out = String::from("List of user creatable objects:\n");
    for name in OBJECT_TYPES {
        out.push_str(&format!("  {name}\n"));
    }
    out
}

/// `-device help`: device types by category, as QEMU lists them.
pub fn device_list() -> String {
    hw::core::qdev::device_list_help()
}

/// `-boot help`, as QEMU 7.2 prints it.
pub fn boot_help() -> String {
    "boot-opts options:\n\
     \x20 menu=<bool (on/off)>\n\
     \x20 once=<str>\n\
     \x20 order=<str>\n\
     \x20 reboot-timeout=<num>\n\
     \x20 splash-time=<num>\n\
     \x20 splash=<str>\n\
     \x20 strict=<bool (on/off)>\n"
        .to_owned()
}

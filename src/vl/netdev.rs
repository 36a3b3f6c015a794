//! `-netdev` backends with their QAPI members: `user` and `tap` (the ones
//! libvirt starts guests with) are checked; QEMU's other types are taken
//! as given.

use super::description::Dict;
use super::qapi_members::{check_members, member, Form, Kind, Member};

const USER: &[Member] = &[
    member("hostname", Kind::Text),
    member("restrict", Kind::Bool),
    member("ipv4", Kind::Bool),
    member("ipv6", Kind::Bool),
    member("ip", Kind::Text),
    member("net", Kind::Text),
    member("host", Kind::Text),
    member("tftp", Kind::Text),
    member("bootfile", Kind::Text),
    member("dhcpstart", Kind::Text),
    member("dns", Kind::Text),
    member("dnssearch", Kind::Other),
    member("domainname", Kind::Text),
    member("ipv6-prefix", Kind::Text),
    member("ipv6-prefixlen", Kind::Integer),
    member("ipv6-host", Kind::Text),
    member("ipv6-dns", Kind::Text),
    member("smb", Kind::Text),
    member("smbserver", Kind::Text),
    member("hostfwd", Kind::Other),
    member("guestfwd", Kind::Other),
    member("tftp-server-name", Kind::Text),
];

const TAP: &[Member] = &[
    member("ifname", Kind::Text),
    member("fd", Kind::Text),
    member("fds", Kind::Text),
    member("script", Kind::Text),
    member("downscript", Kind::Text),
    member("br", Kind::Text),
    member("helper", Kind::Text),
    member("sndbuf", Kind::Size),
    member("vnet_hdr", Kind::Bool),
    member("vhost", Kind::Bool),
    member("vhostfd", Kind::Text),
    member("vhostfds", Kind::Text),
    member("vhostforce", Kind::Bool),
    member("queues", Kind::Unsigned),
    member("poll-us", Kind::Unsigned),
];

/// Members of `user` that may be repeated in the `key=value` form; they
/// are kept as lists of strings.
pub const LIST_MEMBERS: &[&str] = &["hostfwd", "guestfwd", "dnssearch"];

/// Checks a netdev's members beside `type` and `id`.
pub fn check_netdev_members(
    netdev_type: &str,
    properties: &Dict,
    json: bool,
) -> Result<(), String> {
    let members: &[Member] = match netdev_type {
        "user" => USER,
        "tap" => TAP,
        _ => return Ok(()),
    };
    let members: Vec<&Member> = members.iter().collect();
    let form = if json { Form::Json } else { Form::Strings };
    check_members(&members, properties, form, &["type", "id"])
}

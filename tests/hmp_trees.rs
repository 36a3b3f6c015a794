//! `info qtree` compared with QEMU 7.2 run the same way, device by
//! device: every device we print has the block of lines QEMU prints for
//! it (its GPIO lines, properties, PCI lines and buses), devices QEMU has
//! and we do not model being left out; the devices we print come in
//! QEMU's order.

mod common;
mod qmp_client;

use common::{guest, Guest, QEMU, RQEMU};
use qmp_client::{machine_args, qmp_socket_args, scratch, Client, Vm};

/// `info qtree` from `program` started with `args`.
fn qtree(program: &str, args: &[String], name: &str) -> String {
    let dir = scratch(name);
    let socket = dir.join(if program == QEMU {
        "qemu.sock"
    } else {
        "ours.sock"
    });
    let mut all = args.to_vec();
    all.extend(qmp_socket_args("-qmp", &socket));
    let _vm = Vm::start(program, &all, &socket);
    let mut client = Client::negotiated(&socket);
    let request = serde_json::json!({
        "execute": "human-monitor-command",
        "arguments": {"command-line": "info qtree"}
    });
    let reply: serde_json::Value =
        serde_json::from_str(&client.exchange(&request.to_string(), 1)).expect("JSON reply");
    reply["return"].as_str().expect("text").to_string()
}

/// A device's own lines: its `dev:` line, then what it prints before its
/// first bus, keyed by the `dev:` lines from the root down to it and its
/// `addr` (for devices of one type on one bus).
#[derive(Debug, PartialEq)]
struct Block {
    key: String,
    lines: Vec<String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.trim_start().starts_with("dev: ") {
            continue;
        }
        let depth = indent(line);
        path.retain(|(d, _)| *d < depth);
        let mut own = vec![line.to_string()];
        for next in &lines[i + 1..] {
            if indent(next) <= depth || next.trim_start().starts_with("bus: ") {
                break;
            }
            own.push(next.to_string());
        }
        let addr = own
            .iter()
            .find(|l| l.trim_start().starts_with("addr = "))
            .cloned()
            .unwrap_or_default();
        path.push((depth, format!("{} {}", line.trim(), addr.trim())));
        let key = path
            .iter()
            .map(|(_, k)| k.as_str())
            .collect::<Vec<_>>()
            .join(" / ");
        out.push(Block { key, lines: own });
    }
    out
}

/// Lines that are not properties (`name = value`).
fn structure(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| !l.contains(" = ")).collect()
}

/// Compares ours with QEMU's; the blocks of the `-device`s (named by type
/// in `user_types`) are compared without their property lines.
fn compare(args: &[String], user_types: &[&str], name: &str) {
    let ours = qtree(RQEMU, args, name);
    let theirs = qtree(QEMU, args, name);
    let ours = blocks(&ours);
    let theirs = blocks(&theirs);
    assert!(ours.len() >= 7, "{ours:?}");
    let mut last = 0;
    for block in &ours {
        let position = theirs
            .iter()
            .position(|b| b.key == block.key)
            .unwrap_or_else(|| panic!("QEMU has no device {}", block.key));
        assert!(position >= last, "{} out of QEMU's order", block.key);
        last = position;
        let qemu = &theirs[position];
        let user = user_types.iter().any(|t| {
            block.lines[0]
                .trim_start()
                .starts_with(&format!("dev: {t},"))
        });
        if user {
            assert_eq!(
                structure(&block.lines),
                structure(&qemu.lines),
                "{}",
                block.key
            );
        } else {
            assert_eq!(block.lines, qemu.lines, "{}", block.key);
        }
    }
}

fn kernel() -> String {
    guest(Guest::Pvh32)
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

#[test]
fn qtree_of_pc_as_qemu() {
    let kernel = kernel();
    let args = machine_args("pc", &["-m", "128", "-S", "-kernel", &kernel]);
    compare(&args, &[], "qtree-pc");
}

#[test]
fn qtree_of_q35_with_bridges_and_isa_devices_as_qemu() {
    let kernel = kernel();
    let args = machine_args(
        "q35",
        &[
            "-m",
            "128",
            "-S",
            "-kernel",
            &kernel,
            "-device",
            "pcie-root-port,id=rp1,chassis=1",
            "-device",
            "pci-bridge,id=br1,chassis_nr=2",
            "-device",
            "pcie-root-port,chassis=3,bus=pcie.0,addr=5.0",
            "-chardev",
            "null,id=c0",
            "-chardev",
            "null,id=c1",
            "-device",
            "isa-serial,chardev=c0",
            "-device",
            "isa-debugcon,iobase=0x402,chardev=c1",
        ],
    );
    compare(
        &args,
        &["pcie-root-port", "pci-bridge", "isa-serial", "isa-debugcon"],
        "qtree-q35",
    );
}

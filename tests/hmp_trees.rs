//! `info qtree` and `info mtree` compared with QEMU 7.2 run the same way.
//!
//! `info qtree`, device by device: every device we print has the block of
//! lines QEMU prints for it (its GPIO lines, properties, PCI lines and
//! buses), devices QEMU has and we do not model being left out; the
//! devices we print come in QEMU's order.
//!
//! `info mtree`, section by section: every section we print (address
//! spaces over one root, or an aliased region) is one QEMU prints, and its
//! lines are QEMU's lines for it in QEMU's order, the regions QEMU has and
//! we do not model being left out. QEMU lists the sections in the order of
//! a pointer-keyed hash table, which changes from run to run, so only the
//! order inside a section is compared.

mod common;
mod qmp_client;

use common::{guest, Guest, QEMU, RQEMU};
use qmp_client::{machine_args, scratch, start_with_qmp};

/// What the HMP command `command` prints in `program` started with `args`.
fn hmp_text(program: &str, args: &[String], name: &str, command: &str) -> String {
    let dir = scratch(name);
    let socket = dir.join(if program == QEMU {
        "qemu.sock"
    } else {
        "ours.sock"
    });
    let all = args.to_vec();
    let (_vm, mut client) = start_with_qmp(program, &all, &socket);
    let request = serde_json::json!({
        "execute": "human-monitor-command",
        "arguments": {"command-line": command}
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
    let ours = hmp_text(RQEMU, args, name, "info qtree");
    let theirs = hmp_text(QEMU, args, name, "info qtree");
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

/// The sections of `info mtree`: the header lines (`address-space: ...`,
/// `memory-region: ...`) and the region lines below them.
fn mtree_sections(text: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut sections: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for chunk in text.split("\r\n\r\n") {
        let lines: Vec<String> = chunk
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            continue;
        }
        let (headers, regions): (Vec<String>, Vec<String>) =
            lines.into_iter().partition(|l| !l.starts_with(' '));
        sections.push((headers, regions));
    }
    sections
}

/// Compares our `info mtree` with QEMU's; `expected` are lines ours must
/// have (the regions the machine is known to map).
fn compare_mtree(args: &[String], expected: &[&str], name: &str) {
    let ours = hmp_text(RQEMU, args, name, "info mtree");
    let theirs = hmp_text(QEMU, args, name, "info mtree");
    for line in expected {
        assert!(
            ours.split("\r\n").any(|l| l == *line),
            "ours lacks {line:?}:\n{ours}"
        );
    }
    let theirs = mtree_sections(&theirs);
    for (headers, lines) in mtree_sections(&ours) {
        let (_, qemu) = theirs
            .iter()
            .find(|(h, _)| *h == headers)
            .unwrap_or_else(|| panic!("QEMU has no section {headers:?}"));
        let mut from = 0;
        for line in &lines {
            let at = qemu[from..]
                .iter()
                .position(|l| l == line)
                .unwrap_or_else(|| {
                    panic!("{headers:?}: QEMU has no {line:?} after line {from} of {qemu:#?}")
                });
            from += at + 1;
        }
    }
}

/// A machine with two serial ports, a debug console and the debug exit
/// port, and `extra` options.
fn isa_devices(machine: &str, memory: &str, kernel: &str, extra: &[&str]) -> Vec<String> {
    let mut args = machine_args(
        machine,
        &[
            "-m",
            memory,
            "-smp",
            "2",
            "-S",
            "-kernel",
            kernel,
            "-chardev",
            "null,id=c0",
            "-chardev",
            "null,id=c1",
            "-device",
            "isa-serial,chardev=c0",
            "-device",
            "isa-serial,chardev=c1,iobase=0x2f8,irq=3",
            "-debugcon",
            "null",
            "-device",
            "isa-debug-exit",
        ],
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn mtree_of_pc_as_qemu() {
    let kernel = kernel();
    compare_mtree(
        &isa_devices("pc", "128", &kernel, &[]),
        &[
            "address-space: cpu-memory-1",
            "    0000000000000000-0000000007ffffff (prio 0, ram): alias ram-below-4g @pc.ram 0000000000000000-0000000007ffffff",
            "    0000000000000060-0000000000000060 (prio 0, i/o): i8042-data",
            "    0000000000000070-0000000000000071 (prio 0, i/o): rtc",
            "    00000000000002f8-00000000000002ff (prio 0, i/o): serial",
            "    00000000000000e9-00000000000000e9 (prio 0, i/o): isa-debugcon",
            "    0000000000000cf9-0000000000000cf9 (prio 1, i/o): piix3-reset-control",
            "  0000000000000000-0000000007ffffff (prio 0, ram): pc.ram",
        ],
        "mtree-pc",
    );
}

#[test]
fn mtree_of_q35_with_a_memory_backend_and_ram_above_4g_as_qemu() {
    let kernel = kernel();
    compare_mtree(
        &isa_devices(
            "q35",
            "3G",
            &kernel,
            &[
                "-object",
                "memory-backend-ram,id=ram0,size=3G",
                "-machine",
                "memory-backend=ram0",
            ],
        ),
        &[
            "    0000000100000000-000000013fffffff (prio 0, ram): alias ram-above-4g @ram0 0000000080000000-00000000bfffffff",
            "    0000000000000501-0000000000000502 (prio 0, i/o): isa-debug-exit",
            "    0000000000000514-000000000000051b (prio 0, i/o): fwcfg.dma",
            "    0000000000000cf9-0000000000000cf9 (prio 1, i/o): lpc-reset-control",
            "memory-region: ram0",
            "  0000000000000000-00000000bfffffff (prio 0, ram): ram0",
        ],
        "mtree-q35",
    );
}

#[test]
fn mtree_of_the_none_machine_as_qemu() {
    compare_mtree(
        &machine_args("none", &["-S"]),
        &[
            "address-space: memory",
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system",
            "address-space: I/O",
            "  0000000000000000-000000000000ffff (prio 0, i/o): io",
        ],
        "mtree-none",
    );
}

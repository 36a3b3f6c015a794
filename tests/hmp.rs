//! The human monitor, compared byte for byte with QEMU 7.2 run the same
//! way: a `-monitor` socket (banner, prompt, QEMU's readline echo, the
//! commands' output and errors) and QMP's `human-monitor-command`. What
//! depends on the host or the build is masked: the version numbers and
//! package, and register values.

mod common;
mod qmp_client;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{guest, Guest, QEMU, RQEMU};
use qmp_client::{
    machine_args, mask, qmp_socket_args, scratch, start_with_qmp, Client, Vm, REPLY_TIMEOUT,
};

const PROMPT: &[u8] = b"(qemu) ";

fn idle_args() -> Vec<String> {
    machine_args("none", &[])
}

/// A PC machine paused before it starts, with a kernel (we boot only
/// kernels; QEMU goes through its firmware, which has not run yet).
fn paused_pc_args() -> Vec<String> {
    let kernel = guest(Guest::Pvh32);
    machine_args(
        "pc",
        &[
            "-m",
            "128",
            "-S",
            "-kernel",
            kernel.to_str().expect("utf-8 path"),
        ],
    )
}

/// A connection to a `-monitor unix:` socket.
struct Terminal {
    client: Client,
}

impl Terminal {
    /// Starts `program` with a human monitor on a socket; returns the
    /// process, the connection and what it was greeted with.
    fn start(program: &str, args: &[String], dir: &Path) -> (Vm, Terminal, Vec<u8>) {
        let socket = dir.join(if program == QEMU {
            "qemu.sock"
        } else {
            "ours.sock"
        });
        let mut args = args.to_vec();
        args.extend(qmp_socket_args("-monitor", &socket));
        let vm = Vm::start(program, &args, &socket);
        let mut terminal = Terminal {
            client: Client::connect(&socket),
        };
        let greeting = terminal.read_to_prompt();
        (vm, terminal, greeting)
    }

    /// Reads until the output ends with the prompt.
    fn read_to_prompt(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let start = Instant::now();
        while !out.ends_with(PROMPT) {
            assert!(
                start.elapsed() < REPLY_TIMEOUT,
                "no prompt; got {:?}",
                String::from_utf8_lossy(&out)
            );
            out.extend(self.client.read_for(Duration::from_millis(20)));
        }
        out
    }

    /// Types `keys` (which end a line) and returns everything up to the
    /// next prompt: the echo, the output and the prompt.
    fn type_line(&mut self, keys: &[u8]) -> Vec<u8> {
        self.client.send(keys);
        self.read_to_prompt()
    }
}

/// Output with the version, its package string and register values
/// masked.
fn masked(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.split('\n')
        .map(|line| {
            if let Some(rest) = line.strip_prefix("QEMU ") {
                // "QEMU 7.2.x monitor - ..." and the version line.
                let tail = rest.split_once(' ').map_or("", |(_, t)| t);
                format!("QEMU N {tail}")
            } else if line.starts_with("7.2.") {
                "VERSION".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every hexadecimal digit replaced, for register dumps.
fn hex_masked(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_hexdigit() { 'h' } else { c })
        .collect()
}

/// Types each line into ours and QEMU's monitor and compares what comes
/// back, echo included.
fn compare_terminal(args: &[String], lines: &[&[u8]], name: &str) {
    let dir = scratch(name);
    let (_ours_vm, mut ours, ours_greeting) = Terminal::start(RQEMU, args, &dir);
    let (_qemu_vm, mut qemu, qemu_greeting) = Terminal::start(QEMU, args, &dir);
    assert_eq!(masked(&ours_greeting), masked(&qemu_greeting));
    assert_eq!(
        masked(&qemu_greeting),
        "QEMU N monitor - type 'help' for more information\r\n(qemu) "
    );
    for keys in lines {
        let theirs = masked(&qemu.type_line(keys));
        let mine = masked(&ours.type_line(keys));
        assert_eq!(mine, theirs, "typing {:?}", String::from_utf8_lossy(keys));
    }
}

#[test]
fn terminal_commands_and_errors_as_qemu() {
    compare_terminal(
        &idle_args(),
        &[
            b"info status\r",
            b"info name\r",
            b"info uuid\r",
            b"info version\r",
            b"info kvm\r",
            b"bogus\r",
            b"info bogus\r",
            b"info st\r",
            b"help info status\r",
            b"help s\r",
            b"? stop\r",
            b"help x\r",
            b"help info bogus\r",
            b"help 'a\r",
            b"stop extra\r",
            b"info status extra\r",
            b"info registers\r",
            b"info registers x\r",
            b"info registers 99999999999\r",
            b"info registers -b\r",
            b"info registers -a 0\r",
            b"x /4x 0\r",
            b"x\r",
            b"xp\r",
            b"xp /\r",
            b"xp /3z 0\r",
            b"xp /q 0\r",
            b"xp 0x\r",
            b"xp 1+\r",
            b"xp (1\r",
            b"xp $eax\r",
            b"xp 99999999999999999999\r",
            b"xp 'a\r",
            b"xp 1/0\r",
            b"xp /4x 0\r",
            b"sendkey ctrl-bogus\r",
            b"sendkey 0x1e-0x2z 50\r",
            b"sendkey\r",
            b"sendkey a 0x100000000\r",
            b"stop\r",
            b"info status\r",
            b"c\r",
            b"info status\r",
            b"s\r",
            b"info status\r",
            b"\r",
            b"   \r",
        ],
        "terminal-none",
    );
}

#[test]
fn line_editing_as_qemu() {
    compare_terminal(
        &idle_args(),
        &[
            // Backspace and DEL, Ctrl-A/Ctrl-E, arrows, Ctrl-D, Ctrl-W.
            b"info stauts\x7f\x7f\x08tus\r",
            b"nfo status\x01i\x05\r",
            b"info statsu\x1b[D\x1b[D\x04\x1b[Cs\r",
            b"info kvm\x17status\r",
            b"info name\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[3~\r",
            // History: up, up, down, and an edited entry.
            b"\x1b[A\r",
            b"\x1b[A\x1b[A\x1b[B\r",
            b"\x1b[A\x1b[A\x7f\x7f\x7fkvm\r",
            // Several lines in one write.
            b"info status\rinfo kvm\r",
        ],
        "terminal-editing",
    );
}

#[test]
fn memory_and_registers_on_a_pc_as_qemu() {
    let args = paused_pc_args();
    compare_terminal(
        &args,
        &[
            b"info kvm\r",
            b"info status\r",
            b"xp /4x 0\r",
            b"x /4x 0\r",
            b"xp /3cw 0\r",
            b"xp /2ob 0\r",
            b"xp /2dh 0\r",
            b"xp /2uw 0\r",
            b"xp /1xg 0x7fffff8\r",
            b"xp /1xg 0x8000000\r",
            b"xp /2xg 0x7fffff8\r",
            b"info registers 1\r",
            b"system_reset\r",
            b"info status\r",
        ],
        "terminal-pc",
    );
    // Register values differ (QEMU starts in its firmware, we at the
    // kernel's entry), the layout of the dump does not.
    let dir = scratch("registers");
    let (_ours_vm, mut ours, _) = Terminal::start(RQEMU, &args, &dir);
    let (_qemu_vm, mut qemu, _) = Terminal::start(QEMU, &args, &dir);
    let mine = masked(&ours.type_line(b"info registers\r"));
    let theirs = masked(&qemu.type_line(b"info registers\r"));
    // Segment lines end in descriptor details in protected mode only.
    let shape = |text: &str| {
        text.lines()
            .map(|l| hex_masked(l.split(" DPL=").next().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&mine), shape(&theirs));
    assert!(mine.contains("\r\nCPU#0\r\nEAX="), "{mine}");
    // Our vCPU waits at the PVH entry: protected mode, flat 32-bit code.
    assert!(mine.contains(" DPL=0 CS32 [-RA]"), "{mine}");
}

/// `human-monitor-command` answers, compared with QEMU's.
fn compare_hmc(args: &[String], requests: &[&str], name: &str) {
    let dir = scratch(name);
    let mut replies = Vec::new();
    for program in [RQEMU, QEMU] {
        let socket = dir.join(if program == QEMU {
            "qemu.sock"
        } else {
            "ours.sock"
        });
        let all = args.to_vec();
        let (_vm, mut client) = start_with_qmp(program, &all, &socket);
        let mut texts = Vec::new();
        for request in requests {
            texts.push(masked(reply(&mut client, request).as_bytes()));
        }
        replies.push(texts);
    }
    for ((mine, theirs), request) in replies[0].iter().zip(&replies[1]).zip(requests) {
        assert_eq!(mask(mine), mask(theirs), "{request}");
    }
}

/// Sends `request`; returns the events it raised and its reply.
fn reply(client: &mut Client, request: &str) -> String {
    client.send(request.as_bytes());
    let mut text = String::new();
    while !text.contains("{\"return\"") && !text.contains("{\"error\"") {
        text.push_str(&String::from_utf8_lossy(&client.read_lines(1)));
    }
    text
}

fn hmc(line: &str) -> String {
    serde_json::json!({"execute": "human-monitor-command", "arguments": {"command-line": line}})
        .to_string()
}

#[test]
fn human_monitor_command_as_qemu() {
    let mut requests: Vec<String> = [
        "info status",
        "info name",
        "bogus",
        "info bogus",
        "stop extra",
        "help info registers",
        "xp /3z 0",
        "x /4x 0",
        "info registers",
        "",
        "stop",
        "info status",
        "cont",
        "info status",
        "system_powerdown",
        "sendkey ctrl-bogus",
    ]
    .iter()
    .map(|l| hmc(l))
    .collect();
    requests.push(
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info registers","cpu-index":0}}"#
            .to_string(),
    );
    requests.push(
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info name","cpu-index":"0"}}"#
            .to_string(),
    );
    requests.push(r#"{"execute":"human-monitor-command","arguments":{}}"#.to_string());
    let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
    compare_hmc(&idle_args(), &requests, "hmc-none");
}

#[test]
fn human_monitor_command_cpu_index_as_qemu() {
    let requests = [
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info registers 0","cpu-index":1}}"#,
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp /2x 0","cpu-index":-1}}"#,
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp /2x 0","cpu-index":0}}"#,
    ];
    compare_hmc(&paused_pc_args(), &requests, "hmc-pc");
}

/// Each of `ours` lines is one of `qemus`, in the same order.
fn assert_lines_in_order(ours: &str, qemus: &str) {
    let mut qemu_lines = qemus.split("\r\n");
    for line in ours.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(
            qemu_lines.any(|q| q == line),
            "{line:?} is not in QEMU's list, or not in its order"
        );
    }
    assert!(ours.ends_with("\r\n"));
}

/// `info` alone lists the info subcommands as QEMU's does (ours being
/// fewer), on a terminal.
#[test]
fn info_list_is_a_part_of_qemus_in_order() {
    let dir = scratch("info-list");
    let (_ours_vm, mut ours, _) = Terminal::start(RQEMU, &idle_args(), &dir);
    let (_qemu_vm, mut qemu, _) = Terminal::start(QEMU, &idle_args(), &dir);
    let mine = String::from_utf8_lossy(&ours.type_line(b"info\r")).into_owned();
    let theirs = String::from_utf8_lossy(&qemu.type_line(b"info\r")).into_owned();
    let echo = "i\x1b[K\x1b[Din\x1b[K\x1b[D\x1b[Dinf\x1b[K\x1b[D\x1b[D\x1b[Dinfo\x1b[K\r\n";
    assert!(
        theirs.starts_with(echo) && mine.starts_with(echo),
        "{mine:?}"
    );
    let body = |t: &str| t[echo.len()..t.len() - PROMPT.len()].to_string();
    assert!(mine.contains("info registers [-a|vcpu]"));
    assert_lines_in_order(&body(&mine), &body(&theirs));
}

/// Our `help` lines are QEMU 7.2's, in its order (the recorded answer of
/// `human-monitor-command help`).
#[test]
fn help_lines_are_a_part_of_qemus_in_order() {
    let recorded =
        std::fs::read_to_string("/work/shared/reference/qemu-7.2/qmp/human-monitor-command.json")
            .expect("recorded help");
    let recorded: serde_json::Value = serde_json::from_str(&recorded).expect("JSON");
    let qemu_help = recorded["return"].as_str().expect("help text").to_string();
    let dir = scratch("help");
    let socket = dir.join("ours.sock");
    let args = idle_args();
    let (_vm, mut client) = start_with_qmp(RQEMU, &args, &socket);
    let reply: serde_json::Value =
        serde_json::from_str(&client.exchange(&hmc("help"), 1)).expect("JSON reply");
    let ours = reply["return"].as_str().expect("help text");
    assert!(ours.contains("xp /fmt addr -- physical memory dump"));
    assert_lines_in_order(ours, &qemu_help);
}

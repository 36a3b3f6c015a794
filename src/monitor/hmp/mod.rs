//! The human monitor (QEMU's HMP, monitor/hmp.c): `-monitor`, `-mon
//! mode=readline` and the default monitor on a chardev, and QMP's
//! `human-monitor-command`.
//!
//! A line runs through `Hmp::run_line`: the command table
//! (`commands.rs`), QEMU's argument parser (`parse.rs`), then the command,
//! which calls the same `QmpCommands` methods QMP clients reach. A
//! terminal monitor adds QEMU's banner, prompt and line editor
//! (`readline.rs`); its output, as all HMP output, ends lines in CRLF.

mod commands;
mod cpu_dump;
mod memory_dump;
mod mtree;
mod parse;
mod qtree;
mod readline;
mod terminal;

use std::fmt::Write;

use qapi::{ErrorClass, QmpError};

use super::commands::QmpContext;
use crate::accel::kvm::vcpu::VcpuState;
use crate::machine::Machine;
use commands::{Action, HmpCommand, COMMANDS};
use parse::{names_match, parse_arguments, Cursor, DumpDefaults};
pub use terminal::HmpMonitor;

/// What HMP keeps for the whole process: the `/fmt` defaults of `x` and
/// `xp`, shared by every monitor as in QEMU.
#[derive(Debug, Default)]
pub struct HmpState {
    dump_defaults: DumpDefaults,
}

/// One command line being run: where it acts and what it printed.
pub struct Hmp<'c, 'a> {
    ctx: &'c mut QmpContext<'a>,
    /// The monitor's current CPU (QEMU's `cpu` command; the first one).
    cpu: usize,
    out: String,
}

impl<'c, 'a> Hmp<'c, 'a> {
    pub fn new(ctx: &'c mut QmpContext<'a>, cpu: usize) -> Self {
        Hmp {
            ctx,
            cpu,
            out: String::new(),
        }
    }

    /// Runs one command line; returns what it printed, lines ending in
    /// CRLF as QEMU's monitor writes them.
    pub fn run_line(mut self, line: &str) -> String {
        self.execute(line);
        crlf(&self.out)
    }

    fn execute(&mut self, line: &str) {
        let mut cur = Cursor::new(line);
        let Some(command) = self.find_command(&mut cur, COMMANDS) else {
            return;
        };
        let name_end = cur.pos;
        let run = match &command.action {
            Action::Run(run) => *run,
            // `info` alone: the list of its subcommands.
            Action::SubTable(_) => {
                self.help(Some("info"));
                return;
            }
        };
        // Registers for `$name` in expressions, read only when asked for.
        let mut state: Option<Option<VcpuState>> = None;
        let machine: &Machine = self.ctx.machine;
        let cpu = self.cpu;
        let mut registers = |name: &str| {
            let state = state.get_or_insert_with(|| machine.vcpu_state(cpu));
            register(state.as_ref()?, name)
        };
        let parsed = parse_arguments(
            &mut cur,
            command.name,
            command.args_type,
            &mut self.ctx.hmp.dump_defaults,
            &mut registers,
        );
        match parsed {
            Ok(args) => run(self, &args),
            Err(message) => {
                self.out.push_str(&message);
                cur.pos = name_end;
                let _ = writeln!(
                    self.out,
                    "Try \"help {}\" for more information",
                    cur.since_trimmed(0)
                );
            }
        }
    }

    /// The command the line names (QEMU's monitor_parse_command); the
    /// cursor is left after its name.
    fn find_command(
        &mut self,
        cur: &mut Cursor,
        table: &'static [HmpCommand],
    ) -> Option<&'static HmpCommand> {
        let name = cur.command_name()?;
        let Some(command) = table.iter().find(|c| names_match(&name, c.name)) else {
            let _ = writeln!(self.out, "unknown command: '{}'", cur.since(0));
            return None;
        };
        cur.skip_spaces();
        match &command.action {
            Action::SubTable(sub) if !cur.at_end() => self.find_command(cur, sub),
            _ => Some(command),
        }
    }

    /// `help [words]`: every command, or the one the words name.
    fn help(&mut self, topic: Option<&str>) {
        let mut words = Vec::new();
        if let Some(topic) = topic {
            let mut cur = Cursor::new(topic);
            loop {
                cur.skip_spaces();
                if cur.at_end() {
                    break;
                }
                match cur.word() {
                    Some(word) => words.push(word),
                    None => return,
                }
            }
        }
        let mut table = COMMANDS;
        for (depth, word) in words.iter().enumerate() {
            let Some(command) = table.iter().find(|c| names_match(word, c.name)) else {
                let _ = writeln!(self.out, "unknown command: '{}'", words[..=depth].join(" "));
                return;
            };
            match &command.action {
                Action::SubTable(sub) if depth + 1 < words.len() => table = sub,
                Action::SubTable(sub) => {
                    let prefix = words[..=depth].join(" ");
                    for c in sub.iter() {
                        self.help_line(&prefix, c);
                    }
                    return;
                }
                Action::Run(_) => {
                    self.help_line(&words[..depth].join(" "), command);
                    return;
                }
            }
        }
        for c in table {
            self.help_line("", c);
        }
    }

    fn help_line(&mut self, prefix: &str, c: &HmpCommand) {
        if !prefix.is_empty() {
            let _ = write!(self.out, "{prefix} ");
        }
        let _ = writeln!(self.out, "{} {} -- {}", c.name, c.params, c.help);
    }

    /// Prints a command's error as QEMU's hmp_handle_error does.
    fn report(&mut self, result: Result<(), QmpError>) {
        if let Err(e) = result {
            let _ = writeln!(self.out, "Error: {}", e.desc);
        }
    }

    /// The value of a query, or its error printed.
    fn take<T>(&mut self, query: impl FnOnce(&mut QmpContext) -> Result<T, QmpError>) -> Option<T> {
        match query(self.ctx) {
            Ok(value) => Some(value),
            Err(e) => {
                let _ = writeln!(self.out, "Error: {}", e.desc);
                None
            }
        }
    }

    fn vcpu_state(&self, index: usize) -> Option<VcpuState> {
        self.ctx.machine.vcpu_state(index)
    }

    fn memory(&self) -> &Machine {
        self.ctx.machine
    }
}

/// QEMU's x86 monitor registers (`$eax`, `$pc`, `$cs.base`, ...).
fn register(state: &VcpuState, name: &str) -> Option<i64> {
    let r = &state.regs;
    let s = &state.sregs;
    let general = [
        ("eax", r.rax),
        ("ecx", r.rcx),
        ("edx", r.rdx),
        ("ebx", r.rbx),
        ("esp|sp", r.rsp),
        ("ebp|fp", r.rbp),
        ("esi", r.rsi),
        ("edi", r.rdi),
        ("r8", r.r8),
        ("r9", r.r9),
        ("r10", r.r10),
        ("r11", r.r11),
        ("r12", r.r12),
        ("r13", r.r13),
        ("r14", r.r14),
        ("r15", r.r15),
        ("eflags", r.rflags),
        ("eip", r.rip),
    ];
    if let Some((_, v)) = general.iter().find(|(n, _)| names_match(name, n)) {
        return Some(*v as i64);
    }
    if name == "pc" {
        return Some(s.cs.base.wrapping_add(r.rip) as i64);
    }
    let (seg, field) = name.split_once('.').unwrap_or((name, ""));
    let segment = match seg {
        "cs" => &s.cs,
        "ds" => &s.ds,
        "es" => &s.es,
        "ss" => &s.ss,
        "fs" => &s.fs,
        "gs" => &s.gs,
        _ => return None,
    };
    match field {
        "" => Some(i64::from(segment.selector)),
        "base" => Some(segment.base as i64),
        "limit" => Some(i64::from(segment.limit as i32)),
        _ => None,
    }
}

/// QEMU's monitor output: every `\n` goes out as `\r\n`.
fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

/// QMP `human-monitor-command`: runs `command_line` on a monitor of its
/// own, whose current CPU is `cpu_index` if given.
pub fn human_monitor_command(
    ctx: &mut QmpContext,
    command_line: &str,
    cpu_index: Option<i64>,
) -> Result<String, QmpError> {
    let cpus = ctx.machine.cpu_count();
    let cpu = match cpu_index {
        Some(i) if usize::try_from(i).is_ok_and(|i| i < cpus) => i as usize,
        Some(_) => {
            return Err(QmpError::new(
                ErrorClass::GenericError,
                "Parameter 'cpu-index' expects a CPU number",
            ))
        }
        None => 0,
    };
    Ok(Hmp::new(ctx, cpu).run_line(command_line))
}

/// The banner a terminal monitor greets each new client with.
pub fn banner() -> String {
    let v = qapi::version::QEMU_VERSION;
    crlf(&format!(
        "QEMU {}.{}.{} monitor - type 'help' for more information\n",
        v.major, v.minor, v.micro
    ))
}

/// The prompt before each line.
pub const PROMPT: &str = "(qemu) ";

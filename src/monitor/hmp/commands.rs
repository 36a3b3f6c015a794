//! The HMP commands: QEMU 7.2's names, argument types and help texts
//! (its hmp-commands.hx and hmp-commands-info.hx, sorted by name as QEMU
//! sorts them), and what each prints. Every command that has a QMP
//! counterpart runs it through `QmpCommands` on the monitor's context.

use std::fmt::Write;

use qapi::types::{IntWrapper, KeyValue, QKeyCode, QKeyCodeWrapper, RunState};
use qapi::QmpCommands;

use hw::core::bus::lock;

use super::parse::Args;
use super::{memory_dump, Hmp};

/// What running a command does.
pub enum Action {
    Run(fn(&mut Hmp, &Args)),
    /// A command whose first argument names one of these (`info`).
    SubTable(&'static [HmpCommand]),
}

pub struct HmpCommand {
    /// The name, with its aliases after `|` (`stop|s`).
    pub name: &'static str,
    pub args_type: &'static str,
    pub params: &'static str,
    pub help: &'static str,
    pub action: Action,
}

const fn command(
    name: &'static str,
    args_type: &'static str,
    params: &'static str,
    help: &'static str,
    run: fn(&mut Hmp, &Args),
) -> HmpCommand {
    HmpCommand {
        name,
        args_type,
        params,
        help,
        action: Action::Run(run),
    }
}

pub static COMMANDS: &[HmpCommand] = &[
    command("cont|c", "", "", "resume emulation", cont),
    command("help|?", "name:S?", "[cmd]", "show the help", help),
    HmpCommand {
        name: "info",
        args_type: "item:s?",
        params: "[subcommand]",
        help: "show various information about the system state",
        action: Action::SubTable(INFO_COMMANDS),
    },
    command("quit|q", "", "", "quit the emulator", quit),
    command(
        "sendkey",
        "keys:s,hold-time:i?",
        "keys [hold_ms]",
        "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)",
        sendkey,
    ),
    command("stop|s", "", "", "stop emulation", stop),
    command(
        "system_powerdown",
        "",
        "",
        "send system power down event",
        system_powerdown,
    ),
    command("system_reset", "", "", "reset the system", system_reset),
    command(
        "x",
        "fmt:/,addr:l",
        "/fmt addr",
        "virtual memory dump starting at 'addr'",
        virtual_memory_dump,
    ),
    command(
        "xp",
        "fmt:/,addr:l",
        "/fmt addr",
        "physical memory dump starting at 'addr'",
        physical_memory_dump,
    ),
];

pub static INFO_COMMANDS: &[HmpCommand] = &[
    command(
        "chardev",
        "",
        "",
        "show the character devices",
        info_chardev,
    ),
    command("cpus", "", "", "show infos for each CPU", info_cpus),
    command("kvm", "", "", "show KVM information", info_kvm),
    // The flat view (-f) and region owners (-o) are not offered; a tree
    // without -f ignores -d, and there are no disabled regions for -D.
    command(
        "mtree",
        "dispatch_tree:-d,disabled:-D",
        "[-f][-d][-o][-D]",
        "show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, \
         valid with -f only);-o: dump region owners/parents;-D: dump disabled regions",
        info_mtree,
    ),
    command("name", "", "", "show the current VM name", info_name),
    command("qtree", "", "", "show device tree", info_qtree),
    command(
        "registers",
        "cpustate_all:-a,vcpu:i?",
        "[-a|vcpu]",
        "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to \
         query; show the current CPU's registers if no argument is specified)",
        info_registers,
    ),
    command(
        "status",
        "",
        "",
        "show the current VM status (running|paused)",
        info_status,
    ),
    command("uuid", "", "", "show the current VM UUID", info_uuid),
    command("version", "", "", "show the version of QEMU", info_version),
];

fn help(hmp: &mut Hmp, args: &Args) {
    let topic = args.str("name").map(str::to_string);
    hmp.help(topic.as_deref());
}

fn stop(hmp: &mut Hmp, _: &Args) {
    let result = hmp.ctx.stop();
    hmp.report(result);
}

fn cont(hmp: &mut Hmp, _: &Args) {
    let result = hmp.ctx.cont();
    hmp.report(result);
}

fn quit(hmp: &mut Hmp, _: &Args) {
    let result = hmp.ctx.quit();
    hmp.report(result);
}

fn system_reset(hmp: &mut Hmp, _: &Args) {
    let result = hmp.ctx.system_reset();
    hmp.report(result);
}

fn system_powerdown(hmp: &mut Hmp, _: &Args) {
    let result = hmp.ctx.system_powerdown();
    hmp.report(result);
}

fn info_status(hmp: &mut Hmp, _: &Args) {
    let Some(info) = hmp.take(|ctx| ctx.query_status()) else {
        return;
    };
    let _ = write!(
        hmp.out,
        "VM status: {}{}",
        if info.running { "running" } else { "paused" },
        if info.singlestep {
            " (single step mode)"
        } else {
            ""
        }
    );
    if !info.running && info.status != RunState::Paused {
        let _ = write!(hmp.out, " ({})", info.status.as_str());
    }
    hmp.out.push('\n');
}

fn info_name(hmp: &mut Hmp, _: &Args) {
    if let Some(name) = hmp.take(|ctx| ctx.query_name()).and_then(|n| n.name) {
        let _ = writeln!(hmp.out, "{name}");
    }
}

fn info_uuid(hmp: &mut Hmp, _: &Args) {
    if let Some(info) = hmp.take(|ctx| ctx.query_uuid()) {
        let _ = writeln!(hmp.out, "{}", info.uuid);
    }
}

fn info_version(hmp: &mut Hmp, _: &Args) {
    if let Some(v) = hmp.take(|ctx| ctx.query_version()) {
        let _ = writeln!(
            hmp.out,
            "{}.{}.{}{}",
            v.qemu.major, v.qemu.minor, v.qemu.micro, v.package
        );
    }
}

fn info_kvm(hmp: &mut Hmp, _: &Args) {
    if let Some(info) = hmp.take(|ctx| ctx.query_kvm()) {
        let state = match (info.present, info.enabled) {
            (false, _) => "not compiled",
            (true, true) => "enabled",
            (true, false) => "disabled",
        };
        let _ = writeln!(hmp.out, "kvm support: {state}");
    }
}

fn info_chardev(hmp: &mut Hmp, _: &Args) {
    for c in hmp.take(|ctx| ctx.query_chardev()).unwrap_or_default() {
        let _ = writeln!(hmp.out, "{}: filename={}", c.label, c.filename);
    }
}

fn info_qtree(hmp: &mut Hmp, _: &Args) {
    let machine: &crate::machine::Machine = hmp.ctx.machine;
    let pci_root = machine.pci_root().map(|bus| lock(bus));
    let text = super::qtree::info_qtree(&machine.qom().tree, pci_root.as_deref());
    hmp.out.push_str(&text);
}

fn info_mtree(hmp: &mut Hmp, _: &Args) {
    let machine: &crate::machine::Machine = hmp.ctx.machine;
    let ram = machine
        .ram_layout()
        .map(|(name, layout)| super::mtree::RamBlock {
            name,
            size: layout.ram_size,
            aliases: layout.ram_aliases(),
        });
    let buses = machine.io_buses();
    let map = super::mtree::MemoryMap {
        cpus: machine.cpu_count(),
        ram,
        mmio: buses.map_or_else(Vec::new, |b| b.mmio.regions()),
        pio: buses.map_or_else(Vec::new, |b| b.pio.regions()),
    };
    hmp.out.push_str(&super::mtree::info_mtree(&map));
}

fn info_cpus(hmp: &mut Hmp, _: &Args) {
    let current = hmp.cpu as i64;
    for cpu in hmp.take(|ctx| ctx.query_cpus_fast()).unwrap_or_default() {
        let mark = if cpu.cpu_index == current { '*' } else { ' ' };
        let _ = writeln!(
            hmp.out,
            "{mark} CPU #{}: thread_id={}",
            cpu.cpu_index, cpu.thread_id
        );
    }
}

fn info_registers(hmp: &mut Hmp, args: &Args) {
    let count = hmp.ctx.machine.cpu_count();
    let cpus: Vec<usize> = if args.flag("cpustate_all") {
        (0..count).collect()
    } else {
        let vcpu = args.int("vcpu").map(|v| v as i32).filter(|&v| v >= 0);
        let index = vcpu.map_or(hmp.cpu, |v| v as usize);
        if index >= count {
            match vcpu {
                Some(v) => {
                    let _ = writeln!(hmp.out, "CPU#{v} not available");
                }
                None => hmp.out.push_str("No CPU available\n"),
            }
            return;
        }
        vec![index]
    };
    for index in cpus {
        let _ = write!(hmp.out, "\nCPU#{index}\n");
        match hmp.vcpu_state(index) {
            Some(state) => hmp.out.push_str(&super::cpu_dump::dump(&state)),
            None => hmp.out.push_str("No CPU available\n"),
        }
    }
}

fn virtual_memory_dump(hmp: &mut Hmp, args: &Args) {
    let (Some(format), Some(addr)) = (args.format(), args.int("addr")) else {
        return;
    };
    let Some(state) = hmp.vcpu_state(hmp.cpu) else {
        hmp.out.push_str("Can not dump without CPU\n");
        return;
    };
    let text = memory_dump::dump(hmp.memory(), Some(&state.sregs), format, addr as u64);
    hmp.out.push_str(&text);
}

fn physical_memory_dump(hmp: &mut Hmp, args: &Args) {
    let (Some(format), Some(addr)) = (args.format(), args.int("addr")) else {
        return;
    };
    if format.format == b'i' && hmp.vcpu_state(hmp.cpu).is_none() {
        hmp.out.push_str("Can not dump without CPU\n");
        return;
    }
    let text = memory_dump::dump(hmp.memory(), None, format, addr as u64);
    hmp.out.push_str(&text);
}

/// One key of a `sendkey` list: a QKeyCode name (`<` stands for `less`)
/// or a hexadecimal `0x` number.
fn parse_key(name: &str) -> Option<KeyValue> {
    let name = if name == "<" { "less" } else { name };
    if let Some(hex) = name.strip_prefix("0x") {
        // strtoul's base 16 also takes a second 0x and a sign.
        let digits = hex
            .strip_prefix("0x")
            .or_else(|| hex.strip_prefix("0X"))
            .unwrap_or(hex);
        let value = u64::from_str_radix(digits, 16).ok()?;
        return Some(KeyValue::Number(IntWrapper {
            data: i64::from(value as i32),
        }));
    }
    QKeyCode::from_name(name).map(|data| KeyValue::Qcode(QKeyCodeWrapper { data }))
}

/// `sendkey ctrl-alt-f1 [hold_ms]`: the keys, `-`-separated.
fn sendkey(hmp: &mut Hmp, args: &Args) {
    let keys = args.str("keys").unwrap_or_default();
    let mut list = Vec::new();
    for name in keys.split('-') {
        match parse_key(name) {
            Some(key) => list.push(key),
            None => {
                let _ = writeln!(hmp.out, "invalid parameter: {name}");
                return;
            }
        }
    }
    let hold_time = args.int("hold-time");
    let result = hmp.ctx.send_key(list, hold_time);
    hmp.report(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(table: &[HmpCommand]) -> bool {
        table.windows(2).all(|w| w[0].name < w[1].name)
    }

    #[test]
    fn tables_are_in_qemus_order() {
        assert!(sorted(COMMANDS));
        assert!(sorted(INFO_COMMANDS));
    }

    #[test]
    fn key_names_as_qemu() {
        assert_eq!(
            parse_key("ctrl"),
            Some(KeyValue::Qcode(QKeyCodeWrapper {
                data: QKeyCode::Ctrl
            }))
        );
        assert_eq!(
            parse_key("<"),
            Some(KeyValue::Qcode(QKeyCodeWrapper {
                data: QKeyCode::Less
            }))
        );
        assert_eq!(
            parse_key("0x1e"),
            Some(KeyValue::Number(IntWrapper { data: 0x1e }))
        );
        assert_eq!(parse_key("0x2z"), None);
        assert_eq!(parse_key("Ctrl"), None, "names are case-sensitive");
        assert_eq!(parse_key(""), None);
    }
}

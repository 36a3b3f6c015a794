//! The binary against QEMU 7.2's recorded behaviour: for every recorded
//! command line within what the command-line parser decides, the same
//! stderr and exit status (and, for help output, only lines QEMU prints).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The reference files live in `shared/` beside the checkout.
fn reference(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference/qemu-7.2").join(relative))
        .find_map(|path: PathBuf| std::fs::read_to_string(path).ok())
        .expect("QEMU 7.2 reference files")
}

struct Case {
    args: Vec<String>,
    output: Vec<String>,
    exit: i32,
}

/// `$ qemu-system-x86_64 ARGS` then the output lines, then `[exit=N]`.
fn recorded_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    for line in text.lines() {
        if let Some(command) = line.strip_prefix("$ qemu-system-x86_64") {
            current = Some(Case {
                args: command.split_whitespace().map(str::to_owned).collect(),
                output: Vec::new(),
                exit: 0,
            });
        } else if let Some(status) = line
            .strip_prefix("[exit=")
            .and_then(|s| s.strip_suffix(']'))
        {
            if let Some(mut case) = current.take() {
                case.exit = status.parse().expect("exit status");
                cases.push(case);
            }
        } else if let Some(case) = current.as_mut() {
            case.output.push(line.to_owned());
        }
    }
    cases
}

/// Recorded command lines whose outcome is the command line's business
/// (the others are decided by devices, block layer, loaders or a display
/// this build does not have).
const IN_SCOPE: &[&str] = &[
    "-foo",
    "-m",
    "-m 1Q",
    "-machine nosuch",
    "-M q35,nosuchprop=1 -nodefaults -display none",
    "-smp 2,sockets=3,cores=1,threads=1,maxcpus=2",
    "-device nosuchdev",
    "-netdev bogus,id=n0",
    "-netdev user -nodefaults",
    "-drive file=x,if=bogus",
    "-drive file=x,cache=bogus",
    "-chardev bogus,id=c0",
    "-chardev socket,id=c0",
    "-qmp bogus:xx",
    "-accel nosuch",
    "-accel kvm,nosuch=1",
    "-object memory-backend-ram,id=m0 -nodefaults -display none",
    "-device {\"driver\":\"virtio-blk-pci\"",
    "-blockdev driver=null-co",
    "-rtc base=bogus",
    "-boot order=zz",
    "-M q35,accel=kvm,usb=maybe",
    "-no-such-thing-at-all",
    "-display bogus",
    "-vga bogus",
    "-machine none -nodefaults -display none -qmp unix:run/old.sock,server,nowait -S -chardev null,id=x -device help,foo",
    "-machine none,nosuchbool -nodefaults -display none",
    "-machine none -nodefaults -display none -chardev socket,id=c1,path=run/c1.sock,server=on,wait=off,nodelay -S -name x -M none -version",
    "-machine q35,usb=maybe -nodefaults -display none",
    "-machine q35,usb=no,usb=yes -accel help",
    "-m 1Z",
    "-smp foo",
    "-netdev user,id=n0,hostfwd=tcp::5555-:22,hostfwd=tcp::5556-:23 -machine none -nodefaults -display none -accel help",
    "-object memory-backend-ram,id=m0,size=64M,size=32M -accel help",
    "-blockdev node-name=n,driver=file,filename=/dev/null,cache.direct=on,read-only=on -machine none -nodefaults -display none -accel help",
    "-drive if=virtio,file=/dev/null,format=raw,readonly=on,cache=none,aio=io_uring -machine none -display none -accel help",
    "-machine none -display none -nodefaults -kernel",
    "-machine none -display none -nodefaults -S -cpu help,foo -accel help",
];

/// Lines QEMU writes to stderr: its messages and their hint lines.
fn is_stderr_line(line: &str) -> bool {
    const HINTS: &[&str] = &[
        "Please use ",
        "Optional suffix",
        "and exabytes",
        "Use -machine help",
        "valid formats",
    ];
    line.starts_with("qemu-system-x86_64:") || HINTS.iter().any(|hint| line.starts_with(hint))
}

#[test]
fn recorded_errors_and_help_match_qemu() {
    let mut cases = recorded_cases(&reference("cli/errors.txt"));
    cases.extend(recorded_cases(&reference("cli/qemuopts-syntax.txt")));
    // The recordings of `-device help` are cut short; the full list is here.
    let device_help = reference("help/device-help.txt");
    let mut checked = std::collections::HashSet::new();
    for case in cases {
        let command_line = case.args.join(" ");
        if !IN_SCOPE.contains(&command_line.as_str()) {
            continue;
        }
        checked.insert(command_line.clone());
        let output = Command::new(env!("CARGO_BIN_EXE_qemu-system-x86_64"))
            .args(&case.args)
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(case.exit),
            "exit status of {command_line}\nstderr: {stderr}"
        );
        let expected_stderr: Vec<&str> = if case.exit == 0 {
            case.output
                .iter()
                .map(String::as_str)
                .filter(|l| is_stderr_line(l))
                .collect()
        } else {
            case.output.iter().map(String::as_str).collect()
        };
        assert_eq!(
            stderr.lines().collect::<Vec<_>>(),
            expected_stderr,
            "stderr of {command_line}"
        );
        for line in stdout.lines() {
            let is_version = line == qapi::version::version_line();
            assert!(
                is_version
                    || line.is_empty()
                    || case.output.iter().any(|l| l == line)
                    || device_help.lines().any(|l| l == line),
                "{line:?} printed for {command_line} is not in QEMU's output"
            );
        }
        if case.exit == 0 {
            assert!(!stdout.is_empty(), "no output for {command_line}");
        }
    }
    assert_eq!(
        checked.len(),
        IN_SCOPE.len(),
        "every in-scope case was found"
    );
}

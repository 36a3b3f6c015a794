//! The binary against QEMU 7.2 itself (`/usr/bin/qemu-system-x86_64`) on
//! command lines with two or three mistakes: the same first error (QEMU
//! stops at the first), word for word, and the same exit status. This is
//! how the order of QEMU's checks was learnt; it keeps it learnt.

use std::process::{Command, Stdio};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// Each is refused by QEMU 7.2 on its own, before any guest runs.
const MISTAKES: &[&[&str]] = &[
    &["-m", "1Z"],
    &["-m", "1G,slots=2"],
    &["-smp", "foo"],
    &["-smp", "2,sockets=3"],
    &["-smp", "1,foo"],
    &["-M", "q35,nosuch=1"],
    &["-M", "nosuch"],
    &["-machine", "none,nosuchbool"],
    &["-M", "pc,acpi=x"],
    &["-chardev", "bogus,id=c"],
    &["-chardev", "socket,id=c0"],
    &["-netdev", "bogus,id=n"],
    &["-netdev", "user"],
    &["-netdev", "user,id=n,bogus=1"],
    &["-accel", "nosuch"],
    &["-accel", "kvm,nosuch=1"],
    &["-vga", "bogus"],
    &["-boot", "order=zz"],
    &["-boot", "menu=x"],
    &["-rtc", "base=bogus"],
    &["-object", "memory-backend-ram,id=m0"],
    &["-object", "secret,id=s"],
    &["-blockdev", "driver=null-co"],
    &["-blockdev", "node-name=x"],
    &["-drive", "file=x,if=bogus"],
    &["-drive", "if=none,id=1d"],
    &["-serial", "bogus"],
    &["-mon", "nosuch"],
    &["-mon", "chardev=x,mode=bogus"],
    &["-display", "bogus"],
    &["-display", "none,gl=on"],
    &["-uuid", "bogus"],
    &["-debugcon", "bogus"],
    &["-audiodev", "bogus,id=a"],
    &["-append", "x"],
    &["-cpu", ""],
    &["-global", "foo"],
    &["-qmp", "bogus:xx"],
    &["-device", r#"{"driver":1}"#],
    &["-add-fd", "fd=1,set=1"],
    &["-name", "a,bogus=1"],
    &["-overcommit", "mem-lock=x"],
    &["-parallel", "bogus"],
    &["-smp", "cpus=-1"],
    &["-machine", "memory.size=x"],
    &["-machine", "smp=x"],
    &["-machine", "memory=x"],
    &["-display", "none,bogus=1"],
    &["-chardev", "ringbuf,id=r,size=3"],
    &["-audiodev", "none,id=a,bogus=1"],
    &["-netdev", "tap,id=n,queues=x"],
    &["-object", "secret,id=s,data=x,bogus=1"],
    &["-chardev", "socket,id=s,host=localhost"],
    &["-M", "pc,smbios-entry-point-type=x"],
    &["-device", "id=x"],
    &["-sandbox", "on,obsolete=x"],
    &["-msg", "timestamp=x"],
];

struct Outcome {
    stderr: String,
    status: Option<i32>,
}

fn run(program: &str, args: &[&str]) -> Outcome {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Outcome {
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        status: output.status.code(),
    }
}

/// A fixed pseudo-random walk over the mistakes (the same every run).
fn combinations() -> Vec<Vec<&'static [&'static str]>> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    (0..400)
        .map(|_| {
            let count = 2 + next(2);
            (0..count).map(|_| MISTAKES[next(MISTAKES.len())]).collect()
        })
        .collect()
}

#[test]
fn first_error_matches_qemu() {
    let ours = env!("CARGO_BIN_EXE_qemu-system-x86_64");
    let mut mismatches = Vec::new();
    for combination in combinations() {
        let mut args = vec!["-display", "none", "-S"];
        args.extend(
            combination
                .iter()
                .flat_map(|mistake| mistake.iter().copied()),
        );
        let theirs = run(QEMU, &args);
        assert_eq!(
            theirs.status,
            Some(1),
            "QEMU accepted {args:?}: {}",
            theirs.stderr
        );
        let mine = run(ours, &args);
        if theirs.stderr != mine.stderr || theirs.status != mine.status {
            mismatches.push(format!(
                "{args:?}\n  QEMU ({:?}): {}\n  ours ({:?}): {}",
                theirs.status, theirs.stderr, mine.status, mine.stderr
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

//! Errors found while building the machine, compared with QEMU 7.2 where
//! QEMU has the same error, and the refusals of what is not built yet.

mod common;

use std::time::Duration;

use common::{boot_args, guest, run, Guest, GUEST_SUCCESS, QEMU, RQEMU};

fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// stderr without the warnings QEMU and we print about the host's CPU.
fn errors(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.contains("host doesn't support requested feature"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn machine_errors_match_qemu() {
    let cases: &[&[&str]] = &[
        &["-cpu", "nosuchcpu"],
        // More RAM than the host can provide.
        &["-m", "1T"],
        &["-cpu", "qemu64,+nosuchfeat"],
        &["-machine", "pc,memory-backend=nosuch"],
        &[
            "-machine",
            "pc,memory-backend=m0",
            "-object",
            "memory-backend-ram,id=m0,size=64M",
        ],
        &["-device", "isa-debugcon"],
        &["-device", "isa-serial,index=4"],
        &["-device", "isa-serial,chardev=nosuch"],
        &["-device", "isa-debugcon,chardev=nosuch"],
        &[
            "-chardev",
            "null,id=c",
            "-device",
            "isa-serial,chardev=c",
            "-device",
            "isa-serial,chardev=c",
        ],
        &[
            "-chardev",
            "null,id=c",
            "-device",
            "isa-debugcon,chardev=c",
            "-device",
            "isa-debugcon,chardev=c,iobase=0x400",
        ],
    ];
    compare_errors("pc", cases);
}

/// Placing PCI bridges: buses, slots, values.
#[test]
fn pci_bridge_errors_match_qemu() {
    let on_both: &[&[&str]] = &[
        &["-device", "pcie-root-port,addr=0"],
        &["-device", "pcie-root-port,bus=nosuch"],
        &["-device", "pcie-root-port,bus=isa.0"],
        &["-device", "pcie-root-port,addr=0x1.0x8"],
        &["-device", "pcie-root-port,addr=0x20"],
        &["-device", "pcie-root-port,port=256"],
        &["-device", "pcie-root-port,slot=65536"],
        &["-device", "pci-bridge"],
        &["-device", "pci-bridge,chassis_nr=0,addr=4"],
        &[
            "-device",
            "pci-bridge,chassis_nr=1,addr=3",
            "-device",
            "pcie-root-port,addr=3.1",
        ],
        &[
            "-device",
            "pcie-root-port,addr=3.1",
            "-device",
            "pcie-root-port,addr=3",
        ],
        &[
            "-device",
            "pcie-root-port,id=r",
            "-device",
            "pci-bridge,chassis_nr=1,bus=r,addr=0",
            "-device",
            "pcie-root-port,bus=r,addr=0",
        ],
        &[
            "-device",
            "isa-debug-exit,id=x,iobase=0x600",
            "-device",
            "pcie-root-port,bus=x",
        ],
    ];
    compare_errors("pc", on_both);
    compare_errors("q35", on_both);
    compare_errors(
        "pc",
        &[
            &["-device", "pcie-root-port,bus=pcie.0"],
            &["-device", r#"{"driver":"pcie-root-port","addr":8}"#],
            &["-device", r#"{"driver":"pcie-root-port","addr":256}"#],
            &["-device", r#"{"driver":"pcie-root-port","addr":true}"#],
        ],
    );
    compare_errors(
        "q35",
        &[
            &["-device", "pcie-root-port,bus=pci.0"],
            &["-device", "pci-bridge,chassis_nr=1,addr=0x1f"],
        ],
    );
}

/// Each extra command line on `machine` fails as QEMU 7.2's does.
fn compare_errors(machine: &str, cases: &[&[&str]]) {
    for extra in cases {
        let args = with(boot_args(machine, "128", &guest(Guest::Pvh32)), extra);
        let ours = run(RQEMU, &args, Duration::from_secs(60));
        let qemu = run(QEMU, &args, Duration::from_secs(60));
        assert_eq!(qemu.code(), Some(1), "QEMU {extra:?}: {}", qemu.stderr);
        assert_eq!(ours.code(), Some(1), "ours {extra:?}: {}", ours.stderr);
        assert_eq!(errors(&ours.stderr), errors(&qemu.stderr), "{extra:?}");
    }
}

/// Backends and devices that do not exist here yet are refused with an
/// error naming them, never ignored.
#[test]
fn what_is_not_built_yet_is_refused() {
    let cases: &[(&[&str], &str)] = &[
        (&["-netdev", "user,id=n0"], "qemu-system-x86_64: -netdev user,id=n0: Parameter 'type' does not accept value 'user'"),
        (&["-drive", "file=/dev/null,format=raw"], "qemu-system-x86_64: -drive file=/dev/null,format=raw: 'ide-hd' is not a valid device model name"),
        (&["-drive", "if=virtio,file=/dev/null"], "qemu-system-x86_64: -drive if=virtio,file=/dev/null: 'virtio-blk-pci' is not a valid device model name"),
        (&["-blockdev", "driver=file,filename=/dev/null,node-name=f"], "qemu-system-x86_64: -blockdev driver=file,filename=/dev/null,node-name=f: Parameter 'driver' does not accept value 'file'"),
        (&["-device", "virtio-blk-pci"], "qemu-system-x86_64: -device virtio-blk-pci: 'virtio-blk-pci' is not a valid device model name"),
        (&["-sandbox", "on"], "qemu-system-x86_64: -sandbox: seccomp support is disabled"),
        (&["-vga", "std"], "qemu-system-x86_64: standard VGA not available"),
    ];
    for (extra, expected) in cases {
        let args = with(boot_args("pc", "128", &guest(Guest::Pvh32)), extra);
        let ours = run(RQEMU, &args, Duration::from_secs(60));
        assert_eq!(ours.code(), Some(1), "{extra:?}: {}", ours.stderr);
        assert_eq!(errors(&ours.stderr), *expected);
        assert!(ours.stdout.is_empty(), "the guest ran: {}", ours.stdout);
    }
}

/// Without -nodefaults QEMU adds ports and a NIC of its own; the guest
/// still boots, with COM1 where -serial puts it.
#[test]
fn default_devices_do_not_stop_a_boot() {
    for extra in [&["-nographic"][..], &["-display", "none"]] {
        let mut args: Vec<String> = boot_args("pc", "128", &guest(Guest::Pvh32))
            .into_iter()
            .filter(|a| a != "-nodefaults")
            .collect();
        if extra[0] == "-nographic" {
            // -nographic puts COM1 on stdio itself.
            let at = args.iter().position(|a| a == "-serial").expect("-serial");
            args.drain(at..at + 2);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let ours = run(RQEMU, &args, Duration::from_secs(60));
        assert_eq!(
            ours.code(),
            Some(GUEST_SUCCESS),
            "{extra:?}: {}",
            ours.stderr
        );
        assert!(ours.stdout.contains("Hello from a PVH guest!"), "{extra:?}");
    }
}

/// isa-debugcon passes what the guest writes to its port on to its
/// chardev: placed at COM1's data port (with no UART there, the status
/// port reads all ones, "ready"), it carries the guest's serial output
/// to a file, under QEMU and here alike.
#[test]
fn debugcon_writes_reach_its_chardev() {
    let dir = std::env::temp_dir().join(format!("rqemu-debugcon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let mut outputs = Vec::new();
    for (name, program) in [("ours", RQEMU), ("qemu", QEMU)] {
        let file = dir.join(name);
        let args: Vec<String> = [
            "-accel",
            "kvm",
            "-M",
            "pc",
            "-m",
            "128",
            "-nodefaults",
            "-display",
            "none",
            "-chardev",
            &format!("file,id=out,path={}", file.display()),
            "-device",
            "isa-debugcon,iobase=0x3f8,chardev=out",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel",
            guest(Guest::Pvh32).to_str().expect("utf-8"),
        ]
        .map(String::from)
        .to_vec();
        let out = run(program, &args, common::BOOT_TIMEOUT);
        assert_eq!(out.code(), Some(GUEST_SUCCESS), "{name}: {}", out.stderr);
        outputs.push(std::fs::read_to_string(&file).expect("debugcon output"));
    }
    assert!(
        outputs[0].starts_with("Hello from a PVH guest!"),
        "{}",
        outputs[0]
    );
    // The same text, but for the RSDP QEMU's firmware provides.
    let strip = |s: &str| -> String { s.lines().filter(|l| !l.starts_with("rsdp")).collect() };
    assert_eq!(strip(&outputs[0]), strip(&outputs[1]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `none` machine has no bus and no CPU to boot: QEMU's errors.
#[test]
fn none_machine_refuses_devices_and_kernels() {
    let base = ["-M", "none", "-nodefaults", "-display", "none"];
    let cases: &[&[&str]] = &[
        &["-device", "isa-serial"],
        &["-device", "nosuchdev"],
        &["-kernel", "/dev/null"],
    ];
    for extra in cases {
        let args: Vec<String> = base
            .iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect();
        let ours = run(RQEMU, &args, Duration::from_secs(30));
        let qemu = run(QEMU, &args, Duration::from_secs(30));
        assert_eq!(qemu.code(), Some(1), "QEMU {extra:?}: {}", qemu.stderr);
        assert_eq!(ours.code(), Some(1), "ours {extra:?}: {}", ours.stderr);
        assert_eq!(errors(&ours.stderr), errors(&qemu.stderr), "{extra:?}");
    }
}

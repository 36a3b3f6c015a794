//! Whole command lines through `parse_command_line`: real libvirt 9.0
//! command lines, QEMU 7.2's recorded results, malformed input, help.

use std::path::Path;

use serde_json::Value;

use super::description::{Dict, MachineDescription, MonitorMode};
use super::{parse_command_line, Command};

/// The reference files live in `shared/` beside the checkout.
fn reference(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/reference").join(relative))
        .find_map(|path| std::fs::read_to_string(path).ok())
        .expect("reference files")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn run(list: &[&str]) -> MachineDescription {
    match parse_command_line(&args(list)) {
        Ok(Command::Run(description)) => *description,
        other => panic!("{list:?} gave {other:?}"),
    }
}

fn error(list: &[&str]) -> String {
    match parse_command_line(&args(list)) {
        Err(error) => error.to_string(),
        other => panic!("{list:?} gave {other:?}"),
    }
}

/// Splits a libvirt log command line into arguments: backslash-newline
/// continuations, single-quoted words. Drops the log lines, the
/// environment and the program; fills in scratch paths and fd numbers.
fn libvirt_arguments(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for line in text.lines() {
        let line = line.trim_end().trim_end_matches('\\').trim_end();
        let first = line.split('=').next().unwrap_or_default();
        let is_environment = !first.is_empty()
            && first.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            && line.contains('=');
        if line.is_empty() || line.starts_with("20") || is_environment {
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '\'' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                _ => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    // The program itself.
    words.remove(0);
    words
        .into_iter()
        .map(|w| {
            w.replace("SCRATCH", "/tmp/scratch/disk.img")
                .replace("@mon-fd@", "3")
        })
        .collect()
}

fn option_arguments<'a>(list: &'a [String], option: &str) -> Vec<&'a str> {
    list.windows(2)
        .filter(|pair| pair[0] == option)
        .map(|pair| pair[1].as_str())
        .collect()
}

fn json(text: &str) -> Dict {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        other => panic!("{text}: {other:?}"),
    }
}

fn without(mut dict: Dict, keys: &[&str]) -> Dict {
    for key in keys {
        dict.remove(*key);
    }
    dict
}

/// Every device, blockdev, netdev, chardev, object and audiodev of the
/// command line appears in the description with its properties.
fn check_libvirt_command_line(file: &str) {
    let list = libvirt_arguments(&reference(&format!("libvirt-9.0/samples/{file}")));
    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
    let d = run(&refs);

    for text in option_arguments(&list, "-device") {
        let given = json(text);
        let id = given["id"].as_str().unwrap();
        let device = d
            .devices
            .iter()
            .find(|dev| dev.id.as_deref() == Some(id))
            .unwrap();
        assert_eq!(device.driver, given["driver"].as_str().unwrap());
        assert_eq!(
            device.properties,
            without(given, &["driver", "id"]),
            "{text}"
        );
        assert_eq!(device.location, format!("-device {text}"));
    }
    let blockdevs = option_arguments(&list, "-blockdev");
    assert_eq!(d.blockdevs.len(), blockdevs.len());
    for (text, blockdev) in blockdevs.iter().zip(&d.blockdevs) {
        assert_eq!(blockdev.properties, json(text));
    }
    let netdevs = option_arguments(&list, "-netdev");
    assert_eq!(d.netdevs.len(), netdevs.len());
    for (text, netdev) in netdevs.iter().zip(&d.netdevs) {
        assert_eq!(netdev.properties, json(text));
    }
    let audiodevs = option_arguments(&list, "-audiodev");
    assert_eq!(d.audiodevs.len(), audiodevs.len());
    for (text, audiodev) in audiodevs.iter().zip(&d.audiodevs) {
        assert_eq!(audiodev.properties, json(text));
    }
    let objects = option_arguments(&list, "-object");
    assert_eq!(d.objects.len(), objects.len());
    for (text, object) in objects.iter().zip(&d.objects) {
        let given = json(text);
        assert_eq!(object.qom_type, given["qom-type"].as_str().unwrap());
        assert_eq!(object.id, given["id"].as_str().unwrap());
        assert_eq!(object.properties, without(given, &["qom-type", "id"]));
    }
    // Chardevs: `socket,id=charmonitor,fd=N,server=on,wait=off` and `pty,id=...`.
    let chardevs = option_arguments(&list, "-chardev");
    assert_eq!(d.chardevs.len(), chardevs.len(), "-nodefaults: no others");
    for (text, chardev) in chardevs.iter().zip(&d.chardevs) {
        let mut parts = text.split(',');
        assert_eq!(chardev.backend, parts.next().unwrap());
        for part in parts {
            let (key, value) = part.split_once('=').unwrap();
            if key == "id" {
                assert_eq!(chardev.id, value);
            } else {
                assert_eq!(chardev.properties[key], value, "{text}");
            }
        }
    }
    assert_eq!(d.monitors.len(), 1);
    assert_eq!(d.monitors[0].chardev, "charmonitor");
    assert_eq!(d.monitors[0].mode, MonitorMode::Control);
    assert_eq!(d.monitors[0].id.as_deref(), Some("monitor"));

    assert!(
        d.lifecycle.start_paused && d.lifecycle.no_shutdown && d.nodefaults && d.no_user_config
    );
    assert_eq!(d.display.display_type.as_deref(), Some("none"));
    assert_eq!(d.display.vga, None);
    assert!(d.serials.is_empty() && d.parallels.is_empty() && d.nics.is_empty());
    assert_eq!(d.accelerators.len(), 1);
    assert_eq!(d.accelerators[0].name, "kvm");
    assert_eq!(d.cpu.model, "qemu64");
    let name = d.name.as_ref().unwrap();
    assert!(name.debug_threads);
    assert_eq!(
        name.guest.as_deref(),
        option_arguments(&list, "-name")[0].split([',', '=']).nth(1)
    );
    assert_eq!(d.uuid.as_deref(), Some(option_arguments(&list, "-uuid")[0]));
    assert_eq!(d.machine.properties["usb"], "off");
    assert_eq!(d.machine.properties["memory-backend"], "pc.ram");
    assert_eq!(d.rtc["base"], "utc");
    assert_eq!(d.boot.boot_order["strict"], "on");
    let backend = &d
        .objects
        .iter()
        .find(|o| o.id == "pc.ram")
        .unwrap()
        .properties["size"];
    assert_eq!(
        Some(d.memory.size),
        backend.as_u64(),
        "-m and the RAM backend agree"
    );
    assert!(d.warnings.is_empty());
}

#[test]
fn libvirt_pc_command_line() {
    check_libvirt_command_line("live-args-libvirt-9.0.0-pc-kvm-virtio-qcow2-user-pty.txt");
    let list = libvirt_arguments(&reference(
        "libvirt-9.0/samples/live-args-libvirt-9.0.0-pc-kvm-virtio-qcow2-user-pty.txt",
    ));
    let d = run(&list.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(d.machine.type_name, "pc-i440fx-7.2");
    assert_eq!((d.smp.cpus, d.smp.sockets, d.smp.cores), (1, 1, 1));
}

#[test]
fn libvirt_q35_command_line() {
    let file = "live-args-libvirt-9.0.0-q35-kvm-virtio-qcow2-raw-user+tap-pty.txt";
    check_libvirt_command_line(file);
    let list = libvirt_arguments(&reference(&format!("libvirt-9.0/samples/{file}")));
    let d = run(&list.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(d.machine.type_name, "pc-q35-7.2");
    assert_eq!(
        (d.smp.cpus, d.smp.max_cpus, d.smp.sockets, d.smp.cores),
        (2, 2, 2, 1)
    );
    assert_eq!(d.memory.size, 512 << 20);
    assert_eq!(d.boot.append.as_deref(), Some("console=ttyS0 quiet"));
    assert!(d.boot.kernel.is_some() && d.boot.initrd.is_some());
    assert_eq!(d.netdevs[1].properties["fd"], "30");
}

/// The libvirt test-suite command lines use what is not implemented yet;
/// they are refused only for one of those reasons.
#[test]
fn libvirt_test_suite_command_lines() {
    const ACCEPTABLE_REFUSALS: &[&str] = &[
        "ide-hd",
        "host_device",
        "rtl8139",
        "qemu-xhci",
        "usb-",
        "VGA",
        "tcg",
    ];
    for file in [
        "testdata-qemuxml2argvdata-disk-virtio.x86_64-latest.args",
        "testdata-qemuxmlconfdata-net-eth.x86_64-latest.args",
        "testdata-qemuxmlconfdata-serial-pty-chardev.x86_64-latest.args",
    ] {
        let list = libvirt_arguments(&reference(&format!("libvirt-9.0/samples/{file}")));
        match parse_command_line(&list) {
            Ok(Command::Run(_)) => {}
            Err(error) => {
                let text = error.to_string();
                assert!(
                    ACCEPTABLE_REFUSALS.iter().any(|what| text.contains(what)),
                    "{file}: {text}"
                );
            }
            Ok(other) => panic!("{file}: {other:?}"),
        }
    }
}

/// Results recorded with QEMU 7.2 (`qemuopts-probe.txt`).
#[test]
fn recorded_results_match_qemu() {
    let d = run(&["-machine", "none", "-name", "foo,,bar,debug-threads=on"]);
    assert_eq!(d.name.unwrap().guest.as_deref(), Some("foo,bar"));
    let d = run(&["-machine", "none", "-name", "guest=g1,process=p1"]);
    assert_eq!(d.name.unwrap().guest.as_deref(), Some("g1"));
    for usb in ["yes", "true", "y", "on"] {
        let d = run(&["-machine", &format!("q35,accel=kvm,usb={usb}")]);
        assert_eq!(d.machine.properties["usb"], usb);
        assert_eq!(d.accelerators[0].name, "kvm");
    }
    assert_eq!(
        run(&["-machine", "type=q35", "-accel", "kvm", "-m", "1.5G"])
            .memory
            .size,
        1610612736
    );
    assert_eq!(
        run(&["-machine", "q35", "-enable-kvm", "-m", "512"])
            .memory
            .size,
        536870912
    );
    let m = run(&[
        "-machine",
        "q35,accel=kvm",
        "-m",
        "size=256M,slots=2,maxmem=1G",
    ])
    .memory;
    assert_eq!(
        (m.size, m.slots, m.max_size),
        (268435456, 2, Some(1073741824))
    );
    assert_eq!(run(&["-m", "256k"]).memory.size, 262144);
    // -m replaces `-machine memory.*`, which is used without it.
    assert_eq!(
        run(&["-m", "1G", "-machine", "memory.size=x"]).memory.size,
        1 << 30
    );
    let m = run(&[
        "-machine",
        "memory.size=256M,memory.max-size=1G,memory.slots=2",
    ])
    .memory;
    assert_eq!((m.size, m.slots, m.max_size), (256 << 20, 2, Some(1 << 30)));
    let d = run(&[
        "-machine",
        "pc,accel=kvm",
        "-uuid",
        "c7a5fdbd-cdaf-9455-926a-d65c16db1820",
    ]);
    assert!(d.uuid.is_some());
    assert_eq!(
        error(&["-machine", "pc,accel=kvm", "-uuid", "bogus"]),
        "qemu-system-x86_64: -uuid bogus: failed to parse UUID string: wrong format"
    );
    let d = run(&[
        "-machine",
        "none",
        "-object",
        r#"{"qom-type":"memory-backend-ram","id":"m0","size":1048576}"#,
    ]);
    assert_eq!(d.objects[0].properties["size"], 1048576);
    let d = run(&[
        "-rtc",
        "base=utc,clock=host,driftfix=slew",
        "-boot",
        "order=dc,menu=on,strict=on",
        "-no-reboot",
        "-no-shutdown",
    ]);
    assert_eq!(d.rtc["driftfix"], "slew");
    assert_eq!(d.boot.boot_order["order"], "dc");

    assert!(d.lifecycle.no_reboot && d.lifecycle.no_shutdown);
    let b = run(&["-machine", "pc,boot.order=n", "-boot", "menu=on"]);
    assert_eq!(
        (
            b.boot.boot_order["order"].as_str(),
            b.boot.boot_order["menu"].as_str()
        ),
        (Some("n"), Some("on"))
    );
    assert!(!b.machine.properties.contains_key("boot"));
    // Repeated list members of -netdev user are all kept.
    let n = run(&[
        "-netdev",
        "user,id=n0,hostfwd=tcp::5555-:22,hostfwd=tcp::5556-:23",
    ]);
    assert_eq!(
        n.netdevs[0].properties["hostfwd"],
        serde_json::json!(["tcp::5555-:22", "tcp::5556-:23"])
    );
    let d = run(&["-cpu", "qemu64,+ssse3,-svm,vmx=off"]);
    assert_eq!(d.cpu.model, "qemu64");
    assert_eq!(
        d.cpu.features,
        [
            ("ssse3".to_owned(), true),
            ("svm".to_owned(), false),
            ("vmx".to_owned(), false)
        ]
    );
}

/// QEMU 7.2's default devices, checked with `info chardev`/`query-chardev`.
#[test]
fn default_devices() {
    // -nographic: serial and monitor multiplexed on stdio.
    let d = run(&["-nographic"]);
    assert_eq!(d.serials, [Some("serial0".to_owned())]);
    let serial = d.chardevs.iter().find(|c| c.id == "serial0").unwrap();
    assert_eq!(serial.backend, "stdio");
    assert_eq!(serial.properties["mux"], "on");
    assert_eq!(d.monitors.len(), 1);
    assert_eq!(d.monitors[0].chardev, "serial0");
    assert_eq!(d.parallels, ["parallel0"]);
    assert_eq!(
        d.chardevs
            .iter()
            .find(|c| c.id == "parallel0")
            .unwrap()
            .backend,
        "null"
    );
    // With a display: serial, parallel and monitor on text consoles.
    let d = run(&["-display", "none"]);
    let mut ids: Vec<&str> = d.chardevs.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["compat_monitor0", "parallel0", "serial0"]);
    assert!(d.chardevs.iter().all(|c| c.backend == "vc"));
    assert_eq!(d.display.vga.as_deref(), Some("std"));
    // -serial replaces the default serial; mon: also the monitor.
    let d = run(&["-serial", "mon:stdio", "-nodefaults"]);
    assert_eq!(d.monitors.len(), 1);
    let d = run(&[
        "-nodefaults",
        "-chardev",
        "null,id=c",
        "-serial",
        "chardev:c",
        "-serial",
        "none",
        "-serial",
        "file:/tmp/x",
    ]);
    assert_eq!(
        d.serials,
        [Some("c".to_owned()), Some("serial1".to_owned())]
    );
    assert!(d.monitors.is_empty());
    // The qtest harness's command line.
    let d = run(&[
        "-display",
        "none",
        "-vga",
        "none",
        "-chardev",
        "socket,id=mon,fd=3",
        "-mon",
        "chardev=mon,mode=control",
        "-chardev",
        "socket,id=console,fd=4",
        "-serial",
        "chardev:console",
    ]);
    assert_eq!(d.serials, [Some("console".to_owned())]);
    assert_eq!(d.monitors[0].chardev, "mon");
    assert_eq!(d.display.vga, None);
}

/// Errors recorded from QEMU 7.2 while probing (not in errors.txt).
#[test]
fn probed_errors_match_qemu() {
    let cases: &[(&[&str], &str)] = &[
        (&["--foo"], "qemu-system-x86_64: --foo: invalid option"),
        (&["--m"], "qemu-system-x86_64: --m: requires an argument"),
        (&["-m=5"], "qemu-system-x86_64: -m=5: invalid option"),
        (&["--"], "qemu-system-x86_64: --: invalid option"),
        (&["-m", "1Z", "-foo"], "qemu-system-x86_64: -foo: invalid option"),
        (&["-serial", "bogus"], "qemu-system-x86_64: -serial bogus: 'bogus' is not a valid char driver\nqemu-system-x86_64: -serial bogus: could not connect serial device to character backend 'bogus'"),
        (&["-serial", "tcp:abc"], "qemu-system-x86_64: -serial tcp:abc: could not connect serial device to character backend 'tcp:abc'"),
        (&["-serial", "chardev:nosuch"], "qemu-system-x86_64: -serial chardev:nosuch: could not connect serial device to character backend 'chardev:nosuch'"),
        (&["-nodefaults", "-mon", "nosuch"], "qemu-system-x86_64: -mon nosuch: chardev \"nosuch\" not found"),
        (&["-nodefaults", "-monitor", "chardev:nosuch"], "qemu-system-x86_64: -monitor chardev:nosuch: chardev \"nosuch\" not found"),
        (&["-chardev", "file,id=f"], "qemu-system-x86_64: -chardev file,id=f: chardev: file: no filename given"),
        (&["-chardev", "pty"], "qemu-system-x86_64: -chardev pty: chardev: no id specified"),
        (&["-chardev", "socket,id=s,path=/tmp/x,bogus=1"], "qemu-system-x86_64: -chardev socket,id=s,path=/tmp/x,bogus=1: Invalid parameter 'bogus'"),
        (&["-chardev", "null,id=a", "-chardev", "null,id=a"], "qemu-system-x86_64: -chardev null,id=a: Duplicate ID 'a' for chardev"),
        (&["-device", "isa-serial,id=1bad"], "qemu-system-x86_64: -device isa-serial,id=1bad: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."),
        (&["-m", "1.5"], "qemu-system-x86_64: -m 1.5: Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively."),
        (&["-m", "1G,slots=2"], "qemu-system-x86_64: slots specified but no max-size"),
        (&["-m", "size=1G,maxmem=512M"], "qemu-system-x86_64: invalid value of maxmem: maximum memory size (0x20000000) must be at least the initial memory size (0x40000000)"),
        (&["-m", "1G,slots=2,maxmem=1G"], "qemu-system-x86_64: invalid value of maxmem: memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)"),
        (&["-m", "1G,bogus=1"], "qemu-system-x86_64: -m 1G,bogus=1: Invalid parameter 'bogus'"),
        (&["-m", "17179869184G"], "qemu-system-x86_64: -m 17179869184G: Value '17179869184G' is out of range for parameter 'size'"),
        (&["-m", "1,5"], "qemu-system-x86_64: -m 1,5: warning: short-form boolean option '5' deprecated\nPlease use 5=on instead\nqemu-system-x86_64: -m 1,5: Invalid parameter '5'"),
        (&["-machine", "none,a=1,a.b=2"], "qemu-system-x86_64: -machine none,a=1,a.b=2: Parameters 'a.*' used inconsistently"),
        (&["-machine", "none,x=1"], "qemu-system-x86_64: Property 'none-machine.x' not found"),
        (&["-object", "{\"a\":1}}"], "qemu-system-x86_64: -object {\"a\":1}}: Expecting at most one JSON value"),
        (&["-object", "[1]"], "qemu-system-x86_64: -object [1]: Parameter 'qom-type' does not accept value '[1]'"),
        (&["-object", "{\"a\":1}"], "qemu-system-x86_64: -object {\"a\":1}: Parameter 'qom-type' is missing"),
        (&["-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":\"m\",\"size\":\"1M\"}"], "qemu-system-x86_64: -object {\"qom-type\":\"memory-backend-ram\",\"id\":\"m\",\"size\":\"1M\"}: Parameter 'size' expects uint64"),
        (&["-nodefaults", "-debugcon", "stdio", "-debugcon", "null"], "qemu-system-x86_64: -debugcon null: attempt to add duplicate property 'debugcon' to object (type 'container')\nqemu-system-x86_64: -debugcon null: invalid character backend 'null'"),
        (&["-smp", "cpus=-1"], "qemu-system-x86_64: Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"),
        (&["-rtc", "clock=bogus"], "qemu-system-x86_64: invalid option value 'bogus'"),
        (&["-rtc", "driftfix=bogus"], "qemu-system-x86_64: invalid option value 'bogus'"),
        (&["-boot", "bogus=1"], "qemu-system-x86_64: Parameter 'boot.bogus' is unexpected"),
        (&["-boot", "menu=x"], "qemu-system-x86_64: Parameter 'boot.menu' expects 'on' or 'off'"),
        (&["-boot", "splash-time=x"], "qemu-system-x86_64: Parameter 'boot.splash-time' expects integer"),
        (&["-chardev", "null,id=x", "-mon", "chardev=x,mode=bogus"], "qemu-system-x86_64: -mon chardev=x,mode=bogus: Parameter 'mode' does not accept value 'bogus'"),
        (&["-chardev", "pipe,id=p"], "qemu-system-x86_64: -chardev pipe,id=p: chardev: pipe: no device path given"),
        (&["-overcommit", "mem-lock=x"], "qemu-system-x86_64: -overcommit mem-lock=x: Parameter 'mem-lock' expects 'on' or 'off'"),
        (&["-msg", "timestamp=x"], "qemu-system-x86_64: -msg timestamp=x: Parameter 'timestamp' expects 'on' or 'off'"),
        (&["-sandbox", "x"], "qemu-system-x86_64: -sandbox x: Parameter 'enable' expects 'on' or 'off'"),
        (&["-sandbox", "on,obsolete=x"], "qemu-system-x86_64: -sandbox on,obsolete=x: invalid argument for obsolete"),
        (&["-object", "secret,id=s"], "qemu-system-x86_64: Either 'file' or 'data' must be provided"),
        (&["-object", "secret,id=s,data=x,bogus=1"], "qemu-system-x86_64: -object secret,id=s,data=x,bogus=1: Invalid parameter 'bogus'"),
        (&["-object", "memory-backend-memfd,id=m,size=1M,bogus=1"], "qemu-system-x86_64: -object memory-backend-memfd,id=m,size=1M,bogus=1: Invalid parameter 'bogus'"),
        (&["-object", "memory-backend-ram,id=m,size=1M,share=x"], "qemu-system-x86_64: -object memory-backend-ram,id=m,size=1M,share=x: Parameter 'share' expects 'on' or 'off'"),
        (&["-object", "memory-backend-ram,id=m,size=x"], "qemu-system-x86_64: -object memory-backend-ram,id=m,size=x: Parameter 'size' expects a size value"),
        (&["-object", "memory-backend-file,id=m,size=1M"], "qemu-system-x86_64: -object memory-backend-file,id=m,size=1M: Parameter 'mem-path' is missing"),
        (&["-object", r#"{"qom-type":"memory-backend-ram","id":"m","size":1,"bogus":1}"#], r#"qemu-system-x86_64: -object {"qom-type":"memory-backend-ram","id":"m","size":1,"bogus":1}: Parameter 'bogus' is unexpected"#),
        (&["-object", r#"{"qom-type":"memory-backend-ram","id":"m","size":1,"share":"on"}"#], r#"qemu-system-x86_64: -object {"qom-type":"memory-backend-ram","id":"m","size":1,"share":"on"}: Invalid parameter type for 'share', expected: boolean"#),
        (&["-machine", "pc,max-ram-below-4g=x"], "qemu-system-x86_64: Parameter 'max-ram-below-4g' expects size"),
        (&["-machine", "pc,acpi=x"], "qemu-system-x86_64: Parameter 'acpi' does not accept value 'x'"),
        (&["-device", r#"{"driver":1}"#], r#"qemu-system-x86_64: -device {"driver":1}: Parameter 'driver' is missing"#),
        (&["-device", r#"{"driver":"isa-serial","id":"a"}"#, "-device", r#"{"driver":"isa-serial","id":"a"}"#], r#"qemu-system-x86_64: -device {"driver":"isa-serial","id":"a"}: Duplicate device ID 'a'"#),
        (&["-netdev", "user,id=1n"], "qemu-system-x86_64: -netdev user,id=1n: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."),
        (&["-netdev", "user,id=n", "-netdev", "user,id=n"], "qemu-system-x86_64: -netdev user,id=n: Duplicate ID 'n' for netdev"),
        (&["-display", "none,gl=on"], "qemu-system-x86_64: OpenGL is not supported by the display"),
        (&["-drive", "file=/dev/null,if=none,id=d0", "-drive", "file=/dev/null,if=none,id=d0"], "qemu-system-x86_64: -drive file=/dev/null,if=none,id=d0: Duplicate ID 'd0' for drive"),
        (&["-drive", "if=none,id=1d"], "qemu-system-x86_64: -drive if=none,id=1d: Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."),
        (&["-drive", "file=/dev/null,if=none,media=bogus"], "qemu-system-x86_64: -drive file=/dev/null,if=none,media=bogus: 'bogus' invalid media"),
        (&["-drive", "file=/dev/null,if=none,aio=bogus"], "qemu-system-x86_64: -drive file=/dev/null,if=none,aio=bogus: invalid aio option"),
        (&["-drive", "file=/dev/null,if=none,readonly=x"], "qemu-system-x86_64: -drive file=/dev/null,if=none,readonly=x: Parameter 'read-only' expects 'on' or 'off'"),
        (&["-audiodev", "bogus,id=a"], "qemu-system-x86_64: -audiodev bogus,id=a: Parameter 'driver' does not accept value 'bogus'"),
        (&["-audiodev", r#"{"id":"a"}"#], r#"qemu-system-x86_64: -audiodev {"id":"a"}: Parameter 'driver' is missing"#),
        (&["-global", "foo"], "qemu-system-x86_64: -global foo: warning: short-form boolean option 'foo' deprecated\nPlease use foo=on instead\nqemu-system-x86_64: -global foo: Invalid parameter 'foo'"),
        (&["-global", "driver=isa-serial,property=index"], "qemu-system-x86_64: -global driver=isa-serial,property=index: options 'driver', 'property', and 'value' are required"),
        (&["-nic", "bogus"], "qemu-system-x86_64: -nic bogus: Parameter 'type' does not accept value 'bogus'"),
        (&["-append", "x", "-device", "help"], "qemu-system-x86_64: -append only allowed with -kernel option"),
        (&["-initrd", "x"], "qemu-system-x86_64: -initrd only allowed with -kernel option"),
        (&["-cpu", ""], "qemu-system-x86_64: -cpu option cannot be empty"),
        (&["-mon", ""], "qemu-system-x86_64: -mon : Parameter 'chardev' is missing"),
        (&["-netdev", ""], "qemu-system-x86_64: -netdev : Parameter 'id' is missing"),
        (&["-netdev", "bogus"], "qemu-system-x86_64: -netdev bogus: Parameter 'id' is missing"),
        (&["-blockdev", ""], "qemu-system-x86_64: -blockdev : Parameter 'driver' is missing"),
        (&["-blockdev", "node-name=x"], "qemu-system-x86_64: -blockdev node-name=x: Parameter 'driver' is missing"),
        (&["-display", ""], "qemu-system-x86_64: -display : Parameter 'type' is missing"),
        (&["-global", ""], "qemu-system-x86_64: -global : options 'driver', 'property', and 'value' are required"),
        (&["-debugcon", ""], "qemu-system-x86_64: -debugcon : '' is not a valid char driver\nqemu-system-x86_64: -debugcon : invalid character backend ''"),
        (&["-serial", "mon:stdio", "-serial", "mon:stdio"], "qemu-system-x86_64: -serial mon:stdio: cannot use stdio by multiple character devices\nqemu-system-x86_64: -serial mon:stdio: could not connect serial device to character backend 'mon:stdio'"),
        (&["-monitor", "stdio", "-qmp", "stdio"], "qemu-system-x86_64: -qmp stdio: cannot use stdio by multiple character devices"),
        (&["-qmp", "stdio", "-chardev", "stdio,id=x"], "qemu-system-x86_64: -chardev stdio,id=x: cannot use stdio by multiple character devices"),
        (&["-nographic", "-chardev", "stdio,id=x"], "qemu-system-x86_64: cannot use stdio by multiple character devices\nqemu-system-x86_64: could not connect serial device to character backend 'mon:stdio'"),
        (&["-chardev", "null,id=compat_monitor0", "-monitor", "null"], "qemu-system-x86_64: -monitor null: Duplicate ID 'compat_monitor0' for chardev\nqemu-system-x86_64: -monitor null: parse error: null"),
        (&["-chardev", "null,id=serial0", "-serial", "null"], "qemu-system-x86_64: -serial null: Duplicate ID 'serial0' for chardev\nqemu-system-x86_64: -serial null: could not connect serial device to character backend 'null'"),
        (&["-chardev", "null,id=c", "-mon", "chardev=c,id=m", "-mon", "chardev=c,id=m"], "qemu-system-x86_64: -mon chardev=c,id=m: Duplicate ID 'm' for mon"),
        (&["-parallel", "null", "-parallel", "null", "-parallel", "null", "-parallel", "null"], "qemu-system-x86_64: -parallel null: too many parallel ports"),
        (&["-smp", "1,foo"], "qemu-system-x86_64: -smp 1,foo: Expected '=' after parameter 'foo'"),
        (&["-smp", "1,,2"], "qemu-system-x86_64: -smp 1,,2: Invalid parameter ''"),
        (&["-M", "q35", "-machine", "smp.cpus=4,smp.sockets=3"], "qemu-system-x86_64: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)"),
        (&["-M", "q35", "-smp", "4", "-machine", "smp.sockets=3"], "qemu-system-x86_64: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)"),
        (&["-M", "q35", "-machine", "smp.sockets=3", "-smp", "4"], "qemu-system-x86_64: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)"),
        (&["-smp", "cpus=2,cpus=3,sockets=2"], "qemu-system-x86_64: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * dies (1) * cores (1) * threads (1) != maxcpus (3)"),
        (&["-boot", "menu"], "qemu-system-x86_64: Invalid boot device 'u'"),
        (&["-boot", "c,,d"], "qemu-system-x86_64: -boot c,,d: Invalid parameter ''"),
        (&["-M", "pc,bus-lock-ratelimit=x"], "qemu-system-x86_64: Parameter 'bus-lock-ratelimit' expects integer"),
        (&["-M", "pc,smbios-entry-point-type=x"], "qemu-system-x86_64: Parameter 'smbios-entry-point-type' does not accept value 'x'"),
        (&["-M", "none,boot=x"], "qemu-system-x86_64: Invalid parameter type for 'boot', expected: object"),
        (&["-display", "none,bogus=1"], "qemu-system-x86_64: -display none,bogus=1: Parameter 'bogus' is unexpected"),
        (&["-display", "cocoa"], "qemu-system-x86_64: -display cocoa: Parameter 'type' does not accept value 'cocoa'"),
        (&["-display", "gtk,gl=on"], "qemu-system-x86_64: OpenGL is not supported by the display"),
        (&["-netdev", r#"{"type":"user","id":1}"#], r#"qemu-system-x86_64: -netdev {"type":"user","id":1}: Invalid parameter type for 'id', expected: string"#),
        (&["-chardev", "socket,id=s,host=localhost"], "qemu-system-x86_64: -chardev socket,id=s,host=localhost: chardev: socket: no port given"),
        (&["-chardev", "socket,id=s,path=/tmp/zz,host=x,port=1"], "qemu-system-x86_64: -chardev socket,id=s,path=/tmp/zz,host=x,port=1: None or one of 'path', 'fd' or 'host' option required."),
        (&["-chardev", "ringbuf,id=r,size=3"], "qemu-system-x86_64: -chardev ringbuf,id=r,size=3: size of ringbuf chardev must be power of two"),
        (&["-chardev", "socket,id=s,path=/tmp/zz9,server=on,wait=off,reconnect=1"], "qemu-system-x86_64: -chardev socket,id=s,path=/tmp/zz9,server=on,wait=off,reconnect=1: 'reconnect' option is incompatible with socket in server listen mode"),
        (&["-chardev", "socket,id=s,fd=3,server=on,reconnect=1"], "qemu-system-x86_64: -chardev socket,id=s,fd=3,server=on,reconnect=1: 'reconnect' option is incompatible with 'fd' address type"),
        (&["-netdev", "user,id=n,bogus=1"], "qemu-system-x86_64: -netdev user,id=n,bogus=1: Invalid parameter 'bogus'"),
        (&["-netdev", "tap,id=n,bogus=1"], "qemu-system-x86_64: -netdev tap,id=n,bogus=1: Invalid parameter 'bogus'"),
        (&["-netdev", "user,id=n,ipv4=x"], "qemu-system-x86_64: -netdev user,id=n,ipv4=x: Parameter 'ipv4' expects 'on' or 'off'"),
        (&["-netdev", r#"{"type":"user","id":"n","bogus":1}"#], r#"qemu-system-x86_64: -netdev {"type":"user","id":"n","bogus":1}: Parameter 'bogus' is unexpected"#),
        (&["-netdev", "tap,id=n,queues=x"], "qemu-system-x86_64: -netdev tap,id=n,queues=x: Parameter 'queues' expects a uint64 value"),
        (&["-netdev", "tap,id=n,poll-us=-1"], "qemu-system-x86_64: -netdev tap,id=n,poll-us=-1: Parameter 'poll-us' expects a uint64 value"),
        (&["-netdev", "user,id=n,ipv6-prefixlen=x"], "qemu-system-x86_64: -netdev user,id=n,ipv6-prefixlen=x: Parameter 'ipv6-prefixlen' expects an int64 value"),
        (&["-object", "memory-backend-ram,id=m,size=1M,prealloc-threads=x"], "qemu-system-x86_64: -object memory-backend-ram,id=m,size=1M,prealloc-threads=x: Parameter 'prealloc-threads' expects a uint64 value"),
        (&["-audiodev", "none,id=a,bogus=1"], "qemu-system-x86_64: -audiodev none,id=a,bogus=1: Parameter 'bogus' is unexpected"),
        (&["-audiodev", "none,id=a,timer-period=x"], "qemu-system-x86_64: -audiodev none,id=a,timer-period=x: Parameter 'timer-period' expects integer"),
        (&["-audiodev", "none,id=a,out.frequency=x"], "qemu-system-x86_64: -audiodev none,id=a,out.frequency=x: Parameter 'out.frequency' expects integer"),
        (&["-audiodev", "none,id=a,out.bogus=1"], "qemu-system-x86_64: -audiodev none,id=a,out.bogus=1: Parameter 'out.bogus' is unexpected"),
        // Which error QEMU reports first when there are several.
        (&["-chardev", "bogus,id=c", "-M", "q35,nosuch=1"], "qemu-system-x86_64: -chardev bogus,id=c: 'bogus' is not a valid char driver name"),
        (&["-M", "nosuch", "-chardev", "bogus,id=c"], "qemu-system-x86_64: unsupported machine type\nUse -machine help to list supported machines"),
        (&["-M", "q35,nosuch=1", "-smp", "foo"], "qemu-system-x86_64: Parameter 'smp.cpus' expects integer"),
        (&["-smp", "2,sockets=3", "-M", "q35,usb=x"], "qemu-system-x86_64: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (0) * threads (1) != maxcpus (2)"),
        (&["-M", "q35,nosuch=1", "-accel", "nosuch"], "qemu-system-x86_64: Property 'pc-q35-7.2-machine.nosuch' not found"),
        (&["-m", "1G,slots=2", "-chardev", "bogus,id=c"], "qemu-system-x86_64: -chardev bogus,id=c: 'bogus' is not a valid char driver name"),
        (&["-M", "q35,nosuch=1", "-m", "1G,slots=2"], "qemu-system-x86_64: Property 'pc-q35-7.2-machine.nosuch' not found"),
        (&["-netdev", "bogus,id=n", "-accel", "nosuch"], "qemu-system-x86_64: -accel nosuch: invalid accelerator nosuch"),
        (&["-serial", "bogus", "-netdev", "bogus,id=n"], "qemu-system-x86_64: -netdev bogus,id=n: Parameter 'type' does not accept value 'bogus'"),
        (&["-vga", "bogus", "-chardev", "bogus,id=c"], "qemu-system-x86_64: unknown vga type: bogus"),
        (&["-boot", "order=zz", "-M", "q35,nosuch=1"], "qemu-system-x86_64: Invalid boot device 'z'"),
        (&["-boot", "order=zz", "-chardev", "bogus,id=c"], "qemu-system-x86_64: -chardev bogus,id=c: 'bogus' is not a valid char driver name"),
        (&["-boot", "order=zz", "-smp", "foo"], "qemu-system-x86_64: Invalid boot device 'z'"),
        (&["-blockdev", "driver=null-co", "-boot", "order=zz"], "qemu-system-x86_64: -blockdev driver=null-co: 'node-name' must be specified for the root node"),
        (&["-drive", "file=x,if=bogus", "-blockdev", "driver=null-co"], "qemu-system-x86_64: -blockdev driver=null-co: 'node-name' must be specified for the root node"),
        (&["-drive", "file=x,if=bogus", "-smp", "foo"], "qemu-system-x86_64: -drive file=x,if=bogus: unsupported bus type 'bogus'"),
        (&["-mon", "nosuch", "-netdev", "bogus,id=n"], "qemu-system-x86_64: -netdev bogus,id=n: Parameter 'type' does not accept value 'bogus'"),
        (&["-serial", "bogus", "-mon", "nosuch"], "qemu-system-x86_64: -mon nosuch: chardev \"nosuch\" not found"),
        (&["-nographic", "-daemonize", "-vga", "bogus"], "qemu-system-x86_64: -nographic cannot be used with -daemonize"),
        (&["-object", "memory-backend-ram,id=m", "-chardev", "bogus,id=c"], "qemu-system-x86_64: -object memory-backend-ram,id=m: Parameter 'size' is missing"),
        (&["-rtc", "base=bogus", "-add-fd", "fd=1,set=1"], "qemu-system-x86_64: -add-fd fd=1,set=1: fd cannot be a standard I/O stream"),
        (&["-rtc", "base=bogus", "-M", "nosuch"], "qemu-system-x86_64: invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'"),
        (&["-display", "none,gl=on", "-chardev", "bogus,id=c"], "qemu-system-x86_64: OpenGL is not supported by the display"),
        (&["-display", "none,gl=on", "-vga", "bogus"], "qemu-system-x86_64: unknown vga type: bogus"),
        (&["-cpu", "", "-serial", "bogus"], "qemu-system-x86_64: -serial bogus: 'bogus' is not a valid char driver\nqemu-system-x86_64: -serial bogus: could not connect serial device to character backend 'bogus'"),
        (&["-cpu", "", "-device", r#"{"driver":1}"#], "qemu-system-x86_64: -cpu option cannot be empty"),
        (&["-device", r#"{"driver":1}"#, "-vga", "bogus"], "qemu-system-x86_64: unknown vga type: bogus"),
        (&["-smp", "cpus=-1", "-mon", "chardev=x,mode=bogus"], "qemu-system-x86_64: Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-7.2' is 255"),
        (&["-netdev", "bogus,id=n", "-mon", "chardev=x,mode=bogus"], "qemu-system-x86_64: -netdev bogus,id=n: Parameter 'type' does not accept value 'bogus'"),
        (&["-blockdev", "node-name=x", "-m", "1Z"], "qemu-system-x86_64: -blockdev node-name=x: Parameter 'driver' is missing"),
        (&["-chardev", "null,id=x", "-monitor", "stdio", "-daemonize"], "qemu-system-x86_64: -monitor stdio: cannot use stdio with -daemonize"),
        (&["-display", "gtk", "-drive", "file=x,if=bogus"], "qemu-system-x86_64: -drive file=x,if=bogus: unsupported bus type 'bogus'"),
        (&["-machine", "memory.size=x"], "qemu-system-x86_64: Parameter 'memory.size' expects size"),
        (&["-machine", "memory.bogus=1"], "qemu-system-x86_64: Parameter 'memory.bogus' is unexpected"),
        (&["-machine", "memory.slots=2"], "qemu-system-x86_64: slots specified but no max-size"),
        (&["-machine", "memory=x"], "qemu-system-x86_64: Parameter 'memory' used inconsistently"),
        (&["-machine", "smp=x"], "qemu-system-x86_64: Invalid parameter type for 'smp', expected: object"),
        (&["-machine", "memory.size=2G,memory.max-size=1G"], "qemu-system-x86_64: invalid value of maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)"),
        (&["-accel", "nosuch", "-accel", "kvm,nosuch=1"], "qemu-system-x86_64: -accel nosuch: invalid accelerator nosuch\nqemu-system-x86_64: -accel kvm,nosuch=1: Property 'kvm-accel.nosuch' not found"),
        (&["-boot", "order=zz", "-smp", "foo"], "qemu-system-x86_64: Invalid boot device 'z'"),
        (&["-M", "pc,acpi=x", "-machine", "memory.size=x"], "qemu-system-x86_64: Parameter 'memory.size' expects size"),
        (&["-machine", "memory=x", "-machine", "memory.size=x"], "qemu-system-x86_64: -machine memory.size=x: Parameters 'memory.*' used inconsistently"),
        (&["-machine", "smp=x", "-smp", "foo"], "qemu-system-x86_64: -smp foo: Parameter 'smp' used inconsistently"),
        (&["-object", "secret,id=s", "-object", "secret,id=s"], "qemu-system-x86_64: -object secret,id=s: Duplicate ID 's' for object"),
        (&["-sandbox", "on,obsolete=x", "-device", "help"], "qemu-system-x86_64: -sandbox on,obsolete=x: invalid argument for obsolete"),
        (&["-M", "pc,smbios-entry-point-type=x", "-accel", "nosuch"], "qemu-system-x86_64: Parameter 'smbios-entry-point-type' does not accept value 'x'"),
        // Accelerators.
        (&["-accel", "kvm", "-machine", "accel=kvm"], "qemu-system-x86_64: The -accel and \"-machine accel=\" options are incompatible"),
        (&["-enable-kvm", "-accel", "kvm"], "qemu-system-x86_64: The -accel and \"-machine accel=\" options are incompatible"),
        (&["-accel", "kvm,kernel-irqchip=bogus"], "qemu-system-x86_64: -accel kvm,kernel-irqchip=bogus: Parameter 'kernel-irqchip' does not accept value 'bogus'"),
    ];
    for (list, expected) in cases {
        assert_eq!(&error(list), expected, "{list:?}");
    }
    // In JSON, `help` is a device name like any other.
    let d = run(&["-device", r#"{"driver":"help"}"#]);
    assert_eq!(
        super::validate_device(&d.devices[0])
            .unwrap_err()
            .to_string(),
        r#"qemu-system-x86_64: -device {"driver":"help"}: 'help' is not a valid device model name"#
    );
    // An unknown accelerator before a usable one is reported, then skipped.
    let d = run(&["-accel", "nosuch", "-accel", "kvm"]);
    assert_eq!(
        d.warnings,
        [
            "qemu-system-x86_64: -accel nosuch: invalid accelerator nosuch",
            "qemu-system-x86_64: falling back to KVM"
        ]
    );
    let d = run(&["-machine", "accel=nosuch:kvm"]);
    assert_eq!(
        d.warnings[0],
        "qemu-system-x86_64: invalid accelerator nosuch"
    );
    assert_eq!(d.accelerators[0].name, "kvm");
    let d = run(&["-machine", "q35,kernel-irqchip=split", "-accel", "kvm"]);
    assert_eq!(d.accelerators[0].properties["kernel-irqchip"], "split");
    assert!(!d.machine.properties.contains_key("kernel-irqchip"));
    let d = run(&[
        "-machine",
        "q35,kernel-irqchip=split",
        "-accel",
        "kvm,kernel-irqchip=off",
    ]);
    assert_eq!(d.accelerators[0].properties["kernel-irqchip"], "off");
    let d = run(&["-accel", "kvm,kernel-irqchip"]);
    assert_eq!(
        d.warnings,
        ["qemu-system-x86_64: -accel kvm,kernel-irqchip: warning: short-form boolean option 'kernel-irqchip' deprecated\nPlease use kernel-irqchip=on instead"]
    );
}

/// Malformed bodies: never a panic, always an answer in QEMU's form.
#[test]
fn malformed_input_gets_qemu_form_errors() {
    let deep = format!("{{\"a\":{}", "[".repeat(5000));
    let huge = "9".repeat(400);
    let bodies = [
        "",
        "=",
        ",",
        ",,",
        ",,,",
        "=,=",
        "a=",
        "=a",
        ",a=1",
        "a==b",
        "a=b,,",
        "\u{0}",
        "a=\u{0}",
        "é=ü",
        "☃",
        "a.b.c.d.e=1,a.b=2",
        "a..=1",
        ".a=1",
        "a.=1",
        "1=1",
        "{",
        "{\"",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":[",
        "{}",
        "{\"driver\":null}",
        "{\"driver\":1}",
        "{\"qom-type\":{}}",
        "{'x':'\\u'}",
        "{\"a\":\"\\ud800\\u0041\"}",
        &deep,
        &huge,
        "help",
        "?",
        "help,help",
        "size=",
        "size=-",
        "size=0x",
        "size=1e",
        "cpus=",
        "cpus=-1",
        "cpus=99999999999999999999",
        "maxcpus=0,cpus=0",
        "sockets=4294967295,cores=4294967295,threads=4294967295",
        "sockets=4294967295,dies=4294967295,threads=4294967295,cpus=1",
        "maxcpus=4294967295,dies=4294967295,cores=4294967295,threads=4294967295",
        "cpus=4294967295",
        "type=",
        "accel=",
    ];
    let options = [
        "-machine",
        "-M",
        "-accel",
        "-m",
        "-smp",
        "-name",
        "-object",
        "-device",
        "-chardev",
        "-netdev",
        "-blockdev",
        "-drive",
        "-audiodev",
        "-display",
        "-serial",
        "-monitor",
        "-qmp",
        "-mon",
        "-debugcon",
        "-uuid",
        "-rtc",
        "-boot",
        "-cpu",
        "-vga",
        "-global",
        "-overcommit",
        "-sandbox",
        "-msg",
        "-nic",
    ];
    for body in &bodies {
        // Device property values, as the machine builder checks them.
        for device_arg in [
            format!("isa-serial,index={body}"),
            format!("{{\"driver\":\"isa-serial\",\"wakeup\":{body}}}"),
        ] {
            if let Ok(Command::Run(d)) = parse_command_line(&args(&["-device", &device_arg])) {
                if let Err(error) = super::validate_device(&d.devices[0]) {
                    assert!(
                        error
                            .to_string()
                            .starts_with("qemu-system-x86_64: -device "),
                        "{error}"
                    );
                }
            }
        }
    }
    for option in options {
        for body in &bodies {
            let list = [option, body];
            if let Err(error) = parse_command_line(&args(&list)) {
                let text = error.to_string();
                assert!(text.starts_with("qemu-system-x86_64: "), "{list:?}: {text}");
            }
        }
    }
}

/// Our help lines in QEMU 7.2's formats and, where QEMU lists the same
/// thing, its very lines.
#[test]
fn help_outputs_follow_qemu() {
    let exit_output = |list: &[&str]| match parse_command_line(&args(list)) {
        Ok(Command::Exit {
            stdout, code: 0, ..
        }) => stdout,
        other => panic!("{list:?}: {other:?}"),
    };
    for (list, file) in [
        (&["-chardev", "help"][..], "chardev-help.txt"),
        (&["-netdev", "help"][..], "netdev-help.txt"),
        (&["-display", "help"][..], "display-help.txt"),
        (&["-object", "help"][..], "object-help.txt"),
        (&["-accel", "help"][..], "accel-help.txt"),
        (&["-machine", "help"][..], "machine-help.txt"),
        (&["-device", "help"][..], "device-help.txt"),
        (&["-device", "isa-serial,help"][..], "device-help.txt"),
    ] {
        let ours = exit_output(list);
        if file == "device-help.txt" && list[1] != "help" {
            assert!(ours.starts_with("isa-serial options:\n"));
            continue;
        }
        let theirs = reference(&format!("qemu-7.2/help/{file}"));
        // The heading, except for `-device help` whose first category
        // has no device implemented.
        if file != "device-help.txt" {
            assert_eq!(ours.lines().next(), theirs.lines().next(), "{list:?}");
        }
        for line in ours.lines().filter(|l| !l.is_empty()) {
            assert!(theirs.lines().any(|l| l == line), "{list:?}: {line:?}");
        }
    }
    // Recorded from QEMU 7.2.
    assert_eq!(
        exit_output(&["-boot", "help"]),
        "boot-opts options:\n  menu=<bool (on/off)>\n  once=<str>\n  order=<str>\n  reboot-timeout=<num>\n  splash-time=<num>\n  splash=<str>\n  strict=<bool (on/off)>\n"
    );
    assert_eq!(
        exit_output(&["-smp", "2,help"]),
        "smp-opts options:\n  clusters=<num>\n  cores=<num>\n  cpus=<num>\n  dies=<num>\n  maxcpus=<num>\n  sockets=<num>\n  threads=<num>\n"
    );
    let none_help = exit_output(&["-machine", "none,help"]);
    assert_eq!(none_help.lines().next(), Some("none-machine options:"));
    assert!(none_help.contains("  usb=<bool>             - Set on/off to enable/disable usb\n"));
    assert!(!none_help.contains("acpi"));
    assert_eq!(
        exit_output(&["-machine", "nosuch,help"]),
        exit_output(&["-machine", "help"])
    );
    // QemuOpts list help: printed, then exit status 1 (QEMU 7.2).
    for (list, first_line) in [
        (&["-rtc", "help"][..], "rtc options:"),
        (&["-m", "1,help"][..], "memory options:"),
        (&["-chardev", "null,help"][..], "chardev options:"),
        (&["-overcommit", "help"][..], "overcommit options:"),
        (&["-name", "guest=x,help"][..], "name options:"),
        (&["-add-fd", "help"][..], "add-fd options:"),
        (&["-global", "help"][..], "global options:"),
    ] {
        match parse_command_line(&args(list)) {
            Ok(Command::Exit {
                stdout, code: 1, ..
            }) => {
                assert_eq!(stdout.lines().next(), Some(first_line))
            }
            other => panic!("{list:?}: {other:?}"),
        }
    }
    assert_eq!(
        error(&["-accel", "kvm,help"]),
        "qemu-system-x86_64: -accel kvm,help: Property 'kvm-accel.help' not found"
    );
    assert_eq!(
        error(&["-sandbox", "help"]),
        "qemu-system-x86_64: -sandbox help: Parameter 'enable' expects 'on' or 'off'"
    );
    assert!(matches!(
        parse_command_line(&args(&["-cpu", "help"])),
        Ok(Command::CpuHelp { .. })
    ));
    let usage = exit_output(&["-h"]);
    let qemu = reference("qemu-7.2/help/help.txt");
    assert_eq!(usage.lines().nth(2), qemu.lines().nth(2), "usage line");
    assert_eq!(usage.lines().nth(4), qemu.lines().nth(4), "disk image line");
    assert_eq!(
        exit_output(&["--version"]),
        format!(
            "{}\n{}\n",
            qapi::version::version_line(),
            qapi::version::COPYRIGHT
        )
    );
}

/// `-add-fd` messages recorded from QEMU 7.2.
#[test]
fn add_fd_checks_the_descriptor() {
    assert_eq!(
        error(&["-add-fd", "fd=1,set=1"]),
        "qemu-system-x86_64: -add-fd fd=1,set=1: fd cannot be a standard I/O stream"
    );
    assert_eq!(
        error(&["-add-fd", "fd=x,set=1"]),
        "qemu-system-x86_64: -add-fd fd=x,set=1: Parameter 'fd' expects a number"
    );
    assert_eq!(
        error(&["-add-fd", "set=1"]),
        "qemu-system-x86_64: -add-fd set=1: fd option is required and must be non-negative"
    );
    assert_eq!(
        error(&["-add-fd", "fd=5,set=1,bogus=2"]),
        "qemu-system-x86_64: -add-fd fd=5,set=1,bogus=2: Invalid parameter 'bogus'"
    );
    // A descriptor Rust opened is close-on-exec: not one a parent passed.
    let file = std::fs::File::open("/dev/null").unwrap();
    let own = std::os::fd::AsRawFd::as_raw_fd(&file).to_string();
    let body = format!("fd={own},set=1");
    assert!(error(&["-add-fd", &body]).ends_with(": fd is not valid or already in use"));
    // SAFETY: dup of an open descriptor; the copy is inheritable.
    let inherited = unsafe { libc::dup(std::os::fd::AsRawFd::as_raw_fd(&file)) };
    let body = format!("fd={inherited}");
    assert!(
        error(&["-add-fd", &body]).ends_with(": set option is required and must be non-negative")
    );
    let body = format!("fd={inherited},set=3,opaque=disk");
    let d = run(&["-add-fd", &body]);
    assert_eq!(
        (
            d.add_fds[0].fd,
            d.add_fds[0].set,
            d.add_fds[0].opaque.as_deref()
        ),
        (inherited, 3, Some("disk"))
    );
    // SAFETY: closing the descriptor dup'ed above.
    unsafe { libc::close(inherited) };
}

/// Options listed as implemented are parsed; every other QEMU option is
/// refused in QEMU's words rather than ignored.
#[test]
fn unimplemented_options_are_refused() {
    use super::options::IMPLEMENTED_OPTIONS;
    use super::options::QEMU_OPTIONS;
    // Accepted, but left out of -help as in QEMU.
    const UNLISTED_OPTIONS: &[&str] = &["qtest", "qtest-log"];
    const REFUSAL: &str = "Option not supported for this target";
    for (name, takes_argument) in QEMU_OPTIONS {
        let option = format!("-{name}");
        let list: Vec<&str> = if *takes_argument {
            vec![&option, "x"]
        } else {
            vec![&option]
        };
        let listed = IMPLEMENTED_OPTIONS.iter().find(|(known, ..)| known == name);
        let implemented = listed.is_some() || UNLISTED_OPTIONS.contains(name);
        if let Some((_, synopsis, _)) = listed {
            assert_eq!(
                !synopsis.is_empty(),
                *takes_argument,
                "-help synopsis of -{name}"
            );
        }
        let refused = match parse_command_line(&args(&list)) {
            Err(error) => {
                error.to_string() == format!("qemu-system-x86_64: {}: {REFUSAL}", list.join(" "))
            }
            Ok(_) => false,
        };
        assert_eq!(refused, !implemented, "{list:?}");
    }
}

/// `-qtest`, `-qtest-log` and the qtest accelerator.
#[test]
fn qtest_options() {
    // QEMU 7.2's messages for a bad qtest chardev.
    assert_eq!(
        error(&["-qtest", "bogus:x"]),
        "qemu-system-x86_64: 'bogus:x' is not a valid char driver\n\
         qemu-system-x86_64: Failed to initialize device for qtest: \"bogus:x\""
    );
    assert_eq!(
        error(&["-qmp", "stdio", "-qtest", "stdio"]),
        "qemu-system-x86_64: cannot use stdio by multiple character devices\n\
         qemu-system-x86_64: Failed to initialize device for qtest: \"stdio\""
    );
    // The qtest accelerator has no properties; QEMU names its type as it
    // does kvm-accel's.
    assert_eq!(
        error(&["-accel", "qtest,foo=1"]),
        "qemu-system-x86_64: -accel qtest,foo=1: Property 'qtest-accel.foo' not found"
    );

    let d = run(&[
        "-qtest",
        "unix:/tmp/q.sock,server=on,wait=off",
        "-qtest-log",
        "/dev/null",
    ]);
    let qtest = d.qtest.expect("-qtest");
    assert_eq!(qtest.chardev, "qtest");
    assert_eq!(
        qtest.log.as_deref(),
        Some(std::path::Path::new("/dev/null"))
    );
    let chardev = d
        .chardevs
        .iter()
        .find(|c| c.id == "qtest")
        .expect("chardev");
    assert_eq!(chardev.backend, "socket");
    // With no TCG, a lone -qtest selects qtest.
    assert_eq!(d.accelerators[0].name, "qtest");
    assert_eq!(
        run(&["-machine", "accel=qtest"]).accelerators[0].name,
        "qtest"
    );
    // An invalid accelerator before qtest is reported, with no word of
    // falling back while a qtest harness drives the machine.
    let d = run(&["-accel", "tcg", "-accel", "qtest", "-qtest", "stdio"]);
    assert_eq!(
        d.warnings,
        ["qemu-system-x86_64: -accel tcg: invalid accelerator tcg"]
    );
}

/// libvirt's capability probe (LIBVIRT.md).
#[test]
fn libvirt_probe_command_line() {
    let d = run(&[
        "-S",
        "-no-user-config",
        "-nodefaults",
        "-nographic",
        "-machine",
        "none,accel=kvm:tcg",
        "-qmp",
        "unix:/run/probe/qmp.monitor,server=on,wait=off",
        "-pidfile",
        "/run/probe/qmp.pid",
        "-daemonize",
    ]);
    assert_eq!(d.machine.type_name, "none");
    assert_eq!(d.accelerators.len(), 1);
    assert_eq!(d.accelerators[0].name, "kvm");
    assert!(
        d.warnings.is_empty(),
        "tcg is never tried once kvm is chosen"
    );
    assert_eq!(d.monitors.len(), 1);
    assert_eq!(d.monitors[0].mode, MonitorMode::Control);
    let chardev = d
        .chardevs
        .iter()
        .find(|c| c.id == d.monitors[0].chardev)
        .unwrap();
    assert_eq!(chardev.backend, "socket");
    assert_eq!(chardev.properties["path"], "/run/probe/qmp.monitor");
    assert_eq!(chardev.properties["server"], "on");
    assert_eq!(chardev.properties["wait"], "off");
    assert!(d.lifecycle.daemonize && d.lifecycle.start_paused);
    assert_eq!(
        d.lifecycle.pidfile.as_deref(),
        Some(Path::new("/run/probe/qmp.pid"))
    );
    assert!(d.serials.is_empty() && d.parallels.is_empty() && d.display.vga.is_none());
}

/// The command lines of `qemuopts-probe.txt` (QEMU 7.2 started, then
/// asked over QMP): those QEMU accepted parse, and what QEMU reported
/// about name, memory and topology is what the description says.
#[test]
fn qemuopts_probe_results() {
    let text = reference("qemu-7.2/cli/qemuopts-probe.txt");
    // Each case: arguments, QEMU's exit status, (query, answer) pairs.
    type ProbeCase = (Vec<String>, i32, Vec<(String, Value)>);
    let mut cases: Vec<ProbeCase> = Vec::new();
    for line in text.lines() {
        if let Some(command) = line.strip_prefix("$ qemu-system-x86_64 ") {
            let argv = command
                .split_whitespace()
                .map(|word| word.replace("SCRATCH", "/tmp/scratch"))
                .collect();
            cases.push((argv, 0, Vec::new()));
        } else if let Some(status) = line.strip_prefix("exit ") {
            if let Some(case) = cases.last_mut() {
                case.1 = status
                    .split(' ')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap();
            }
        } else if let Some((query, answer)) = line.trim().split_once(" => ") {
            // Long answers are cut short in the file; those are skipped.
            if let (Some(case), Ok(answer)) =
                (cases.last_mut(), serde_json::from_str::<Value>(answer))
            {
                case.2.push((query.to_owned(), answer["return"].clone()));
            }
        }
    }
    assert!(cases.len() > 20);
    let mut compared = 0;
    for (argv, status, answers) in cases {
        let parsed = parse_command_line(&argv);
        if status != 0 {
            continue;
        }
        let description = match parsed {
            Ok(Command::Run(description)) => description,
            // Machine types not implemented are refused.
            Err(error) if argv.iter().any(|a| a.contains("microvm")) => {
                assert!(error.to_string().contains("unsupported machine type"));
                continue;
            }
            other => panic!("{argv:?}: {other:?}"),
        };
        for (query, answer) in answers {
            compared += 1;
            if query == "query-name" {
                assert_eq!(
                    description.name.as_ref().and_then(|n| n.guest.as_deref()),
                    answer["name"].as_str()
                );
            } else if query == "query-memory-size-summary" {
                assert_eq!(
                    Some(description.memory.size),
                    answer["base-memory"].as_u64(),
                    "{argv:?}"
                );
            } else if query.contains("\"property\": \"smp\"") {
                let smp = description.smp;
                let ours = [
                    smp.cpus,
                    smp.max_cpus,
                    smp.sockets,
                    smp.dies,
                    smp.clusters,
                    smp.cores,
                    smp.threads,
                ];
                let keys = [
                    "cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads",
                ];
                let theirs: Vec<Option<u64>> = keys.iter().map(|k| answer[k].as_u64()).collect();
                let ours: Vec<Option<u64>> = ours.iter().map(|v| Some(u64::from(*v))).collect();
                assert_eq!(ours, theirs, "{argv:?}");
            } else if query.contains("\"property\": \"memory\"") {
                let memory = &description.memory;
                assert_eq!(Some(memory.size), answer["size"].as_u64());
                assert_eq!(Some(memory.slots), answer["slots"].as_u64());
                assert_eq!(memory.max_size, answer["max-size"].as_u64());
            } else if query.contains("\"property\": \"usb\"") {
                let usb = description.machine.properties["usb"]
                    .as_str()
                    .and_then(super::qdict::parse_bool);
                assert_eq!(usb, answer.as_bool());
            } else {
                compared -= 1;
            }
        }
    }
    assert!(compared >= 15, "{compared} answers compared");
}

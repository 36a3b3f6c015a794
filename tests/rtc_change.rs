//! QMP's `RTC_CHANGE`: a guest sets the CMOS clock as an operating system
//! does, and the event names the RTC by its QOM path and gives the new
//! offset from the host clock, as QEMU 7.2 gives them; a second change
//! right after waits for the end of the second, as QEMU sends at most one
//! such event a second.

mod common;
mod qmp_client;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use common::{guest, Guest, BOOT_TIMEOUT, QEMU, RQEMU};
use qmp_client::{machine_args, scratch, start_with_qmp};

/// 2030-01-02T03:04:05Z, the date the RTC guest sets first; it then
/// moves the clock a minute on.
const GUEST_DATE: i64 = 1_893_553_445;

/// What one emulator announced.
#[derive(Debug)]
struct Announced {
    /// The `RTC_CHANGE` events' `data`, with when each arrived.
    events: Vec<(Value, Instant)>,
    /// The host time when the first of them arrived, in whole seconds.
    arrived_at: i64,
    serial: String,
}

fn host_secs() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(now.as_secs()).expect("seconds fit")
}

/// The complete lines of `buffer`, which loses them.
fn take_lines(buffer: &mut Vec<u8>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") {
        let line: Vec<u8> = buffer.drain(..end + 2).collect();
        lines.push(String::from_utf8_lossy(&line[..end]).into_owned());
    }
    lines
}

/// Boots the RTC guest on `machine` paused, starts it once a QMP client
/// listens, and collects the `RTC_CHANGE` events until the guest has said
/// it set the clock and two seconds have passed.
fn announced(program: &str, machine: &str) -> Announced {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = scratch(&format!("rtc-{}", COUNT.fetch_add(1, Ordering::Relaxed)));
    let socket = dir.join("qmp.sock");
    let serial = dir.join("serial.txt");
    let kernel = guest(Guest::Rtc);
    let args = machine_args(
        machine,
        &[
            "-S",
            "-m",
            "128M",
            "-rtc",
            "base=utc",
            "-serial",
            &format!("file:{}", serial.display()),
            "-kernel",
            &kernel.display().to_string(),
        ],
    );
    let (_vm, mut client) = start_with_qmp(program, &args, &socket);
    client.send(br#"{"execute":"cont"}"#);

    let start = Instant::now();
    let mut buffer = Vec::new();
    let mut events = Vec::new();
    let mut arrived_at = None;
    let mut guest_done_at = None;
    loop {
        assert!(
            start.elapsed() < BOOT_TIMEOUT,
            "{program} -M {machine}: no RTC_CHANGE; serial: {:?}",
            std::fs::read_to_string(&serial).unwrap_or_default()
        );
        let chunk = client.read_for(Duration::from_millis(50));
        let now = host_secs();
        let arrival = Instant::now();
        buffer.extend_from_slice(&chunk);
        for line in take_lines(&mut buffer) {
            let message: Value = serde_json::from_str(&line).expect("a JSON message");
            if message["event"] == "RTC_CHANGE" {
                arrived_at.get_or_insert(now);
                events.push((message["data"].clone(), arrival));
            }
        }
        let said = std::fs::read_to_string(&serial).unwrap_or_default();
        if guest_done_at.is_none() && said.contains("year 2030\n") {
            guest_done_at = Some(Instant::now());
        }
        if guest_done_at.is_some_and(|at| at.elapsed() > Duration::from_secs(2)) {
            return Announced {
                events,
                arrived_at: arrived_at
                    .unwrap_or_else(|| panic!("{program} -M {machine}: no RTC_CHANGE")),
                serial: said,
            };
        }
    }
}

#[test]
fn setting_the_rtc_is_announced_as_in_qemu() {
    for machine in ["pc", "q35"] {
        let reference = thread::spawn(move || announced(QEMU, machine));
        let ours = announced(RQEMU, machine);
        let qemu = reference.join().expect("QEMU run");
        for run in [&ours, &qemu] {
            assert_eq!(run.events.len(), 2, "-M {machine}: {:?}", run.events);
            assert!(
                run.serial.contains("rtc guest: set, year 2030\n"),
                "{}",
                run.serial
            );
            // The guest made both changes at once; the second waited.
            let gap = run.events[1].1 - run.events[0].1;
            assert!(
                gap > Duration::from_millis(800),
                "-M {machine}: {gap:?} between the events"
            );
        }
        let offset = |event: &Value| event["offset"].as_i64().expect("an integer offset");
        for index in 0..2 {
            let (ours_event, qemu_event) = (&ours.events[index].0, &qemu.events[index].0);
            assert_eq!(
                ours_event["qom-path"], qemu_event["qom-path"],
                "-M {machine}"
            );
            // The offset is the guest's date less the host's clock when the
            // guest set it: just before the first event arrived. The two
            // emulators ran at different moments, so the dates they imply
            // are compared.
            let guest_date = GUEST_DATE + 60 * index as i64;
            for (who, run, event) in [("ours", &ours, ours_event), ("QEMU", &qemu, qemu_event)] {
                let expected = guest_date - run.arrived_at;
                assert!(
                    (offset(event) - expected).abs() <= 2,
                    "-M {machine}, {who}: offset {} but the guest set {guest_date} at about {}",
                    offset(event),
                    run.arrived_at
                );
            }
            let implied = |run: &Announced, event| offset(event) + run.arrived_at;
            assert!(
                (implied(&ours, ours_event) - implied(&qemu, qemu_event)).abs() <= 2,
                "-M {machine}: {ours:?} vs {qemu:?}"
            );
        }
    }
}

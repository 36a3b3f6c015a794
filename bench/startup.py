#!/usr/bin/env python3
"""Start-up benchmark: exec to guest exit, and peak RSS, side by side with
Debian's QEMU 7.2 in one run.

A PVH guest that exits through isa-debug-exit at its first instruction is
booted by this binary (`-M pc`, direct kernel boot), by QEMU `-M microvm`
and by QEMU `-M pc`. Runs are interleaved (ours, QEMU microvm, QEMU pc,
ours, ...); each side's median, minimum and maximum are printed with the
ratios of the medians.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
QEMU = "/usr/bin/qemu-system-x86_64"
COMMON = ["-m", "128", "-nodefaults", "-display", "none",
          "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


def build_guest(directory):
    """Assemble and link the exit-at-once PVH guest."""
    out = os.path.join(directory, "exit-at-once.elf")
    subprocess.run(
        ["gcc", "-m32", "-nostdlib", "-static", "-Wl,--build-id=none",
         "-Wl,-Ttext=0x100000", "-Wl,--section-start=.note.Xen=0x100100",
         "-Wl,-e,pvh_entry", "-o", out,
         os.path.join(HERE, "guests", "exit-at-once.S")],
        check=True)
    return out


def build_spawn(directory):
    """Compile the small static program that runs and measures each side."""
    out = os.path.join(directory, "spawn")
    subprocess.run(["gcc", "-O2", "-static", "-o", out,
                    os.path.join(HERE, "spawn.c")], check=True)
    return out


def run_once(spawn, argv):
    """Exec argv; return (seconds from exec to exit, peak RSS in KiB)."""
    out = subprocess.run([spawn] + argv, check=True, capture_output=True,
                         text=True).stdout.split()
    nanoseconds, maxrss, status = (int(x) for x in out)
    # The guest writes 0 to isa-debug-exit: exit status (0 << 1) | 1.
    if status != 1:
        sys.exit(f"{argv[0]} exited with {status}, expected 1")
    return nanoseconds / 1e9, maxrss


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11,
                        help="runs of each side (at least 7)")
    args = parser.parse_args()
    runs = max(args.runs, 7)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=TOP,
                   check=True)
    ours_bin = os.path.join(TOP, "target", "release", "qemu-system-x86_64")
    with tempfile.TemporaryDirectory() as tmp:
        guest = build_guest(tmp)
        spawn = build_spawn(tmp)
        sides = {
            "ours -M pc": [ours_bin, "-M", "pc"] + COMMON + ["-kernel", guest],
            "QEMU -M microvm": [QEMU, "-M", "microvm", "-accel", "kvm"]
                               + COMMON + ["-kernel", guest],
            "QEMU -M pc": [QEMU, "-M", "pc", "-accel", "kvm"]
                          + COMMON + ["-kernel", guest],
        }
        times = {name: [] for name in sides}
        rss = {name: [] for name in sides}
        for _ in range(runs):
            for name, argv in sides.items():
                t, m = run_once(spawn, argv)
                times[name].append(t)
                rss[name].append(m)

    print(f"exec to guest exit and peak RSS, {runs} interleaved runs each")
    print(f"{'side':<18} {'median ms':>10} {'min':>8} {'max':>8}"
          f" {'RSS MiB':>8} {'min':>7} {'max':>7}")
    for name in sides:
        t = [x * 1000 for x in summary(times[name])]
        m = [x / 1024 for x in summary(rss[name])]
        print(f"{name:<18} {t[0]:>10.1f} {t[1]:>8.1f} {t[2]:>8.1f}"
              f" {m[0]:>8.1f} {m[1]:>7.1f} {m[2]:>7.1f}")
    ours_t = statistics.median(times["ours -M pc"])
    ours_m = statistics.median(rss["ours -M pc"])
    for other in ("QEMU -M microvm", "QEMU -M pc"):
        print(f"ratio ours/{other}: time "
              f"{ours_t / statistics.median(times[other]):.3f}, peak RSS "
              f"{ours_m / statistics.median(rss[other]):.3f}")


if __name__ == "__main__":
    main()

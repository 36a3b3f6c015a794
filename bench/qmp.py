#!/usr/bin/env python3
"""QMP benchmark: exec to greeting, query-status round trip and idle RSS,
side by side with Debian's QEMU 7.2 in one run.

Both sides run `-M none -S -nodefaults -display none` with a QMP monitor on
a unix socket. The benchmark listens on the socket and the emulator
connects to it (`-qmp unix:PATH`, client mode), so the greeting time is
from just before exec to the greeting's last byte read, with no polling
for a server socket to appear. The same raw-socket client (no QMP library)
then negotiates capabilities and sends `query-status` one at a time,
waiting for each reply; after that the emulator's resident set (VmRSS)
is read while it idles. Runs are interleaved (ours, QEMU, ours, ...); each
side's median, minimum and maximum are printed with the ratios of the
medians, ours / QEMU, against the targets.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
QEMU = "/usr/bin/qemu-system-x86_64"
COMMON = ["-M", "none", "-S", "-nodefaults", "-display", "none"]
QUERY_STATUS = b'{"execute": "query-status"}\n'
# Ratio ours / QEMU each measure should stay under.
TARGETS = {"greeting": 0.2, "round trip": 0.2, "idle RSS": 0.25}


class Client:
    """A QMP client on a raw stream socket, reading whole lines."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def line(self):
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                sys.exit("the emulator closed the QMP connection")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def command(self, request):
        """Sends request; returns its reply, skipping the events before it
        (quit's SHUTDOWN)."""
        self.sock.sendall(request)
        reply = self.line()
        while reply.startswith(b'{"timestamp"'):
            reply = self.line()
        if not reply.startswith(b'{"return"'):
            sys.exit(f"unexpected reply {reply!r} to {request!r}")
        return reply


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    sys.exit(f"no VmRSS for process {pid}")


def run_once(binary, calls, directory):
    """Start binary; return (greeting seconds, seconds per query-status
    round trip, idle RSS in KiB)."""
    path = os.path.join(directory, "qmp.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    start = time.perf_counter()
    emulator = subprocess.Popen([binary] + COMMON + ["-qmp", f"unix:{path}"],
                                stdin=subprocess.DEVNULL)
    try:
        sock, _ = listener.accept()
        client = Client(sock)
        greeting = client.line()
        greeting_time = time.perf_counter() - start
        if not greeting.startswith(b'{"QMP"'):
            sys.exit(f"{binary}: unexpected greeting {greeting!r}")
        client.command(b'{"execute": "qmp_capabilities"}\n')
        start = time.perf_counter()
        for _ in range(calls):
            client.command(QUERY_STATUS)
        round_trip = (time.perf_counter() - start) / calls
        time.sleep(0.2)
        rss = resident_kib(emulator.pid)
        client.command(b'{"execute": "quit"}\n')
        emulator.wait(timeout=10)
        sock.close()
    finally:
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait()
        listener.close()
        os.unlink(path)
    return greeting_time, round_trip, rss


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11,
                        help="runs of each side (at least 5)")
    parser.add_argument("--calls", type=int, default=2000,
                        help="query-status round trips per run")
    args = parser.parse_args()
    runs = max(args.runs, 5)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=TOP,
                   check=True)
    sides = {
        "ours": os.path.join(TOP, "target", "release", "qemu-system-x86_64"),
        "QEMU 7.2": QEMU,
    }
    results = {name: {m: [] for m in TARGETS} for name in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for name, binary in sides.items():
                greeting, round_trip, rss = run_once(binary, args.calls, tmp)
                results[name]["greeting"].append(greeting * 1e3)
                results[name]["round trip"].append(round_trip * 1e6)
                results[name]["idle RSS"].append(rss / 1024)

    units = {"greeting": "ms", "round trip": "us", "idle RSS": "MiB"}
    print(f"-M none -S, QMP on a unix socket; {runs} interleaved runs each, "
          f"{args.calls} query-status calls a run")
    print(f"{'measure':<12} {'side':<9} {'median':>9} {'min':>9} {'max':>9}")
    for measure in TARGETS:
        for name in sides:
            m = summary(results[name][measure])
            print(f"{measure:<12} {name:<9} {m[0]:>9.2f} {m[1]:>9.2f}"
                  f" {m[2]:>9.2f} {units[measure]}")
    missed = []
    for measure, target in TARGETS.items():
        ratio = (statistics.median(results["ours"][measure])
                 / statistics.median(results["QEMU 7.2"][measure]))
        verdict = "met" if ratio <= target else "MISSED"
        if ratio > target:
            missed.append(measure)
        print(f"ratio ours/QEMU {measure}: {ratio:.3f} "
              f"(target <= {target}: {verdict})")
    if missed:
        print(f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()

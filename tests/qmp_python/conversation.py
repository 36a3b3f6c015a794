#!/usr/bin/env python3
"""Talks to a QMP monitor with QEMU's own Python library, qemu.qmp, the way
QEMU's scripts and iotests do, and prints what each client saw.

Usage: conversation.py SOCKET

The monitor is a unix socket server. Three clients take turns on it: the
asyncio QMPClient, then qmp-shell typed at in a pseudo-terminal, then the
legacy synchronous QEMUMonitorProtocol, which ends with `quit`. Every
reply and every event a command raised is printed, one JSON line per
step, with what differs from build to build masked (event timestamps, the
micro version and the package string). tests/qmp_python.rs runs this
against rqemu and against QEMU 7.2 and compares the outputs.
"""

import asyncio
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

from qemu.qmp import ConnectError, ExecuteError, QMPClient
from qemu.qmp.legacy import QEMUMonitorProtocol

# What the QMPClient and the legacy client each run, in order: one line per
# command, (name, arguments). Both runs are compared with QEMU 7.2's.
# Answers whose list order is that of QEMU's hash tables (query-machines,
# query-cpu-definitions, qom-list, qom-list-types, qom-list-properties,
# device-list-properties) cannot be compared line for line and are not here.
COMMANDS = [
    ("query-version", {}),
    ("query-status", {}),
    ("query-name", {}),
    ("query-uuid", {}),
    ("query-kvm", {}),
    ("query-target", {}),
    ("stop", {}),
    ("query-status", {}),
    ("cont", {}),
    ("query-status", {}),
    ("stop", {}),
    ("system_reset", {}),
    ("query-status", {}),
    ("cont", {}),
    ("query-status", {"verbose": True}),
    ("query-jobs", {}),
    ("query-iothreads", {}),
    ("query-balloon", {}),
    ("query-migrate", {}),
    ("inject-nmi", {}),
    ("system_powerdown", {}),
    ("system_wakeup", {}),
    ("pmemsave", {"val": 0, "size": 16, "filename": "/dev/null"}),
    ("query-command-line-options", {"option": "bogus"}),
    ("query-chardev", {}),
    ("chardev-add", {"id": "c0", "backend": {"type": "null", "data": {}}}),
    ("query-chardev", {}),
    ("chardev-remove", {"id": "c0"}),
    ("chardev-remove", {"id": "c0"}),
    ("send-key", {"keys": [{"type": "qcode", "data": "a"}]}),
    ("qom-get", {"path": "/machine", "property": "type"}),
    ("qom-set", {"path": "/machine", "property": "bogus", "value": 1}),
    ("query-cpus-fast", {}),
    ("query-hotpluggable-cpus", {}),
    ("query-cpu-model-expansion",
     {"type": "static", "model": {"name": "qemu64"}}),
    ("memsave", {"val": 0, "size": 16, "filename": "/dev/null"}),
    ("human-monitor-command", {"command-line": "info status"}),
    ("getfd", {"fdname": "x"}),
    ("closefd", {"fdname": "x"}),
    ("add-fd", {}),
    ("remove-fd", {"fdset-id": 1}),
    ("query-fdsets", {}),
    ("no-such-command", {}),
]

# Commands whose answer lists what the emulator has: ours is a part of
# QEMU's (each entry with a name QEMU lists too), so the report gives the
# entries and the Rust side checks the relation. The third member names
# what an entry is compared by (None: all of it): the schema's type
# numbers differ with the schema's size, and query-machines differs by
# the declared hotpluggable-cpus.
LISTING_COMMANDS = [
    ("query-commands", {}, ["name"]),
    ("query-qmp-schema", {}, ["name", "meta-type"]),
    ("query-machines", {}, ["name", "alias", "cpu-max", "default-cpu-type",
                            "default-ram-id", "deprecated", "is-default",
                            "numa-mem-supported"]),
    ("query-cpu-definitions", {}, None),
    ("qom-list", {"path": "/machine"}, None),
    ("qom-list-types", {"implements": "device"}, None),
    ("qom-list-properties", {"typename": "memory-backend-ram"}, None),
    ("device-list-properties", {"typename": "isa-serial"}, None),
    ("query-migrate-capabilities", {}, None),
    ("migrate-set-capabilities", {"capabilities": []}, None),
]

# What is typed at qmp-shell's prompt, one command a line.
SHELL_LINES = [
    "query-status",
    "query-target",
    "query-name",
    "stop",
    "query-command-line-options option=bogus",
    "bogus-command",
]

# How long a client may take to connect or to get a reply.
TIMEOUT = 10.0


def masked(value):
    """value with the members that differ from build to build replaced."""
    if isinstance(value, dict):
        out = {}
        for key, member in value.items():
            if key in ("timestamp", "package", "micro"):
                out[key] = f"<{key}>"
            else:
                out[key] = masked(member)
        return out
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def report(client, step, **result):
    print(json.dumps({"client": client, "step": step, **masked(result)}),
          flush=True)


async def connect_async(socket):
    """A QMPClient connected and negotiated; retries while the socket file
    exists but the server does not listen yet."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        qmp = QMPClient("conversation")
        try:
            await qmp.connect(socket)
            return qmp
        except ConnectError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def asyncio_client(socket):
    qmp = await connect_async(socket)
    report("QMPClient", "greeting", greeting=qmp.greeting._asdict())
    for name, arguments in COMMANDS:
        try:
            reply = {"return": await asyncio.wait_for(
                qmp.execute(name, arguments), TIMEOUT)}
        except ExecuteError as error:
            reply = {"error": {"class": error.error_class,
                               "desc": error.error.error.desc}}
        events = [dict(event) for event in qmp.events.clear()]
        report("QMPClient", name, arguments=arguments, reply=reply,
               events=events)
    for name, arguments, compared in LISTING_COMMANDS:
        reply = await asyncio.wait_for(qmp.execute(name, arguments), TIMEOUT)
        if name == "query-qmp-schema":
            # Type entries are named by numbers that depend on the
            # schema's size: compare the commands and events.
            reply = [e for e in reply if e["meta-type"] in ("command", "event")]
        report("QMPClient listing", name, arguments=arguments,
               compared=compared, reply=reply)
    await qmp.disconnect()


def read_until(master, marker, deadline):
    """Reads the pseudo-terminal until marker arrives (with marker None:
    until it closes)."""
    data = b""
    while marker is None or marker not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit(f"qmp-shell: no {marker!r} in time; got {data!r}")
        ready, _, _ = select.select([master], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the shell closed the terminal
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").replace("\r\n", "\n")


def qmp_shell(socket):
    """qmp-shell in a pseudo-terminal: each line typed at its prompt and
    the screen text it answered with."""
    prompt = b"(QEMU) "
    master, slave = pty.openpty()
    environment = dict(os.environ, TERM="dumb")
    shell = subprocess.Popen(
        [sys.executable, "-m", "qemu.qmp.qmp_shell", socket],
        stdin=slave, stdout=slave, stderr=slave, env=environment,
        close_fds=True)
    os.close(slave)
    try:
        deadline = time.monotonic() + TIMEOUT
        banner = read_until(master, prompt, deadline)
        # "Connected to QEMU 7.2.N": the micro version differs by build.
        banner = re.sub(r"(Connected to QEMU \d+\.\d+)\.\d+", r"\1.<micro>",
                        banner)
        report("qmp-shell", "banner", screen=banner)
        for line in SHELL_LINES:
            os.write(master, line.encode() + b"\n")
            screen = read_until(master, prompt, time.monotonic() + TIMEOUT)
            report("qmp-shell", line, screen=screen)
        os.write(master, b"\x04")  # end of input: the shell exits
        read_until(master, None, time.monotonic() + TIMEOUT)
        report("qmp-shell", "exit", status=shell.wait(timeout=TIMEOUT))
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
        os.close(master)


def legacy_client(socket):
    qmp = QEMUMonitorProtocol(socket)
    qmp.settimeout(TIMEOUT)
    report("QEMUMonitorProtocol", "greeting", greeting=qmp.connect())
    for name, arguments in COMMANDS + [("quit", {})]:
        reply = qmp.cmd_raw(name, arguments)
        report("QEMUMonitorProtocol", name, arguments=arguments, reply=reply,
               events=qmp.get_events())
    try:
        qmp.close()
    except EOFError:
        # After quit the emulator may close the stream before the client
        # does; QEMU's own machine.py expects the same.
        pass


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} SOCKET")
    socket = sys.argv[1]
    asyncio.run(asyncio_client(socket))
    qmp_shell(socket)
    legacy_client(socket)


if __name__ == "__main__":
    main()

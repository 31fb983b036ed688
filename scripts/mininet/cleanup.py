"""What a Mininet network leaves behind when its Python process dies without stopping it, found
and removed one by one (by process id and interface name), never by a broad pattern.

Mininet's names are global: its switches are bridges named s1, s2 in this machine's own
namespace, with ports named s1-eth1, ... So two networks cannot run at once, and a network
started over the remains of a crashed one would fight them; ``busy_reason`` says so first.

What Mininet makes and how it is found here:
- a shell per node, started as ``bash --norc --noediting -is mininet:NAME``; each host's shell
  holds the host's network namespace (unnamed, so ``ip netns`` does not list it), and so does
  every program started in the host;
- veth pairs, whose end in this machine's namespace is a switch port ``sK-ethN``;
- bridges ``sK``;
- from links.py, nftables tables ``netlab_loss_*`` holding switch ports' loss rules;
- a lab program a run started and never stopped: it keeps its host's namespace alive after the
  host's shell is gone. Found as a process running a lab binary (in NETLAB_BIN_DIR) in a network
  namespace that is neither this machine's own nor a named one (``ip netns``, as
  compare-protocols makes).

(``mn -c`` cleans too, but it also kills every ``ping`` and ``controller`` on the machine and
deletes /tmp/*.log and /tmp/*.out, whoever they belong to.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

from links import NFT_TABLE_PREFIX

SWITCH = re.compile(r"^s\d+$")
PORT = re.compile(r"^[a-z]+\d+-eth\d+$")


def node_shells() -> dict[int, str]:
    """Mininet's node shells: pid -> node name."""
    shells = {}
    for pid in pids():
        argv = read_argv(pid)
        if len(argv) >= 2 and argv[0].endswith("bash") and argv[-1].startswith("mininet:"):
            shells[pid] = argv[-1].removeprefix("mininet:")
    return shells


def pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def read_argv(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return [arg.decode(errors="replace") for arg in cmdline.read().split(b"\0") if arg]
    except OSError:
        return []  # it exited meanwhile, or is a kernel thread


def net_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def links() -> list[dict]:
    """This namespace's interfaces, as `ip -json link` describes them."""
    output = subprocess.run(["ip", "-json", "link", "show"], capture_output=True, text=True)
    try:
        return json.loads(output.stdout or "[]")
    except json.JSONDecodeError:
        return []


def leftover_interfaces() -> list[str]:
    """Mininet-named bridges and switch ports in this machine's namespace."""
    names = []
    for link in links():
        name = link.get("ifname", "")
        kind = link.get("linkinfo", {}).get("info_kind", "")
        if PORT.match(name) or (SWITCH.match(name) and kind == "bridge"):
            names.append(name)
    return names


def loss_tables() -> list[str]:
    output = subprocess.run(["nft", "list", "tables", "netdev"], capture_output=True, text=True)
    return [
        line.split()[-1] for line in output.stdout.splitlines()
        if line.split()[-1:] and line.split()[-1].startswith(NFT_TABLE_PREFIX)
    ]


def busy_reason() -> str | None:
    """Why a new network cannot start now, or None."""
    shells = node_shells()
    if shells:
        listed = ", ".join(f"{name} (pid {pid})" for pid, name in sorted(shells.items()))
        return (f"another Mininet network is running (node shells {listed}); end it, or run "
                "`mininet-lab clean` if it crashed")
    leftovers = leftover_interfaces()
    if leftovers:
        return (f"a crashed Mininet run left {', '.join(leftovers)} behind; "
                "run `mininet-lab clean`")
    return None


def named_namespaces() -> set[str]:
    """The namespaces `ip netns` names, as /proc/PID/ns/net links read (`net:[INODE]`)."""
    found = set()
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        try:
            found.add(f"net:[{os.stat(os.path.join('/run/netns', name)).st_ino}]")
        except OSError:
            pass
    return found


def stray_lab_programs(own_namespace: str | None) -> list[int]:
    """Lab binaries running in an unnamed namespace other than this machine's."""
    bin_dir = os.environ.get("NETLAB_BIN_DIR")
    if not bin_dir:
        return []
    named = named_namespaces()
    stray = []
    for pid in pids():
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        namespace = net_namespace(pid)
        if (os.path.dirname(exe) == bin_dir and namespace not in (None, own_namespace)
                and namespace not in named):
            stray.append(pid)
    return stray


def clean() -> int:
    """Removes everything listed in the module doc; prints each thing it removes."""
    removed = 0
    shells = node_shells()
    own_namespace = net_namespace(os.getpid())
    namespaces = {net_namespace(pid) for pid in shells} - {None, own_namespace}
    inside = [pid for pid in pids() if pid not in shells and net_namespace(pid) in namespaces]
    inside += [pid for pid in stray_lab_programs(own_namespace) if pid not in inside]
    for pid in inside + sorted(shells):
        name = shells.get(pid) or " ".join(read_argv(pid))[:60]
        print(f"  stopping pid {pid}: {'shell of ' + name if pid in shells else name}")
        stop(pid)
        removed += 1
    for name in leftover_interfaces():
        subprocess.run(["ip", "link", "delete", name], capture_output=True)
        print(f"  deleted interface {name}")
        removed += 1
    for table in loss_tables():
        subprocess.run(["nft", "delete", "table", "netdev", table], capture_output=True)
        print(f"  deleted nftables table netdev {table}")
        removed += 1
    print("mininet-lab: clean" if removed else "mininet-lab: nothing to clean")
    return 0


def stop(pid: int) -> None:
    """SIGTERM, and SIGKILL if it is still there after 2 seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(20):
            time.sleep(0.1)
            os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

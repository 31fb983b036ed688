"""A network for one session or one scenario: started, shaped, described, and always stopped.

``Lab`` is a context manager. Entering it builds the topology, starts it, shapes its links and
prints what it built; leaving it (normally, on an error, or on Ctrl-C) stops every program the
scenario started, then the network: Mininet ends each host's shell, deletes the veth pairs and
the bridges, and the loss rules go with them. A host's network namespace lives as long as any
process is inside it, which is why the programs are stopped first and waited for.
"""

from __future__ import annotations

import os
import signal
import sys

from links import KernelSupport, Shape, apply_shape, clear_intf
from programs import Program
from topologies import make_topology, network, shaped_links


def say(line: str = "") -> None:
    """Prints one line of the transcript at once (the output may be a pipe)."""
    print(line, flush=True)


class Lab:
    def __init__(self, topology: str, shape: Shape, hosts: int = 3):
        self.topology = topology
        self.shape = shape
        self.hosts = hosts
        self.support = KernelSupport.detect()
        self.net = None
        self.programs: list[Program] = []
        self.shaped = []

    def __enter__(self) -> Lab:
        # SIGTERM (a test's timeout, `kill`) leaves through __exit__ like Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(143))
        topo = make_topology(self.topology, self.shape, self.hosts)
        try:
            self.net = network(topo)
            self.net.start()
            self.shaped = shaped_links(self.net, topo)
            for link, shape in self.shaped:
                link.summary = apply_shape(link, shape, self.support)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def describe(self) -> None:
        """Prints the hosts with their addresses, and each link with what it does."""
        hosts = [host for host in self.net.hosts if not host.name.startswith(("r", "nat"))]
        routers = [host for host in self.net.hosts if host not in hosts]
        say(f"network {self.topology}: " + ", ".join(f"{h.name} {h.IP()}" for h in hosts))
        for router in routers:
            addresses = ", ".join(f"{i.name} {i.IP()}" for i in router.intfList() if i.IP())
            say(f"  router {router.name}: {addresses}")
        if any(not shape.is_clean() for _, shape in self.shaped):
            say(f"  kernel: {self.support.describe()}")
        for link, _ in self.shaped:
            say(f"  link {link.intf1.node.name}-{link.intf2.node.name}: {link.summary}")

    def host(self, name: str):
        return self.net.get(name)

    def start(self, host: str, argv: list[str], cwd: str | None = None) -> Program:
        """Starts `argv` in `host` (in directory `cwd`) and prints it as `host$ command`."""
        say(f"{host}$ {' '.join(argv)}")
        program = Program(self.host(host), argv, cwd)
        self.programs.append(program)
        return program

    def __exit__(self, _type, _value, _traceback) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for program in self.programs:
            program.stop()
        if self.net is not None:
            for link, _ in self.shaped:
                for intf in (link.intf1, link.intf2):
                    # A switch port's loss rule is in this machine's own namespace, where it
                    # would outlive the port; a host's goes with the host.
                    if not intf.node.inNamespace:
                        clear_intf(intf)
            self.net.stop()
            self.net = None


def bin_dir_on_path(bin_dir: str) -> None:
    """Puts the lab binaries first on PATH. Mininet's hosts are shells started by this process,
    so they inherit it: `h1 tcp-echo serve` works in the CLI and in scenarios alike."""
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ["NO_COLOR"] = "1"

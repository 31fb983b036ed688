"""The networks of a netlab class, as Mininet topologies.

Mininet builds each host as a shell in its own network namespace (a private copy of the
kernel's network stack: interfaces, addresses, routes, ports, firewall), each link as a veth
pair (two virtual interfaces joined like the ends of a cable), and each switch here as a Linux
bridge (a software Ethernet switch; no OpenFlow controller is needed). Hosts share this
machine's files and programs, so the lab binaries run in them as they are.

- ``star``: h1..hN on one switch s1, addresses 10.0.0.K/24. A lab server on h1, clients on the
  others; every link gets the same loss, delay and rate.
- ``lossy-path``: two sites joined by a router. Site A (h1, h2 on s1, 10.0.1.0/24) and site B
  (h3, h4 on s2, 10.0.2.0/24); r1 forwards between them, and its link to site B is the slow,
  lossy one (a WAN): everything between the sites crosses it, nothing inside a site does.
- ``nat``: h1 is a server "on the Internet" (10.0.0.1 on s1); h2 and h3 are at home behind
  nat1, a router that rewrites their private addresses (192.168.1.K on s2) to its own public one
  (10.0.0.254), as a home router does. h1 has no route to 192.168.1.0/24: nobody outside can
  open a connection to a host inside.

Each topology records the shape of its links in ``shapes`` ((node, node) -> Shape); ``network``
shapes them once the network is up (see links.py for how).
"""

from __future__ import annotations

from subprocess import PIPE, STDOUT

from mininet.link import TCLink
from mininet.net import Mininet
from mininet.node import Host
from mininet.nodelib import LinuxBridge
from mininet.topo import Topo

from links import Shape

MAX_STAR_HOSTS = 50


class Router(Host):
    """A host that forwards IP packets between its interfaces, which is all a router is.
    ``ip_forward`` is a setting of each network namespace, so this one router forwards and
    neither the other hosts nor this machine do."""

    def config(self, **params):
        result = super().config(**params)
        self.cmd("sysctl -qw net.ipv4.ip_forward=1")
        return result


class NatRouter(Router):
    """A router that rewrites the source address of everything it sends out of ``outside`` to
    that interface's own address (nftables ``masquerade``), and remembers each connection so it
    can rewrite the replies back. A connection opened from outside matches nothing it
    remembers, so the router itself receives it, and nothing there listens."""

    def config(self, outside: str = "", **params):
        result = super().config(**params)
        ruleset = f"""table ip nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "{outside}" masquerade
  }}
}}
"""
        process = self.popen(["nft", "-f", "-"], stdin=PIPE, stdout=PIPE, stderr=STDOUT, text=True)
        output, _ = process.communicate(ruleset, timeout=10)
        if process.returncode != 0:
            raise RuntimeError(f"nft masquerade on {self.name}: {output.strip()}")
        return result


class StarTopo(Topo):
    """h1..hN on switch s1; every host-switch link has the same shape."""

    def build(self, hosts: int = 3, shape: Shape = Shape()):
        self.shapes = {}
        switch = self.addSwitch("s1")
        for k in range(1, hosts + 1):
            host = self.addHost(f"h{k}", ip=f"10.0.0.{k}/24")
            self.addLink(host, switch)
            self.shapes[(host, switch)] = shape


class LossyPathTopo(Topo):
    """Site A (h1, h2) and site B (h3, h4) joined by router r1; `shape` is r1's link to site B."""

    def build(self, shape: Shape = Shape()):
        self.shapes = {}
        site_a, site_b = self.addSwitch("s1"), self.addSwitch("s2")
        router = self.addHost("r1", cls=Router, ip="10.0.1.254/24")
        # The first link is r1-eth0, which gets the address given to addHost.
        self.addLink(router, site_a)
        self.addLink(router, site_b, params1={"ip": "10.0.2.254/24"})
        self.shapes[(router, site_b)] = shape
        for k, site, subnet in ((1, site_a, 1), (2, site_a, 1), (3, site_b, 2), (4, site_b, 2)):
            host = self.addHost(
                f"h{k}", ip=f"10.0.{subnet}.{k}/24", defaultRoute=f"via 10.0.{subnet}.254"
            )
            self.addLink(host, site)
            self.shapes[(host, site)] = Shape()


class NatTopo(Topo):
    """Server h1 outside; h2 and h3 inside, behind nat1; `shape` is every host's link."""

    def build(self, shape: Shape = Shape()):
        self.shapes = {}
        outside, inside = self.addSwitch("s1"), self.addSwitch("s2")
        nat = self.addHost("nat1", cls=NatRouter, ip="10.0.0.254/24", outside="nat1-eth0")
        self.addLink(nat, outside)
        self.addLink(nat, inside, params1={"ip": "192.168.1.1/24"})
        server = self.addHost("h1", ip="10.0.0.1/24")
        self.addLink(server, outside)
        self.shapes[(server, outside)] = shape
        for k in (2, 3):
            host = self.addHost(f"h{k}", ip=f"192.168.1.{k}/24", defaultRoute="via 192.168.1.1")
            self.addLink(host, inside)
            self.shapes[(host, inside)] = shape


# The shape of the shaped links when `mininet-lab cli` is given no --loss, --delay or --bw: the
# lossy path is lossy and slow by definition; the others start clean.
DEFAULT_SHAPES = {
    "star": Shape(),
    "lossy-path": Shape(loss_percent=5, delay_ms=40, bw_mbit=2),
    "nat": Shape(),
}

TOPOLOGIES = {
    "star": "h1..hN on one switch s1 (10.0.0.K/24); --hosts N (default 3), every link shaped",
    "lossy-path": (
        "two sites joined by router r1; r1's link to site B (h3, h4) is the WAN "
        "(default: loss 5%, delay 40 ms, 2 Mbit/s)"
    ),
    "nat": "server h1 outside; h2, h3 behind nat1 (nftables masquerade); host links shaped",
}


def make_topology(name: str, shape: Shape, hosts: int = 3) -> Topo:
    if name == "star":
        return StarTopo(hosts=hosts, shape=shape)
    if name == "lossy-path":
        return LossyPathTopo(shape=shape)
    if name == "nat":
        return NatTopo(shape=shape)
    raise ValueError(f"unknown topology '{name}' ({', '.join(TOPOLOGIES)})")


def network(topo: Topo) -> Mininet:
    """The network of `topo`, built but not started: Linux bridges as switches, no controller,
    TCLink so tc can shape each link later."""
    return Mininet(
        topo=topo,
        switch=LinuxBridge,
        controller=None,
        link=TCLink,
        autoSetMacs=True,
        build=True,
        waitConnected=False,
    )


def shaped_links(net: Mininet, topo: Topo) -> list:
    """(link, Shape) for every link of `net` whose shape the topology recorded, in its order."""
    found = []
    for link in net.links:
        ends = (link.intf1.node.name, link.intf2.node.name)
        shape = topo.shapes.get(ends, topo.shapes.get(ends[::-1]))
        if shape is not None:
            found.append((link, shape))
    return found

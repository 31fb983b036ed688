"""Mininet's own CLI (``mininet> h2 ping h1``, ``xterm h1``, ``pingall``, ``py net``...), with
one command added for netlab: ``shape``, which changes a link's loss, delay and rate while the
class watches, by the same mechanism the network started with (see links.py)."""

from __future__ import annotations

from mininet.cli import CLI

from lab import say
from links import apply_shape, parse_shape


class LabCLI(CLI):
    """Mininet's CLI for a `Lab`. Mininet runs the command loop inside the constructor."""

    def __init__(self, lab, **kwargs):
        self.lab = lab
        super().__init__(lab.net, **kwargs)

    def onecmd(self, line: str):
        """With --script (Mininet's `source`), shows each command as if typed, so the
        transcript reads like a session."""
        if self.inputFile and line.strip():
            say(f"mininet> {line.strip()}")
        return super().onecmd(line)

    def do_shape(self, line: str) -> None:
        """shape NODE|all [loss=PERCENT] [delay=MS] [bw=MBIT]
        Gives every link of NODE (or every shaped link) exactly these settings, in both
        directions; a setting not given is cleared, so `shape h2` makes h2's link clean.
        With no setting and no node, lists every link and what it does."""
        words = line.split()
        if not words:
            self.lab.describe()
            return
        target, settings = words[0], words[1:]
        try:
            shape = parse_shape(settings)
        except ValueError as err:
            say(f"shape: {err}")
            return
        links = [
            (link, old) for link, old in self.lab.shaped
            if target == "all" or target in (link.intf1.node.name, link.intf2.node.name)
        ]
        if not links:
            names = sorted({link.intf1.node.name for link, _ in self.lab.shaped})
            say(f"shape: no shaped link has a node named '{target}' (try: all, {', '.join(names)})")
            return
        reshaped = []
        for link, old in self.lab.shaped:
            if (link, old) in links:
                try:
                    link.summary = apply_shape(link, shape, self.lab.support)
                except RuntimeError as err:
                    say(f"shape: {err}")
                    return
                say(f"  link {link.intf1.node.name}-{link.intf2.node.name}: {link.summary}")
                reshaped.append((link, shape))
            else:
                reshaped.append((link, old))
        self.lab.shaped = reshaped

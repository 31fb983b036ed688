"""Link shaping: loss, delay and a rate limit on a Mininet link, and what this kernel can do.

A real link loses, delays and limits what crosses it. Mininet's ``TCLink`` imitates that with
Linux traffic control (``tc``) on both ends of the link: the ``netem`` queueing discipline drops
and delays packets, ``htb`` limits the rate. Because both ends are shaped, a link with
``loss=5`` loses 5% in *each* direction: a TCP segment and its acknowledgement each take the risk.

Some kernels are built without ``netem`` (this is checked once, at start, in a throwaway network
namespace). There, loss comes from an nftables rule instead, hooked where frames *arrive* at
each end of the link (the netdev ingress hook, before the switch or the host's IP stack sees
them), so a link still loses P% in each direction. Why on arrival and not on departure: a packet
dropped inside the sending host is reported back to the program that sent it (``sendmsg`` fails
with ``ENOBUFS``, and ping and TCP quietly send it again), so it would not be loss at all. A frame
lost on a wire gives the sender no sign, and neither does one dropped on arrival. A delay has no
such substitute and is reported as NOT APPLIED: the output says what really happened.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from subprocess import PIPE, STDOUT

# Mininet's TCIntf refuses rates above this many Mbit/s (its htb parameters stop working there).
MAX_BW_MBIT = 1000
# Delays above a minute are a typo, not a network.
MAX_DELAY_MS = 60_000
# nftables tables this module creates are named with this prefix, so `clean` finds exactly them.
NFT_TABLE_PREFIX = "netlab_loss_"


@dataclass(frozen=True)
class Shape:
    """What one link does to every packet, in each direction."""

    loss_percent: float = 0.0
    delay_ms: int = 0
    # None: no rate limit (the link is as fast as the CPU copies frames).
    bw_mbit: float | None = None

    def is_clean(self) -> bool:
        return self.loss_percent == 0 and self.delay_ms == 0 and self.bw_mbit is None


def parse_shape(words: list[str]) -> Shape:
    """`loss=5 delay=40 bw=2` (Mininet's names for TCLink's options) as a Shape.

    Raises ValueError with a message for the user on anything else.
    """
    values: dict[str, str] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or key not in ("loss", "delay", "bw"):
            raise ValueError(f"'{word}': expected loss=PERCENT, delay=MS or bw=MBIT")
        values[key] = value.removesuffix("%").removesuffix("ms")
    return check_shape(
        loss=float_or_error(values.get("loss", "0"), "loss"),
        delay=float_or_error(values.get("delay", "0"), "delay"),
        bw=float_or_error(values["bw"], "bw") if "bw" in values else None,
    )


def float_or_error(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} takes a number (got '{text}')") from None


def check_shape(loss: float, delay: float, bw: float | None) -> Shape:
    """A Shape, after checking each value is one a link can have."""
    if not 0 <= loss <= 100:
        raise ValueError(f"loss is a percentage from 0 to 100 (got {loss:g})")
    if not 0 <= delay <= MAX_DELAY_MS or delay != int(delay):
        raise ValueError(f"delay is whole milliseconds from 0 to {MAX_DELAY_MS} (got {delay:g})")
    if bw is not None and not 0 < bw <= MAX_BW_MBIT:
        raise ValueError(f"bw is Mbit/s, more than 0 and at most {MAX_BW_MBIT} (got {bw:g})")
    return Shape(loss_percent=loss, delay_ms=int(delay), bw_mbit=bw)


@dataclass(frozen=True)
class KernelSupport:
    """Which tc queueing disciplines this kernel has."""

    netem: bool
    htb: bool

    @staticmethod
    def detect() -> KernelSupport:
        return KernelSupport(netem=qdisc_works("netem delay 1ms"), htb=qdisc_works("htb"))

    def describe(self) -> str:
        if self.netem:
            return "this kernel has tc netem: loss and delay by Mininet's TCLink"
        return (
            "this kernel has no tc netem: loss by an nftables rule where frames arrive at "
            "each end of a link, delay NOT APPLIED"
        )


def qdisc_works(qdisc: str) -> bool:
    """Whether `tc qdisc add dev lo root QDISC` works, tried in a new network namespace that
    disappears with the command (so nothing on this machine is touched)."""
    try:
        result = subprocess.run(
            ["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", *qdisc.split()],
            stdout=PIPE,
            stderr=STDOUT,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def tclink_params(shape: Shape, support: KernelSupport) -> dict:
    """The options for Mininet's TCIntf.config that this kernel can apply."""
    params: dict = {}
    if support.netem and shape.loss_percent > 0:
        params["loss"] = shape.loss_percent
    if support.netem and shape.delay_ms > 0:
        params["delay"] = f"{shape.delay_ms}ms"
    if support.htb and shape.bw_mbit is not None:
        params["bw"] = shape.bw_mbit
    return params


def describe(shape: Shape, support: KernelSupport) -> str:
    """One line saying what the link does and by which mechanism, or what was NOT applied."""
    if shape.is_clean():
        return "clean (no added loss, delay or rate limit)"
    parts = []
    if shape.loss_percent > 0:
        rule = f"{nft_match(shape.loss_percent)}counter drop"
        how = "tc netem" if support.netem else f"nftables '{rule}'"
        parts.append(f"loss {shape.loss_percent:g}% each way by {how}")
    if shape.delay_ms > 0:
        how = "by tc netem" if support.netem else "NOT APPLIED (no netem in this kernel)"
        parts.append(f"delay {shape.delay_ms} ms each way {how}")
    if shape.bw_mbit is not None:
        how = "by tc htb" if support.htb else "NOT APPLIED (no htb in this kernel)"
        parts.append(f"rate {shape.bw_mbit:g} Mbit/s {how}")
    return "; ".join(parts)


def nft_match(percent: float) -> str:
    """The nftables match for "this packet is one of the P%": `numgen random mod 100 < P` for
    whole percentages, `... mod 10000 < basis points` otherwise, and nothing for 100% (every
    packet; nft rejects `mod 100 < 100`, a number out of the range 0-99 that mod 100 makes)."""
    if percent >= 100:
        return ""
    if percent == int(percent):
        return f"numgen random mod 100 < {int(percent)} "
    return f"numgen random mod 10000 < {round(percent * 100)} "


def nft_table(intf) -> str:
    """The nftables table holding the loss rule of one interface (letters, digits, `_`)."""
    return NFT_TABLE_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", intf.name)


def apply_shape(link, shape: Shape, support: KernelSupport) -> str:
    """Gives both ends of a Mininet link exactly `shape` (clearing what they had) and returns
    the line from `describe`. Raises RuntimeError with tc's or nft's message on failure."""
    for intf in (link.intf1, link.intf2):
        clear_intf(intf)
        params = tclink_params(shape, support)
        if params:
            # TCIntf.config is what TCLink calls at start; it prints tc's complaints itself and
            # returns each command's output, which is empty when the command worked.
            result = intf.config(**params) or {}
            failed = [out.strip() for out in result.get("tcoutputs", []) if out.strip()]
            if failed:
                raise RuntimeError(f"tc on {intf.name}: {failed[0]}")
        if shape.loss_percent > 0 and not support.netem:
            add_nft_loss(intf, shape.loss_percent)
    return describe(shape, support)


def clear_intf(intf) -> None:
    """Removes every tc queueing discipline and nftables loss rule from one interface."""
    intf.node.cmd(f"tc qdisc del dev {intf.name} root 2>/dev/null")
    run_nft(intf.node, f"delete table netdev {nft_table(intf)}", check=False)


def add_nft_loss(intf, percent: float) -> None:
    """Drops `percent` of the frames arriving at `intf`, in the namespace of its node."""
    table = nft_table(intf)
    ruleset = f"""table netdev {table} {{
  chain arriving {{
    type filter hook ingress device "{intf.name}" priority 0; policy accept;
    {nft_match(percent)}counter drop
  }}
}}
"""
    run_nft(intf.node, "-f -", stdin=ruleset)


def dropped_frames(link, support: KernelSupport) -> int:
    """How many frames the link's loss has dropped so far, both directions together: netem's
    drop counter (`tc -s qdisc`), or the counter in each nftables loss rule."""
    dropped = 0
    for intf in (link.intf1, link.intf2):
        if support.netem:
            stats = intf.node.cmd(f"tc -s qdisc show dev {intf.name}")
            # "qdisc netem 10: parent 5:1 limit 1000 loss 5%" is followed by its
            # " Sent 1234 bytes 20 pkt (dropped 1, overlimits 0 requeues 0)" line.
            netem = stats.split("qdisc netem", 1)[1:]
            found = re.search(r"dropped (\d+)", netem[0]) if netem else None
            dropped += int(found.group(1)) if found else 0
        else:
            listing = intf.node.cmd(f"nft list table netdev {nft_table(intf)} 2>/dev/null")
            found = re.search(r"counter packets (\d+)", listing)
            dropped += int(found.group(1)) if found else 0
    return dropped


def run_nft(node, arguments: str, stdin: str = "", check: bool = True) -> None:
    """`nft ARGUMENTS` in `node`'s network namespace (a switch's is this machine's own)."""
    process = node.popen(
        ["nft", *arguments.split()], stdin=PIPE, stdout=PIPE, stderr=STDOUT, text=True
    )
    output, _ = process.communicate(stdin, timeout=10)
    if check and process.returncode != 0:
        raise RuntimeError(f"nft {arguments} in {node.name}: {output.strip()}")

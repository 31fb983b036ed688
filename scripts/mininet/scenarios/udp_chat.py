"""udp-chat: the UDP chat room across a lossy WAN, and every message still arrives.

lossy-path: the room server and ada are in site A (h1, h2); bob is in site B (h3), behind
router r1, whose link to site B loses 5% of the frames in each direction. UDP itself would lose
those messages for good; the lab's ARQ (selective repeat, RFC 6298 §2 retransmission timer) sends
each one until it is acknowledged. Every message between ada and bob crosses the WAN once, and
so does its acknowledgement, so either may be the one lost. The statistics each member prints
on leaving show the retransmissions that paid for the lossless result.
"""

from lab import Lab, say
from links import Shape, dropped_frames
from programs import ScenarioFailed

TOPOLOGY = "lossy-path"
SUMMARY = "udp-chat room on h1 (site A); ada on h2 and bob on h3 (site B) across a 5% lossy WAN"
SHAPE = Shape(loss_percent=5, bw_mbit=2)
MESSAGES = 20
MEMBERS = {"h2": "ada", "h3": "bob"}


def run(shape: Shape) -> None:
    with Lab(TOPOLOGY, shape) as lab:
        lab.describe()
        server = lab.start("h1", ["udp-chat", "serve", "--bind", "10.0.1.1", "--port", "7075"])
        say("h1  " + server.expect(r"^listening on ").string)
        members = {}
        for host, name in MEMBERS.items():
            members[host] = lab.start(
                host, ["udp-chat", "connect", "10.0.1.1:7075", "--name", name]
            )
            say(f"{host}  " + members[host].expect(r"^\[INFO\] welcome, ").string)
        # Both type all their lines at once: the window keeps many in flight, as a fast typist
        # (or a paste) would.
        for host, name in MEMBERS.items():
            say(f"{host}> {MESSAGES} lines, '{name} 01' to '{name} {MESSAGES:02}'")
            for number in range(1, MESSAGES + 1):
                members[host].send(f"{name} {number:02}")
        for host, name in MEMBERS.items():
            for other_host, other in MEMBERS.items():
                if other_host != host:
                    expect_in_order(members[host], host, other)
        for host, member in members.items():
            say(f"{host}> /quit")
            member.close_input()
            member.wait()
            stats = [line for line in member.rest_of_output() if "retransmissions" in line]
            if not stats:
                raise ScenarioFailed(f"{host}: no statistics line when leaving")
            say(f"{host}  {stats[0]}")
        for link, link_shape in lab.shaped:
            if link_shape.loss_percent > 0:
                name = f"{link.intf1.node.name}-{link.intf2.node.name}"
                say(f"  link {name} dropped {dropped_frames(link, lab.support)} frames")
        say(f"PASS udp-chat: all {MESSAGES} lines each way arrived, in order, across a link "
            f"losing {shape.loss_percent:g}% each way")


def expect_in_order(member, host: str, sender: str) -> None:
    """Waits until `member` has shown every one of `sender`'s lines, in the order sent."""
    for number in range(1, MESSAGES + 1):
        member.expect(rf"^\[CHAT\] <{sender}> {sender} {number:02}$")
    say(f"{host}  received all {MESSAGES} of {sender}'s lines, in order")

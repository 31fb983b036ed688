"""chat: the TCP chat room with members on three hosts.

The room server on h1 relays every line a member types to every other member; the members are
on h2, h3 and h4, so each relayed line crosses the switch twice (in to h1, out to the member).
Each member waits for the others' lines, not for time to pass: the relay order is the server's.
"""

from lab import Lab, say
from links import Shape

TOPOLOGY = "star"
SUMMARY = "tcp-chat room on h1, members on h2, h3 and h4 talking through it"
SHAPE = Shape()
MEMBERS = ("h2", "h3", "h4")


def run(shape: Shape) -> None:
    with Lab(TOPOLOGY, shape, hosts=4) as lab:
        lab.describe()
        server = lab.start("h1", ["tcp-chat", "room", "serve", "--bind", "10.0.0.1",
                                  "--port", "7072", "--max-clients", "3"])
        say("h1  " + server.expect(r"^listening on ").string)
        members = {}
        names = {}
        for host in MEMBERS:
            members[host] = lab.start(host, ["tcp-chat", "room", "join", "10.0.0.1:7072"])
            welcome = members[host].expect(r"^< WELCOME (\S+)$")
            names[host] = welcome.group(1)
            say(f"{host}  {welcome.string}")
        for speaker in MEMBERS:
            line = f"hello from {speaker}"
            say(f"{speaker}> {line}")
            members[speaker].send(line)
            say(f"{speaker}  " + members[speaker].expect(rf"^< ACK {line}$").string)
            for listener in MEMBERS:
                if listener != speaker:
                    heard = members[listener].expect(rf"^< MSG {names[speaker]} {line}$")
                    say(f"{listener}  {heard.string}")
        for host in MEMBERS:
            say(f"{host}> exit")
            members[host].send("exit")
            say(f"{host}  " + members[host].expect(r"^< BYE ").string)
        say("PASS chat: every line reached the two other members, each on its own host")

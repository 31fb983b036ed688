"""echo: the TCP echo lab across a switch.

The server on h1 listens on h1's address (10.0.0.1), not on 127.0.0.1, which inside h1 is h1's
own loopback and unreachable from anywhere else. Two clients on two other hosts are connected
at once; `status` shows the server seeing them from two addresses, one per host.
"""

from lab import Lab, say
from links import Shape
from programs import ScenarioFailed

TOPOLOGY = "star"
SUMMARY = "tcp-echo on h1, a client on h2 and one on h3, across switch s1"
SHAPE = Shape()


def run(shape: Shape) -> None:
    with Lab(TOPOLOGY, shape, hosts=3) as lab:
        lab.describe()
        server = lab.start("h1", ["tcp-echo", "serve", "--bind", "10.0.0.1", "--port", "7007"])
        say("h1  " + server.expect(r"^listening on ").string)
        clients = {}
        for host in ("h2", "h3"):
            clients[host] = lab.start(host, ["tcp-echo", "connect", "10.0.0.1:7007"])
            say(f"{host}  " + clients[host].expect(r"^< WELCOME ").string)
        for host, client in clients.items():
            line = f"hello from {host}"
            say(f"{host}> {line}")
            client.send(line)
            say(f"{host}  " + client.expect(rf"^< ACK {line}$").string)
        # The server lists every client with the address it connected from.
        say("h3> status")
        clients["h3"].send("status")
        say("h3  " + clients["h3"].expect(r"^< STATUS 2 clients").string)
        for address in ("10.0.0.2", "10.0.0.3"):
            listed = clients["h3"].expect(r"^< Client\d+ ")
            if address not in listed.string:
                raise ScenarioFailed(f"h3: status listed '{listed.string}', not {address}")
            say("h3  " + listed.string)
        clients["h3"].expect(r"^< END$")
        for host, client in clients.items():
            say(f"{host}> exit")
            client.send("exit")
            say(f"{host}  " + client.expect(r"^< BYE ").string)
        say("PASS echo: h2 and h3 got their lines back from h1, which saw them at 10.0.0.2 "
            "and 10.0.0.3")


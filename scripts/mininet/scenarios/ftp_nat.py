"""ftp-nat: FTP through a NAT, where passive mode works and active mode cannot.

nat topology: the FTP server h1 is "on the Internet" (10.0.0.1); the client h2 is at home,
192.168.1.2, behind nat1, which rewrites h2's address to its own (10.0.0.254) on the way out.

- Passive (EPSV): the client opens both connections, outward, so the NAT rewrites both and
  the download works.
- Active (EPRT): the client listens and asks the server to connect *back* to 192.168.1.2, an
  address that means nothing on the Internet: h1 has no route to it, and even the NAT's public
  address would not do, because the NAT has no idea which inside host an unrequested incoming
  connection is for (docs/ftp.md, section 3). ftp-lab's server refuses at once: it connects
  only to the address the control connection came from (its defence against the bounce attack,
  RFC 2577 section 3), and that was 10.0.0.254, the NAT.
"""

import shutil
import tempfile
from pathlib import Path

from lab import Lab, say
from links import Shape
from programs import ScenarioFailed

TOPOLOGY = "nat"
SUMMARY = "ftp-lab serve on h1; h2 behind nat1 downloads: passive works, active fails"
SHAPE = Shape()
CONTENT = "hello through the NAT\n"
URL = "ftp://10.0.0.1:2121/hello.txt"


def run(shape: Shape) -> None:
    files = Path(tempfile.mkdtemp(prefix="netlab-ftp-nat-"))
    try:
        (files / "served").mkdir()
        (files / "served" / "hello.txt").write_text(CONTENT)
        with Lab(TOPOLOGY, shape) as lab:
            lab.describe()
            # Every program runs in the scratch directory, so its paths are short and the same
            # in every run (hosts share this machine's files).
            server = lab.start("h1", ["ftp-lab", "serve", "--bind", "10.0.0.1", "--port",
                                      "2121", "--root", "served"], cwd=str(files))
            say("h1  " + server.expect(r"^listening on ").string)
            passive(lab, server, files / "passive.txt")
            active(lab, server, files / "active.txt")
            say("PASS ftp-nat: passive mode crossed the NAT; active mode could not")
    finally:
        shutil.rmtree(files, ignore_errors=True)


def passive(lab: Lab, server, saved: Path) -> None:
    client = lab.start("h2", ["ftp-lab", "get", URL, "-o", saved.name], cwd=str(saved.parent))
    say("h1  " + server.expect(r": connected$").string)
    status = client.wait()
    if status != 0 or not saved.exists() or saved.read_text() != CONTENT:
        raise ScenarioFailed(f"h2: passive download failed (exit {status}): "
                             + " | ".join(client.rest_of_output()))
    say(f"h2  saved {saved.name}: {saved.read_text().strip()!r}, exit status 0")


def active(lab: Lab, server, saved: Path) -> None:
    client = lab.start("h2", ["ftp-lab", "get", "--active", URL, "-o", saved.name],
                       cwd=str(saved.parent))
    say("h1  " + server.expect(r": connected$").string)
    say("h1  " + server.expect(r"refused (EPRT|PORT) ").string)
    status = client.wait()
    output = client.rest_of_output()
    if status == 0 or saved.exists():
        raise ScenarioFailed("h2: an active-mode download through the NAT succeeded")
    say(f"h2  {output[-1] if output else '(no output)'}")
    say(f"h2  exit status {status}")
    # Had the server tried anyway: it has no route to the private network at all.
    route = lab.start("h1", ["ip", "route", "get", "192.168.1.2"])
    route.wait()
    say("h1  " + " ".join(route.rest_of_output()))

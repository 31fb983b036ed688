"""Lab programs running inside Mininet hosts, driven line by line.

A scenario starts a program in a host (Mininet's ``host.popen`` runs it in that host's network
namespace), types lines into it, and waits for lines it prints. Every wait has a deadline and
is for an event (a line that says something happened), never a fixed sleep: on a busy machine a
sleep is either too short or wasted time. What the scenario waited for is what it prints, so its
transcript is the same from run to run except for numbers (ports, times, counts).
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from subprocess import PIPE, STDOUT

# How long any one expected line may take. Generous: a class machine may be slow, and a lossy
# link costs retransmission timeouts. A scenario that works finishes long before.
DEADLINE_S = 30.0
# How long a stopped program gets to exit after SIGTERM before it is killed.
STOP_GRACE_S = 3.0


class ScenarioFailed(Exception):
    """What went wrong, in words for the instructor; the scenario prints it and exits 1."""


class Program:
    """One program in one host: its input is a pipe, its output (stdout and stderr together)
    is read on a thread into a queue, so a wait can give up at its deadline."""

    def __init__(self, host, argv: list[str], cwd: str | None = None):
        self.host = host
        self.argv = argv
        self.label = host.name
        self.seen: list[str] = []
        self.process = host.popen(
            argv, stdin=PIPE, stdout=PIPE, stderr=STDOUT, text=True, bufsize=1, cwd=cwd
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self.read_lines, daemon=True).start()

    def read_lines(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # the end of its output

    def expect(self, pattern: str, deadline_s: float = DEADLINE_S) -> re.Match:
        """Waits for an output line matching the regular expression `pattern` (lines before it
        are kept in `seen`) and returns the match; raises ScenarioFailed at the deadline or at
        the end of the output."""
        regex = re.compile(pattern)
        give_up = time.monotonic() + deadline_s
        while True:
            remaining = give_up - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0))
            except queue.Empty:
                raise ScenarioFailed(self.missing(pattern, f"nothing within {deadline_s:g} s"))
            if line is None:
                self.lines.put(None)  # later waits see the end too
                raise ScenarioFailed(self.missing(pattern, "it exited"))
            self.seen.append(line)
            found = regex.search(line)
            if found:
                return found

    def missing(self, pattern: str, why: str) -> str:
        last = "\n    ".join(self.seen[-8:]) or "(nothing)"
        return (
            f"{self.label}: `{' '.join(self.argv)}` never printed a line matching "
            f"/{pattern}/ ({why}); its last lines:\n    {last}"
        )

    def send(self, line: str) -> None:
        """Types `line` and Enter."""
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise ScenarioFailed(f"{self.label}: `{self.argv[0]}` exited before reading '{line}'")

    def close_input(self) -> None:
        """Ends its input, as Ctrl-D does."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass

    def wait(self, deadline_s: float = DEADLINE_S) -> int:
        """Waits for it to exit and returns its exit status."""
        try:
            return self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            raise ScenarioFailed(f"{self.label}: `{' '.join(self.argv)}` still running after "
                                 f"{deadline_s:g} s")

    def rest_of_output(self) -> list[str]:
        """Every line it printed after the last one a wait consumed (call after it exited)."""
        rest = []
        while True:
            line = self.lines.get()
            if line is None:
                self.lines.put(None)
                return rest
            self.seen.append(line)
            rest.append(line)

    def stop(self) -> None:
        """Ends it (SIGTERM, then SIGKILL after a grace period) and waits until it is gone, so
        no process keeps a host's network namespace alive after the network stops."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            self.process.stdin.close()
        except OSError:
            pass  # a broken pipe: it had stopped reading

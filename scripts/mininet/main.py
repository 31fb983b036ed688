"""netlab on Mininet: the entry point behind scripts/mininet-lab (which prints the help, finds
the Python that has Mininet, and checks for root before running this).

Layout of scripts/mininet/:
- main.py: the commands (run, cli, list, clean) and exit codes.
- topologies.py: star, lossy-path and nat, as Mininet topologies; routers and the NAT.
- links.py: loss, delay and rate on a link: Mininet's TCLink, or nftables where the kernel has
  no netem.
- lab.py: a network's life: start, shape, describe, stop (always).
- programs.py: lab programs in hosts, driven line by line with deadlines.
- console.py: Mininet's CLI plus `shape`.
- cleanup.py: what a crashed run can leave behind, found and removed.
- scenarios/: one scenario per lab.

Exit codes: 0 done (a scenario passed); 1 a usage mistake, or a scenario that failed (its last
line says what did not happen); 2 cannot run here (said why).
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        print(f"mininet-lab: {message} (see mininet-lab --help)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="mininet-lab", add_help=False)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = commands.add_parser("run", add_help=False)
    run.add_argument("scenario")
    cli = commands.add_parser("cli", add_help=False)
    cli.add_argument("topology")
    cli.add_argument("--hosts", type=int, default=3)
    cli.add_argument("--script", help="run these CLI commands instead of reading the terminal")
    for command in (run, cli):
        command.add_argument("--loss", type=float)
        command.add_argument("--delay", type=float)
        command.add_argument("--bw", type=float)
    commands.add_parser("list", add_help=False)
    commands.add_parser("clean", add_help=False)
    return parser.parse_args(argv)


def shape_from(args: argparse.Namespace, default):
    """The link shape the options give, or `default` when none is given."""
    from links import check_shape

    if args.loss is None and args.delay is None and args.bw is None:
        return default
    return check_shape(loss=args.loss or 0, delay=args.delay or 0, bw=args.bw)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.command == "list":
        return list_everything()
    if args.command == "clean":
        from cleanup import clean

        return clean()
    from cleanup import busy_reason

    busy = busy_reason()
    if busy:
        print(f"mininet-lab: cannot run here: {busy}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    from lab import bin_dir_on_path

    bin_dir_on_path(os.environ.get("NETLAB_BIN_DIR", "target/release"))
    try:
        if args.command == "run":
            return run_scenario(args)
        return run_cli(args)
    except (ValueError, RuntimeError) as err:
        # A usage mistake (ValueError), or tc or nft refusing a setting (RuntimeError).
        print(f"mininet-lab: {err}", file=sys.stderr)
        return EXIT_FAILED


def list_everything() -> int:
    from scenarios import SCENARIOS
    from topologies import TOPOLOGIES

    print("topologies (mininet-lab cli NAME):")
    for name, summary in TOPOLOGIES.items():
        print(f"  {name:<11} {summary}")
    print("scenarios (mininet-lab run NAME):")
    for name, module in SCENARIOS.items():
        print(f"  {name:<11} {module.SUMMARY} ({module.TOPOLOGY})")
    return 0


def run_scenario(args: argparse.Namespace) -> int:
    from lab import say
    from mininet.log import setLogLevel
    from programs import ScenarioFailed
    from scenarios import SCENARIOS

    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        raise ValueError(f"no scenario '{args.scenario}' (one of: {', '.join(SCENARIOS)})")
    # Mininet's own progress lines would bury the transcript; its warnings and errors stay.
    shape = shape_from(args, scenario.SHAPE)
    setLogLevel("warning")
    say(f"scenario {args.scenario}: {scenario.SUMMARY}")
    try:
        scenario.run(shape)
    except ScenarioFailed as failure:
        say(f"FAIL {args.scenario}: {failure}")
        return EXIT_FAILED
    return 0


def run_cli(args: argparse.Namespace) -> int:
    from console import LabCLI
    from lab import Lab, say
    from mininet.log import setLogLevel
    from topologies import DEFAULT_SHAPES, MAX_STAR_HOSTS

    if not 1 <= args.hosts <= MAX_STAR_HOSTS:
        raise ValueError(f"--hosts takes 1 to {MAX_STAR_HOSTS} (got {args.hosts})")
    setLogLevel("warning")
    with Lab(args.topology, shape_from(args, DEFAULT_SHAPES.get(args.topology)), args.hosts) as lab:
        lab.describe()
        say("the lab binaries are on every host's PATH; start servers with --bind HOST_ADDRESS;")
        say("shape NODE loss=P delay=MS bw=MBIT changes a link; exit (or Ctrl-D) ends it all")
        setLogLevel("info")
        if args.script:
            LabCLI(lab, script=args.script)
        else:
            LabCLI(lab)
        setLogLevel("warning")
    say("mininet-lab: network stopped; every host, link and switch is gone")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

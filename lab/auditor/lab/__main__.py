"""Command line: ``python -m auditor.lab up|down|status [--prefix ca] [--state-dir DIR]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor.lab import school
from auditor.lab.base import LabError

_TARPIT_COMMAND = "_tarpit"  # internal: the process start_tarpit() launches


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m auditor.lab",
        description="Build, inspect or remove the network-namespace demo school.",
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--prefix", default=school.DEFAULT_PREFIX, help="namespace name prefix")
    parser.add_argument("--state-dir", type=Path, default=None, help="PID/log directory")
    return parser


def _print_info(info: school.LabInfo) -> None:
    print(f"lab {info.prefix!r} is up; run the auditor in namespace {info.agent_ns}")
    print(f"  uplink iperf3 server  {info.isp_iperf}  ({info.uplink_rate_mbit} Mbit/s)")
    for room, addr in info.rooms.items():
        print(f"  {room} iperf3 server {addr}  ({info.room_rates_mbit[room]} Mbit/s)")
    print(f"  switch SNMP           {info.switch_snmp}  (community {info.snmp_community})")
    print(f"  state                 {info.state_dir}")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "up":
        _print_info(school.up(args.prefix, args.state_dir))
        return 0
    if args.command == "down":
        school.down(args.prefix, args.state_dir)
        print(f"lab {args.prefix!r} is down")
        return 0
    report = school.status(args.prefix, args.state_dir)
    print(json.dumps(report, indent=2))
    return 0 if report["up"] else 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the lab command line; returns the process exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [_TARPIT_COMMAND] and len(args_list) == 3:
        school.run_tarpit(args_list[1], int(args_list[2]))
        return 0
    args = _parser().parse_args(args_list)
    try:
        return _dispatch(args)
    except LabError as exc:
        print(f"auditor.lab: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"auditor.lab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("auditor.lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``dvfo devices``: the shipped board profiles, and whether this machine is a Jetson."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``devices`` sub-command."""
    p = subparsers.add_parser(
        "devices", help="list board profiles and what this machine has",
        description="List the board profiles and discover this machine's Jetson controls.",
    )
    p.add_argument("--root", default="/",
                   help="filesystem root to discover under (default /; a fixture tree in tests)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print profiles and discovery; exit 0 whether or not this is a Jetson."""
    from dvfo_core.device.profiles import list_profiles, load_profile
    from dvfo_core.device.sysfs import LOOKED_FOR, discover

    profiles = [load_profile(n) for n in list_profiles()]
    d = discover(args.root)
    if args.json:
        out = {
            "profiles": [{"name": p.name, "description": p.description, "default_mode": p.default_mode,
                          "modes": list(p.modes), "levels": list(p.table().shape)} for p in profiles],
            "machine": {"is_jetson": d.is_jetson, "model": d.model, "board": d.board,
                        "found": d.summary(), "missing": d.missing, "looked_for": list(LOOKED_FOR)},
        }
        print(json.dumps(out, indent=1))
        return 0
    print("Board profiles (config/boards):")
    for p in profiles:
        cpu, gpu, emc = p.table().shape
        print(f"  {p.name:18s} {p.description}")
        print(f"  {'':18s} modes: {', '.join(p.modes)} (default {p.default_mode}); "
              f"levels in the default mode: cpu {cpu}, gpu {gpu}, emc {emc}")
    print()
    if not d.is_jetson:
        print(f"This machine: not a Jetson (nothing found under {args.root}).")
        print("Looked for:")
        for item in LOOKED_FOR:
            print(f"  - {item}")
        return 0
    board = d.board or "(none matches: pass the board by name)"
    print(f"This machine: a Jetson, {d.model or 'unknown model'} -> profile {board}")
    for line in d.summary():
        print(f"  {line}")
    return 0

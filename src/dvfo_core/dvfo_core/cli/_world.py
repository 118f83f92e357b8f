"""The world (board twin, split profile, cloud) that ``dvfo train`` and ``dvfo eval`` build from
their shared arguments (``--device --model --split --power-mode --deadline-ms --split-profile``)."""

from __future__ import annotations

import argparse
from typing import Any

from dvfo_core.world.build import World


def world_from_args(args: argparse.Namespace, twin: Any = None, cloud: Any = None) -> World:
    """Build the world of the parsed arguments (``twin``/``cloud`` override the models, for a bag
    replay), with torch on one thread (decisions are tiny)."""
    import torch

    from dvfo_core.world.build import WorldSpec, build_world

    torch.set_num_threads(1)
    spec = WorldSpec(
        args.device,
        args.model,
        args.split,
        args.power_mode,
        args.deadline_ms,
        profile_path=args.split_profile,
    )
    return build_world(spec, twin=twin, cloud=cloud)

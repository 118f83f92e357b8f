"""``dvfo profile``: per-layer FLOPs, bytes, latency and energy of a model on a board's twin.

The model is the torchvision definition (random weights; timing does not depend on them). Costs come
from the real module's execution (:func:`dvfo_core.workload.profile_layers`) turned into latency and
energy by :class:`~dvfo_core.device.twin.TwinModel`, at the power mode's max clocks and, with
``--levels``, at the levels asked. Candidate split points come from ``dvfo_core.split.zoo`` when the
model is in the zoo, else the model's top-level children.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dvfo_core.device.base import Levels
from dvfo_core.errors import ConfigError, DvfoError
from dvfo_core.workload import Workload


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``profile`` sub-command."""
    p = subparsers.add_parser("profile", help="per-layer cost of a model on a board (digital twin)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--device", required=True, help="board profile (see `dvfo devices`)")
    p.add_argument("--model", required=True, help="torchvision model name, e.g. resnet18")
    p.add_argument("--mode", default=None, help="power mode (default: the board's default)")
    p.add_argument("--levels", default=None, help="extra clock setting as level indices CPU,GPU,EMC")
    p.add_argument("--image-size", type=int, default=224, help="square input size (default 224)")
    p.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    p.add_argument("--json", type=Path, default=None, help="also write everything to this JSON file")
    p.add_argument("--quiet", action="store_true", help="only totals and split points, no per-layer rows")
    p.set_defaults(func=run)


def parse_levels(text: str) -> Levels:
    """``"3,5,2"`` -> ``Levels(3, 5, 2)``."""
    parts = text.split(",")
    try:
        cpu, gpu, emc = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--levels must be three integers CPU,GPU,EMC, got {text!r}") from None
    return Levels(cpu, gpu, emc)


def _model(name: str, image_size: int, precision: str):
    import torch
    import torchvision

    try:
        model = torchvision.models.get_model(name, weights=None).eval()
    except (ValueError, KeyError):
        known = ", ".join(sorted(torchvision.models.list_models(module=torchvision.models))[:12])
        raise ConfigError(f"unknown torchvision model {name!r} (e.g. {known}, ...)") from None
    except Exception as exc:  # a model that cannot be built for this input size, etc.
        raise ConfigError(f"cannot build {name}: {exc}") from exc
    x = torch.randn(1, 3, image_size, image_size)
    if precision == "fp16":
        model, x = model.half(), x.half()
    return model, x


def _profile(module, x, name: str) -> Workload:
    import torch

    from dvfo_core.workload import profile_layers

    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        return profile_layers(module, x, name=name)
    except RuntimeError as exc:
        raise ConfigError(f"{name} does not run on a {tuple(x.shape)} input: {exc}") from exc


def _prefix(work: Workload, split: str) -> Workload | None:
    """The layers of ``work`` up to the last one inside module ``split``, if ``split`` names one."""
    last = None
    for i, lay in enumerate(work.layers):
        if lay.name == split or lay.name.startswith(split + "."):
            last = i
    return None if last is None else Workload(f"{work.name}:{split}", work.layers[: last + 1])


def split_candidates(name: str, work: Workload, model, x, precision: str) -> tuple[str, list[dict]]:
    """Candidate split points with the head's workload: from the split zoo, else top-level children."""
    try:
        from dvfo_core.split import zoo
    except ImportError:
        zoo = None
    if zoo is not None and name in zoo.model_names():
        from tqdm import tqdm

        sm = zoo.build(name, image_size=x.shape[-1]).eval()
        if precision == "fp16":
            sm = sm.half()
        out = []
        for split in tqdm(sm.split_points, desc="split points", leave=False):
            head = _prefix(work, split)  # the split is a module path of the full model: a prefix of it
            if head is None:  # a stage the full model does not name (e.g. ViT tokens): run the head
                head = _profile(sm.head(split), x, f"{name}:{split}")
            out.append({"split": split, "head": head, "feature_bytes": head.layers[-1].output_bytes})
        return "dvfo_core.split.zoo", out
    children = [n for n, _ in model.named_children()]
    out = []
    for i, child in enumerate(children):
        head_names = set(children[: i + 1])
        layers = tuple(lay for lay in work.layers if lay.name.split(".")[0] in head_names)
        if layers and layers[-1].name.split(".")[0] == child:
            out.append({"split": child, "head": Workload(f"{name}:{child}", layers),
                        "feature_bytes": layers[-1].output_bytes})
    return "top-level children (model not in the split zoo)", out


def run(args: argparse.Namespace) -> int:
    """Profile the model and print the table (and JSON)."""
    from dvfo_core.device.twin import TwinModel

    twin = TwinModel(args.device, mode=args.mode, precision=args.precision)
    settings = {"max": twin.max_levels()}
    if args.levels:
        lv = parse_levels(args.levels)
        twin.clocks(lv)  # refuses levels outside the table, naming the domain
        settings["levels"] = lv
    if args.image_size < 16:
        raise ConfigError(f"--image-size must be >= 16, got {args.image_size}")
    model, x = _model(args.model, args.image_size, args.precision)
    work = _profile(model, x, args.model)
    per: dict[str, tuple[list, object]] = {k: twin.layer_costs(work, lv) for k, lv in settings.items()}
    totals = {k: twin.stage(work, lv) for k, lv in settings.items()}
    source, splits = split_candidates(args.model, work, model, x, args.precision)

    def clocks_text(lv: Levels) -> str:
        c = twin.clocks(lv)
        return f"cpu {c.cpu_hz / 1e6:g} MHz, gpu {c.gpu_hz / 1e6:g} MHz, emc {c.emc_hz / 1e6:g} MHz"

    print(f"{args.model} on {twin.profile.name} ({twin.power_mode.name}), {args.precision}, "
          f"{args.image_size}x{args.image_size}, digital twin")
    for k, lv in settings.items():
        print(f"  {k:6s}: levels {lv.cpu},{lv.gpu},{lv.emc} = {clocks_text(lv)}")
    if not args.quiet:
        head = f"{'layer':32s} {'kind':18s} {'MFLOP':>9s} {'KB':>9s}"
        for k in settings:
            head += f" {k + ' ms':>10s} {k + ' mJ':>10s}"
        print(head)
        for i, lay in enumerate(work.layers):
            row = f"{lay.name[:32]:32s} {lay.kind[:18]:18s} {lay.flops / 1e6:9.2f} {lay.bytes / 1024:9.1f}"
            for k in settings:
                c = per[k][0][i]
                row += f" {c.latency_s * 1e3:10.3f} {c.energy_j * 1e3:10.3f}"
            print(row)
    print(f"total: {len(work.layers)} layers, {work.flops / 1e9:.3f} GFLOP, {work.bytes / 1e6:.1f} MB moved")
    for k, c in totals.items():
        print(f"  at {k:6s}: {c.latency_s * 1e3:.2f} ms, {c.energy_j * 1e3:.1f} mJ, {c.power_w:.2f} W "
              f"(framework overhead {per[k][1].latency_s * 1e3:.2f} ms)")
    print(f"split points ({source}):")
    for s in splits:
        c = twin.stage(s["head"], settings["max"])
        print(f"  after {s['split']:24s} head {c.latency_s * 1e3:8.2f} ms {c.energy_j * 1e3:8.1f} mJ at max, "
              f"feature map {s['feature_bytes'] / 1024:9.1f} KB")
    if args.json:
        doc = {
            "device": twin.profile.name, "mode": twin.power_mode.name, "model": args.model,
            "precision": args.precision, "image_size": args.image_size,
            "settings": {k: {"levels": [lv.cpu, lv.gpu, lv.emc], "clocks": clocks_text(lv)}
                         for k, lv in settings.items()},
            "layers": [
                {"name": lay.name, "kind": lay.kind, "flops": lay.flops, "param_bytes": lay.param_bytes,
                 "input_bytes": lay.input_bytes, "output_bytes": lay.output_bytes,
                 **{f"latency_s_{k}": per[k][0][i].latency_s for k in settings},
                 **{f"energy_j_{k}": per[k][0][i].energy_j for k in settings}}
                for i, lay in enumerate(work.layers)
            ],
            "totals": {k: {"latency_s": c.latency_s, "energy_j": c.energy_j, "power_w": c.power_w,
                           "rails_w": c.rails_w} for k, c in totals.items()},
            "split_source": source,
            "split_points": [
                {"split": s["split"], "feature_bytes": s["feature_bytes"],
                 "head_layers": len(s["head"].layers),
                 "head_latency_s_max": twin.stage(s["head"], settings["max"]).latency_s,
                 "head_energy_j_max": twin.stage(s["head"], settings["max"]).energy_j}
                for s in splits
            ],
        }
        try:
            args.json.write_text(json.dumps(doc, indent=1))
        except OSError as exc:
            raise DvfoError(f"cannot write {args.json}: {exc.strerror}") from exc
        print(f"wrote {args.json}")
    return 0

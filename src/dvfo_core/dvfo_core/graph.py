"""The node graph (``config/graph.yaml``): which nodes make up the edge and the cloud side."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from dvfo_core.errors import ConfigError
from dvfo_core.paths import config_dir

GROUPS = ("edge", "cloud")


@dataclass(frozen=True)
class NodeEntry:
    """One node of the graph."""

    package: str
    executable: str
    name: str
    params: Path  #: default parameter file of its group
    group: str = ""  #: ``edge`` or ``cloud``

    @property
    def module(self) -> str:
        """Python module whose ``main()`` runs the node (``dvfo_edge.camera_node``)."""
        return f"{self.package}.{self.executable}"


def load_graph(group: str, path: Path | None = None) -> list[NodeEntry]:
    """Nodes of ``group`` (``edge``, ``cloud`` or ``all``)."""
    path = path or config_dir() / "graph.yaml"
    groups = GROUPS if group == "all" else (group,)
    if any(g not in GROUPS for g in groups):
        raise ConfigError(f"unknown node group {group!r}; choose edge, cloud or all")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the node graph ({exc})") from None
    entries = []
    for g in groups:
        section = data.get(g) or {}
        params = config_dir() / section.get("params", f"{g}.yaml")
        for item in section.get("nodes", []):
            try:
                entries.append(NodeEntry(item["package"], item["executable"], item["name"], params, g))
            except (KeyError, TypeError):
                raise ConfigError(
                    f"{path}: {g} node entry {item!r} needs package, executable, name"
                ) from None
    return entries

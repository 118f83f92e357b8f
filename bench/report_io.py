"""What every benchmark does with its report: print it as JSON and, when asked, write it to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit_json(report: dict[str, Any], path: Path | None) -> None:
    """Print ``report`` as indented JSON; also write it to ``path`` unless None."""
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if path is not None:
        path.write_text(text + "\n")

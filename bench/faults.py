"""The robot's link through the issue's faults, in a network namespace of its own: the table of
docs/reliability.md.

Runs ``tests/link/fault_lab.py`` (root: ``unshare -n``; the loss faults need ``nft``, Debian's
nftables) with bandwidth capped at 0.5, 2 and 8 Mbps, 1 % and 10 % loss, 50 and 200 ms added to the
round trip, the link cut for 5 s, the router restarted and a worker killed, one after the other in
one run, and prints per fault: frames taken while it lasted, fallbacks, frames the cloud answered,
seconds from healing to the first answered frame taken after it, end-to-end latency (camera stamp
-> result, measured), the twin's energy per frame, and the telemetry's link estimate during the
fault and after it. Also checks frames in = frames out over the whole run.

Usage: ``python bench/faults.py [--faults LIST] [--hold S] [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "link"))
from fault_lab import frames_check, summarise

LAB = Path(__file__).parents[1] / "tests" / "link" / "fault_lab.py"
ALL = "cap:0.5,cap:2,cap:8,loss:1,loss:10,delay:50,delay:200,cut:5,router,worker"


def fmt(x: object, digits: int = 0) -> str:
    """A table cell."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def table(rows: list[dict]) -> str:
    """The Markdown table of docs/reliability.md."""
    head = (
        "| fault | frames | fallbacks | offloaded | resumes after (s) | e2e p50 (ms)"
        " | energy/frame (mJ, twin) | link estimate during (Mbps / ms) | after (Mbps / ms) |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['fault']} | {r['frames']} | {r['fallbacks']} | {r['offloaded']} | {fmt(r['resume_s'], 1)}"
            f" | {fmt(r['e2e_ms_p50'])} | {fmt(r['energy_mj'])}"
            f" | {fmt(r['link_mbps'], 2)} / {fmt(r['link_rtt_ms'])}"
            f" | {fmt(r['healed_mbps'], 2)} / {fmt(r['healed_rtt_ms'])} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faults", default=ALL)
    ap.add_argument("--hold", type=float, default=8.0, help="seconds each fault lasts (cut: its own)")
    ap.add_argument("--json", type=Path, help="also write the run's full record here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.json or Path(tmp) / "run.json").resolve()
        cmd = [sys.executable, str(LAB), "--faults", args.faults, "--hold", str(args.hold), "--out", str(out)]
        subprocess.run(cmd, check=False)
        record = json.loads(out.read_text())
    if record["error"]:
        print(f"the run failed: {record['error']}", file=sys.stderr)
        return 1
    print(table(summarise(record)))
    check = frames_check(record)
    print(f"\nframes: {check['results']} results for {check['camera_frames']} camera frames, "
          f"{check['camera_frames_unanswered']} unanswered, {check['duplicates']} answered twice, "
          f"{len(check['missing_seqs'])} head frames without a result")
    return 0


if __name__ == "__main__":
    sys.exit(main())

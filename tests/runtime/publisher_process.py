"""Child process for the DDS tests: publish deterministic samples through a project node.

Usage: python publisher_process.py --count N TYPE [TYPE ...]
Waits until every publisher is matched (at most 10 s), publishes, then lingers so reliable
delivery completes. Exits 3 when no subscriber showed up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from samples import make_sample

from dvfo_core.runtime.dds import DdsNode, Executor


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("types", nargs="+")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--topic-prefix", default="/test")
    args = parser.parse_args()
    node = DdsNode("test_publisher")
    pubs = {t: node.publisher(t, f"{args.topic_prefix}/{t.split('/')[-1].lower()}") for t in args.types}
    ex = Executor([node])
    deadline = time.monotonic() + 10
    while any(p.matched_count() == 0 for p in pubs.values()):
        if time.monotonic() > deadline:
            return 3
        ex.spin_once(0.05)
    for seq in range(1, args.count + 1):
        for type_name, pub in pubs.items():
            pub.publish(make_sample(type_name, seq))
    ex.spin(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

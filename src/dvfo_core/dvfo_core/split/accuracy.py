"""Top-1 of full local inference vs fused split inference at each ``xi`` and codec setting.

Every offloaded frame goes through the real codec (:func:`dvfo_core.split.codec.encode` then
:func:`~dvfo_core.split.codec.decode`, compressor included); the decoded channels are then run
batched through the tail (zero-filled, which equals the sliced tail — tested). Payload bytes are
the compressed ``data`` sizes at the evaluation resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from dvfo_core.split import codec
from dvfo_core.split.names import DEFAULT_ENCODINGS, DEFAULT_XIS
from dvfo_core.split.net import SplitNet
from dvfo_core.split.partition import check_xi, primary_mask


@dataclass
class AccuracyRow:
    """Fused accuracy at one ``xi`` and encoding."""

    xi: float
    encoding: str
    fused_top1: float
    edge_only_top1: float  #: the fallback: edge logits alone (xi = 1: edge tail on all channels)
    payload_bytes: float  #: mean compressed bytes per frame (0 at xi = 0)
    raw_fp32_bytes: float  #: the same channels as float32, uncompressed


@dataclass
class AccuracyReport:
    """Accuracy of one checkpoint on one test set."""

    model: str
    split: str
    data: str
    image_size: int
    n: int
    full_local_top1: float
    rows: list[AccuracyRow] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-serialisable view."""
        return asdict(self)

    def max_drop_pp(self) -> float:
        """Largest drop of fused top-1 below full local, in percentage points."""
        return max((self.full_local_top1 - r.fused_top1) * 100 for r in self.rows) if self.rows else 0.0

    def table(self) -> str:
        """Plain-text table."""
        lines = [
            f"{self.model} split {self.split} on {self.data} test (n={self.n}, {self.image_size}px): "
            f"full local top-1 {self.full_local_top1 * 100:.2f} %",
            f"{'xi':>5} {'encoding':>10} {'fused %':>8} {'drop pp':>8} {'edge-only %':>11} "
            f"{'bytes/frame':>11} {'ratio':>6}",
        ]
        for r in self.rows:
            ratio = f"{r.raw_fp32_bytes / r.payload_bytes:6.1f}" if r.payload_bytes else f"{'-':>6}"
            lines.append(
                f"{r.xi:5.2f} {r.encoding:>10} {r.fused_top1 * 100:8.2f} "
                f"{(self.full_local_top1 - r.fused_top1) * 100:8.2f} {r.edge_only_top1 * 100:11.2f} "
                f"{r.payload_bytes:11.1f} {ratio}"
            )
        return "\n".join(lines)


def _codec_round_trip(
    features: torch.Tensor, secondary: torch.Tensor, encoding: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encode+decode each frame's secondary channels; returns the decoded map and byte counts."""
    out = torch.zeros_like(features)
    nbytes = torch.zeros(features.shape[0])
    raw = torch.zeros(features.shape[0])
    for i in range(features.shape[0]):
        idx = torch.nonzero(secondary[i]).reshape(-1)
        if len(idx) == 0:
            continue
        enc = codec.encode(features[i], idx, encoding)
        dec = codec.decode(enc, expected_shape=tuple(features.shape[1:]))
        out[i, dec.indices] = dec.values
        nbytes[i] = enc.nbytes
        raw[i] = dec.values.numel() * 4
    return out, nbytes, raw


@torch.no_grad()
def evaluate(
    net: SplitNet,
    dataset: Dataset,
    data_name: str,
    xis: Sequence[float] = DEFAULT_XIS,
    encodings: Sequence[str] = DEFAULT_ENCODINGS,
    batch_size: int = 250,
    progress: bool = True,
) -> AccuracyReport:
    """Full-local and fused top-1 of ``net`` on ``dataset`` for every ``xi`` x encoding."""
    xis = [check_xi(x) for x in xis]
    for e in encodings:
        codec.parse_encoding(e)
    net.eval()
    n = 0
    full_correct = 0
    keys = [(xi, e) for xi in xis for e in encodings]
    fused_c = dict.fromkeys(keys, 0)
    edge_c = dict.fromkeys(keys, 0)
    bytes_sum = dict.fromkeys(keys, 0.0)
    raw_sum = dict.fromkeys(keys, 0.0)
    loader = DataLoader(dataset, batch_size=batch_size)
    for x, y in tqdm(loader, desc=f"accuracy {net.config.model}", disable=not progress, leave=False):
        features, importance = net.encode(x)
        full = net.tail(features)
        full_correct += int((full.argmax(1) == y).sum())
        n += len(y)
        for xi in xis:
            mask = primary_mask(importance, xi)
            shape = (*mask.shape, *([1] * (features.dim() - 2)))
            m = mask.reshape(shape)
            edge = net.tail(features * m) if bool(mask.any()) else None
            edge_pred = (edge if edge is not None else full).argmax(1)
            for enc in encodings:
                key = (xi, enc)
                edge_c[key] += int((edge_pred == y).sum())
                if xi == 0.0:
                    fused = full if edge is None else edge
                else:
                    sent, nb, raw = _codec_round_trip(features, 1 - mask, enc)
                    cloud = net.tail(sent * (1 - m))
                    fused = cloud if edge is None else net.fusion(edge, cloud, xi)
                    bytes_sum[key] += float(nb.sum())
                    raw_sum[key] += float(raw.sum())
                fused_c[key] += int((fused.argmax(1) == y).sum())
    report = AccuracyReport(
        net.config.model, net.config.split, data_name, net.config.image_size, n, full_correct / max(n, 1)
    )
    for key in keys:
        report.rows.append(
            AccuracyRow(
                key[0], key[1], fused_c[key] / n, edge_c[key] / n, bytes_sum[key] / n, raw_sum[key] / n
            )
        )
    return report

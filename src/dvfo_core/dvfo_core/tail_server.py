"""The cloud side of split inference, free of middleware: queue feature maps, finish them in batches.

One server serves several robots (requests carry a ``robot_id``) and several models (one
:class:`~dvfo_core.split.runner.SplitRunner` per model, loaded on first use). When frames queue up,
those of the same model and split are finished in one batched tail pass: each frame's decoded
secondary channels are zero-filled to the full feature shape, which gives the same logits as the
sliced per-frame tail (the first tail layers are linear in their input channels; a test checks it).
Frames of the image route (``split = "input"``) are finished by the plain model; frames at another
split point of a model than its default checkpoint's are finished with the model's shipped
checkpoint at that split (loaded on first use).

Every frame is screened when it is submitted (:meth:`TailServer.screen`): robot id, model and
split, every payload field against the model's feature shape, then decompressed and dequantised
(numpy, bounded by the declared and checked sizes). A bad frame is rejected there with its reason,
counted, and answered with ``ok = False``; only frames that decoded reach torch.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dvfo_core.errors import DvfoError
from dvfo_core.link.certs import ROBOT_ID
from dvfo_core.split.codec import DecodedFeatures, PayloadRejectedError, RejectReason
from dvfo_core.split.runner import SplitRunner
from dvfo_core.world.routes import INPUT

#: What a model name may look like before the tail looks for its checkpoint (torchvision names).
MODEL_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


class Admission:
    """The tail's caps on what a robot may send: bytes per message and messages per second.

    The rate cap is a token bucket per robot (``max_rate_hz`` tokens a second, a burst of one
    second's worth, at least one message); 0 disables a cap.
    """

    def __init__(self, max_payload_bytes: int = 0, max_rate_hz: float = 0.0) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.max_rate_hz = max_rate_hz
        self.burst = max(1.0, max_rate_hz)
        self._buckets: dict[str, tuple[float, float]] = {}  # robot -> (tokens, last refill)

    def check(self, robot_id: str, nbytes: int, now: float | None = None) -> RejectReason | None:
        """Why a message of ``nbytes`` from ``robot_id`` is refused now, or None when admitted."""
        if self.max_payload_bytes and nbytes > self.max_payload_bytes:
            return RejectReason.TOO_LARGE
        if not self.max_rate_hz:
            return None
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(robot_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.max_rate_hz)
        if tokens < 1.0:
            self._buckets[robot_id] = (tokens, now)
            return RejectReason.RATE_LIMITED
        self._buckets[robot_id] = (tokens - 1.0, now)
        return None


@dataclass
class TailRequest:
    """One offloaded frame waiting for the tail."""

    robot_id: str
    frame_seq: int
    model: str
    split: str
    fields: Any  #: the FeatureMap message (or a dict of its fields)
    stamp: Any  #: the camera frame's stamp, copied to the reply
    received_s: float = field(default_factory=time.monotonic)
    origin: Any = None  #: the link the request came in on, which carries the answer back
    decoded: DecodedFeatures | None = None  #: the checked, decoded channels (set by screening)


@dataclass
class TailReply:
    """The answer to one request."""

    request: TailRequest
    ok: bool
    logits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    error: str = ""
    compute_ms: float = 0.0
    queue_ms: float = 0.0
    batch_size: int = 0


class TailServer:
    """Finishes offloaded feature maps; ``loader(model)`` returns the runner for a model."""

    def __init__(
        self,
        loader: Callable[[str], SplitRunner] | None = None,
        max_batch: int = 8,
        device: str = "cpu",
        admission: Admission | None = None,
    ) -> None:
        self._loader = loader or (lambda model: SplitRunner.from_checkpoint(model=model))
        self.runners: dict[str, SplitRunner] = {}  #: each model's default runner
        self.split_runners: dict[tuple[str, str], SplitRunner] = {}  #: (model, split) of the others
        self.queue: deque[TailRequest] = deque()
        self.max_batch = max_batch
        self.device = torch.device(device)
        self.rejected: Counter[str] = Counter()
        self.served: Counter[str] = Counter()  #: frames answered per robot
        self.batches = 0
        self.admission = admission or Admission()

    def admit(self, robot_id: str, nbytes: int) -> RejectReason | None:
        """Check a message against the caps before decoding it (refuse it with :meth:`refuse`)."""
        return self.admission.check(robot_id, nbytes)

    def refuse(
        self, reason: RejectReason, request: TailRequest | None = None, message: str = ""
    ) -> TailReply | None:
        """Count a message refused before it was queued; the answer to send back, when there is a
        request to answer (a message that could not be read has none)."""
        self.rejected[reason.value] += 1
        if request is None:
            return None
        return TailReply(request, False, error=str(PayloadRejectedError(reason, message or reason.value)))

    def runner(self, model: str, split: str | None = None) -> SplitRunner:
        """The runner of ``model`` at ``split`` (default: the model's default checkpoint; the image
        route's too), loaded once; :class:`PayloadRejectedError` when no shipped checkpoint has it."""
        default = self._default_runner(model)
        if split in (None, INPUT, default.split):
            return default
        key = (model, split)
        if key not in self.split_runners:
            from dvfo_core.split.checkpoint_header import shipped_checkpoints

            path = shipped_checkpoints(model).get(split)
            if path is None:
                raise PayloadRejectedError(
                    RejectReason.MODEL_MISMATCH, f"split {split[:80]!r}: no checkpoint of {model} at it"
                )
            runner = SplitRunner.from_checkpoint(path, encoding=default.encoding)
            runner.net.to(self.device)
            self.split_runners[key] = runner
            self._warm_up(model, runner)
        return self.split_runners[key]

    def _default_runner(self, model: str) -> SplitRunner:
        if model not in self.runners:
            if not MODEL_NAME.fullmatch(model):
                raise PayloadRejectedError(RejectReason.MODEL_MISMATCH, f"{model[:80]!r} is not a model name")
            try:
                runner = self._loader(model)
            except (DvfoError, FileNotFoundError, ValueError) as exc:
                raise PayloadRejectedError(
                    RejectReason.MODEL_MISMATCH, f"cannot serve model {model!r}: {exc}"
                ) from None
            runner.net.to(self.device)
            self.runners[model] = runner
            self._warm_up(model, runner)
        return self.runners[model]

    def screen(self, request: TailRequest) -> DecodedFeatures:
        """Check a frame and decode its channels, before any torch work; raises
        :class:`PayloadRejectedError` with the reason of the first check it fails."""
        if not ROBOT_ID.fullmatch(request.robot_id):
            why = f"{request.robot_id[:80]!r} is not a robot id (1-64 letters, digits, _, -)"
            raise PayloadRejectedError(RejectReason.ROBOT_ID, why)
        runner = self.runner(request.model, request.split)
        return runner.decode(request.fields, model=request.model, split=request.split)

    def _warm_up(self, model: str, runner: SplitRunner) -> None:
        """One blank frame through the path a request takes (decode, cloud tail): torch's first
        call is slow (1.4 s here, 0.2 s after), and the first frame a robot offloads would miss its
        cloud time-out and fall back. Not counted as served."""
        counts = (self.served.copy(), self.rejected.copy(), self.batches)
        size = runner.net.config.image_size
        head_out = runner.head(runner.preprocess(np.zeros((size, size, 3), np.uint8)))
        _primary, secondary = runner.partition(head_out, 0.5)
        payload = runner.encode_secondary(head_out, secondary)
        if payload is not None:
            request = TailRequest("warm-up", 0, runner.model, runner.split, payload.to_msg_fields(), None)
            request.decoded = runner.decode(payload)
            self._finish(model, [request])
        self.served, self.rejected, self.batches = counts

    def submit(self, request: TailRequest) -> TailReply | None:
        """Screen one frame and queue it; the refusal to answer at once when it is rejected."""
        try:
            request.decoded = self.screen(request)
        except PayloadRejectedError as exc:
            return self._reject(request, exc)
        self.queue.append(request)
        return None

    def process(self) -> list[TailReply]:
        """Finish up to ``max_batch`` queued frames of the oldest frame's model and split."""
        if not self.queue:
            return []
        model, split = self.queue[0].model, self.queue[0].split
        batch: list[TailRequest] = []
        rest: deque[TailRequest] = deque()
        while self.queue:
            req = self.queue.popleft()
            same = req.model == model and req.split == split
            (batch if same and len(batch) < self.max_batch else rest).append(req)
        self.queue = rest
        return self._finish(model, batch)

    def _finish(self, model: str, batch: list[TailRequest]) -> list[TailReply]:
        runner = self.runner(model, batch[0].split)  # screening loaded it
        decoded = [req.decoded for req in batch]
        if any(d is None for d in decoded):
            raise ValueError("only screened frames (TailServer.submit) can be finished")
        start = time.monotonic()
        with torch.no_grad():
            image_route = batch[0].split == INPUT  # the plain model on the camera image
            if len(decoded) == 1 and not image_route:
                logits = runner.cloud_tail(decoded[0])[None]
            else:
                full = torch.stack([d.full() for d in decoded]).to(self.device)
                logits = runner.cloud_plain(full) if image_route else runner.net.tail(full)
        compute_ms = (time.monotonic() - start) * 1e3
        self.batches += 1
        return [
            self._served(req, row, compute_ms, start, len(batch))
            for req, row in zip(batch, logits.cpu().numpy().astype(np.float32), strict=True)
        ]

    def _served(
        self, req: TailRequest, logits: np.ndarray, compute_ms: float, start: float, n: int
    ) -> TailReply:
        self.served[req.robot_id] += 1
        queue_ms = (start - req.received_s) * 1e3
        return TailReply(req, True, logits, compute_ms=compute_ms, queue_ms=queue_ms, batch_size=n)

    def _reject(self, req: TailRequest, exc: PayloadRejectedError) -> TailReply:
        self.rejected[exc.reason.value] += 1
        return TailReply(req, False, error=str(exc))

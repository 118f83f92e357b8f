"""Names and defaults of the split-inference code that the ``dvfo`` command line shows, torch-free.

``dvfo --help`` builds every sub-command's parser; reading these from the modules that define the
models and the codec would import torch (seconds, ~700 MB) just to print help. The modules that
do the work import their constants from here, so each is still defined once.
"""

from __future__ import annotations

#: Zoo model names, in :data:`dvfo_core.split.zoo.MODELS` order (a test keeps the two equal).
MODEL_NAMES = ("resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vgg16", "vit_b_16")

#: Feature-map codec: quantisations x compressors (``int8+zstd``, ...).
QUANTS = ("int8", "int4", "fp16", "fp32")
COMPRESSORS = ("zstd", "lz4", "none")
ENCODINGS = tuple(f"{q}+{c}" for q in QUANTS for c in COMPRESSORS)
DEFAULT_ENCODING = "int8+zstd"

#: ``dvfo accuracy`` defaults.
DEFAULT_XIS = (0.0, 0.25, 0.5, 0.75, 1.0)
DEFAULT_ENCODINGS = ("int8+zstd", "int4+zstd", "fp16+lz4")

#: How checkpoint weights are stored.
WEIGHT_DTYPES = ("fp32", "fp16", "int8")

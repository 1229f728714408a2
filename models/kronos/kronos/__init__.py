"""Kronos for KOKEX: the PyTorch model, two-stage training and ONNX export.

The module layout mirrors the official checkpoints (shiyu-coder/Kronos) parameter for
parameter, so `load_official` can load a downloaded Hugging Face directory with a strict
key check. Behaviour deliberately follows the official *eval-mode* semantics; see
`modules.DependencyAwareLayer` for the one place where we differ from upstream training.
"""

from .config import (
    PREDICTOR_CONFIGS,
    TOKENIZER_CONFIGS,
    PredictorConfig,
    TokenizerConfig,
    predictor_param_count,
    tokenizer_param_count,
)
from .predictor import Kronos
from .tokenizer import KronosTokenizer

__all__ = [
    "Kronos",
    "KronosTokenizer",
    "PredictorConfig",
    "TokenizerConfig",
    "PREDICTOR_CONFIGS",
    "TOKENIZER_CONFIGS",
    "predictor_param_count",
    "tokenizer_param_count",
]

__version__ = "0.1.0"

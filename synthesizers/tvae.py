"""TVAE backed by SDV's TVAESynthesizer."""

from __future__ import annotations

import contextlib
from typing import Any

import ctgan.synthesizers.tvae as tvae_module
from sdv.single_table import TVAESynthesizer

from synthesizers.params import TVAEParams
from synthesizers.progress import ProgressCallback
from synthesizers.sdv_backed import SdvBackedSynthesizer, epoch_progress


class TVAE(SdvBackedSynthesizer):
    """Registered as ``tvae``."""

    name = "tvae"
    params_model = TVAEParams

    def _make(self, metadata: Any) -> Any:
        p: TVAEParams = self.params  # type: ignore[assignment]
        return TVAESynthesizer(
            metadata,
            epochs=p.epochs,
            batch_size=p.batch_size,
            embedding_dim=p.embedding_dim,
            compress_dims=tuple(p.compress_dims),
            decompress_dims=tuple(p.decompress_dims),
            l2scale=p.l2scale,
            loss_factor=p.loss_factor,
            enforce_min_max_values=False,
            enforce_rounding=False,
            verbose=False,
            enable_gpu=False,
        )

    def _epoch_hook(self, progress: ProgressCallback) -> contextlib.AbstractContextManager[None]:
        return epoch_progress(tvae_module, self, progress)

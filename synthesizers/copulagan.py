"""CopulaGAN backed by SDV's CopulaGANSynthesizer."""

from __future__ import annotations

import contextlib
from typing import Any

from sdv.single_table import CopulaGANSynthesizer

from synthesizers.ctgan import ctgan_epoch_hook, ctgan_kwargs
from synthesizers.params import CopulaGANParams
from synthesizers.progress import ProgressCallback
from synthesizers.sdv_backed import SdvBackedSynthesizer


class CopulaGAN(SdvBackedSynthesizer):
    """Registered as ``copulagan``."""

    name = "copulagan"
    params_model = CopulaGANParams

    def _make(self, metadata: Any) -> Any:
        p: CopulaGANParams = self.params  # type: ignore[assignment]
        return CopulaGANSynthesizer(
            metadata,
            **ctgan_kwargs(p),
            default_distribution=p.default_distribution,
            numerical_distributions=self._distributions_by_model_column(p.numerical_distributions),
        )

    def _epoch_hook(self, progress: ProgressCallback) -> contextlib.AbstractContextManager[None]:
        return ctgan_epoch_hook(self, progress)

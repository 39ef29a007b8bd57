"""CTGAN backed by SDV's CTGANSynthesizer."""

from __future__ import annotations

import contextlib
from typing import Any

import ctgan.synthesizers.ctgan as ctgan_module
from sdv.single_table import CTGANSynthesizer

from synthesizers.params import CTGANParams
from synthesizers.progress import ProgressCallback
from synthesizers.sdv_backed import SdvBackedSynthesizer, epoch_progress


def ctgan_kwargs(params: CTGANParams) -> dict[str, Any]:
    """SDV keyword arguments for the CTGAN parameter set."""
    return {
        "epochs": params.epochs,
        "batch_size": params.batch_size,
        "embedding_dim": params.embedding_dim,
        "generator_dim": tuple(params.generator_dim),
        "discriminator_dim": tuple(params.discriminator_dim),
        "generator_lr": params.generator_lr,
        "generator_decay": params.generator_decay,
        "discriminator_lr": params.discriminator_lr,
        "discriminator_decay": params.discriminator_decay,
        "discriminator_steps": params.discriminator_steps,
        "log_frequency": params.log_frequency,
        "pac": params.pac,
        "enforce_min_max_values": False,
        "enforce_rounding": False,
        "verbose": False,
        "enable_gpu": False,
    }


def ctgan_epoch_hook(
    synth: SdvBackedSynthesizer, progress: ProgressCallback
) -> contextlib.AbstractContextManager[None]:
    """Per-epoch progress of the CTGAN loop (also used by CopulaGAN)."""
    return epoch_progress(ctgan_module, synth, progress)


class CTGAN(SdvBackedSynthesizer):
    """Registered as ``ctgan``."""

    name = "ctgan"
    params_model = CTGANParams

    def _make(self, metadata: Any) -> Any:
        return CTGANSynthesizer(metadata, **ctgan_kwargs(self.params))  # type: ignore[arg-type]

    def _epoch_hook(self, progress: ProgressCallback) -> contextlib.AbstractContextManager[None]:
        return ctgan_epoch_hook(self, progress)

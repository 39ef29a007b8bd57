"""The one explicit registry of synthesizers: name -> class, parameter model, description.

Classes are imported lazily, so that listing synthesizers (and everything outside the
SDV-backed modules) works without the BSL-licensed SDV packages installed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from synthesizers.base import Synthesizer
from synthesizers.errors import MissingExtraError, UnknownSynthesizerError
from synthesizers.params import (
    ArgnParams,
    CartParams,
    CopulaGANParams,
    CTGANParams,
    GaussianCopulaParams,
    TVAEParams,
)


@dataclass(frozen=True)
class SynthesizerInfo:
    """What the registry knows about one synthesizer."""

    name: str
    description: str
    params_model: type[BaseModel]
    module: str
    class_name: str
    extra: str | None = None

    def load_class(self) -> type[Synthesizer]:
        """Import the implementing class (raises a clear error if its extra is missing)."""
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if (
                self.extra
                and exc.name
                and exc.name.split(".")[0] in ("sdv", "ctgan", "rdt", "copulas", "torch")
            ):
                raise MissingExtraError(
                    f"synthesizer '{self.name}' needs the '{self.extra}' extra: "
                    f"pip install 'cinnamon-synthetization[{self.extra}]'"
                ) from exc
            raise
        cls: type[Synthesizer] = getattr(module, self.class_name)
        return cls

    def parameters_schema(self) -> dict[str, Any]:
        """JSON Schema of the parameters (ranges, defaults, descriptions)."""
        return self.params_model.model_json_schema()


REGISTRY: dict[str, SynthesizerInfo] = {
    info.name: info
    for info in (
        SynthesizerInfo(
            "gaussian_copula",
            "Gaussian copula (SDV): fast statistical model; marginals per column, dependence "
            "as a correlation matrix of normal scores.",
            GaussianCopulaParams,
            "synthesizers.gaussian_copula",
            "GaussianCopula",
            "sdv",
        ),
        SynthesizerInfo(
            "ctgan",
            "CTGAN (SDV): conditional generative adversarial network for mixed tables; slow "
            "on a CPU, needs many epochs.",
            CTGANParams,
            "synthesizers.ctgan",
            "CTGAN",
            "sdv",
        ),
        SynthesizerInfo(
            "tvae",
            "TVAE (SDV): variational autoencoder for mixed tables; faster than CTGAN, may "
            "stay close to training rows.",
            TVAEParams,
            "synthesizers.tvae",
            "TVAE",
            "sdv",
        ),
        SynthesizerInfo(
            "cart",
            "CART (ours, no SDV): each column drawn from a decision tree's leaf given the columns "
            "before it; fast on a CPU, at least 5 real rows behind every draw, continuous "
            "numbers smoothed.",
            CartParams,
            "synthesizers.cart",
            "Cart",
        ),
        SynthesizerInfo(
            "argn",
            "ARGN (ours, no SDV; torch): an autoregressive network over discretized columns, "
            "trained in random column orders so it can condition on any columns; early "
            "stopping and a time budget.",
            ArgnParams,
            "synthesizers.argn",
            "Argn",
            "argn",
        ),
        SynthesizerInfo(
            "copulagan",
            "CopulaGAN (SDV): CTGAN trained on columns mapped through fitted marginals.",
            CopulaGANParams,
            "synthesizers.copulagan",
            "CopulaGAN",
            "sdv",
        ),
    )
}


def get_info(name: str) -> SynthesizerInfo:
    """Registry entry for a name; an unknown name lists the valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(REGISTRY))
        raise UnknownSynthesizerError(f"unknown synthesizer; valid names: {valid}") from None


def create(
    name: str, params: BaseModel | dict[str, Any] | None = None, *, seed: int = 0, threads: int = 0
) -> Synthesizer:
    """Instantiate a registered synthesizer with validated parameters."""
    info = get_info(name)
    from synthesizers.base import validate_params

    validated = validate_params(info.params_model, params)  # before importing heavy modules
    return info.load_class()(validated, seed=seed, threads=threads)

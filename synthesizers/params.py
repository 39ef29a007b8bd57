"""Parameter models of the registered synthesizers (pure pydantic: importable without SDV)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Distribution = Literal["empirical", "norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde"]
LayerSizes = tuple[int, ...]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GaussianCopulaParams(_Params):
    """Gaussian copula: per-column marginals joined by a correlation matrix."""

    default_distribution: Distribution = Field(
        "empirical",
        description="marginal of numeric columns: 'empirical' (interpolated quantiles, exact "
        "shapes, fast) or one of SDV's parametric families (SDV's own default is 'beta')",
    )
    numerical_distributions: dict[str, Distribution] = Field(
        default_factory=dict, description="per-column marginal, by column name"
    )


class _NeuralParams(_Params):
    epochs: int = Field(300, ge=1, le=10_000, description="passes over the training rows")
    batch_size: int = Field(500, ge=10, le=50_000, description="rows per gradient step")
    embedding_dim: int = Field(128, ge=2, le=1024, description="size of the latent vector")


def _layers(default: LayerSizes, what: str) -> LayerSizes:
    return Field(default, min_length=1, max_length=8, description=f"{what} layer sizes")


class CTGANParams(_NeuralParams):
    """Conditional GAN (Xu et al., 2019) as implemented by SDV/CTGAN."""

    generator_dim: LayerSizes = _layers((256, 256), "generator")
    discriminator_dim: LayerSizes = _layers((256, 256), "discriminator")
    generator_lr: float = Field(2e-4, gt=0, le=1)
    generator_decay: float = Field(1e-6, ge=0, le=1)
    discriminator_lr: float = Field(2e-4, gt=0, le=1)
    discriminator_decay: float = Field(1e-6, ge=0, le=1)
    discriminator_steps: int = Field(1, ge=1, le=20)
    log_frequency: bool = True
    pac: int = Field(10, ge=1, le=100, description="rows the discriminator sees together")

    @model_validator(mode="after")
    def _batch_multiple_of_pac(self) -> CTGANParams:
        if self.batch_size % self.pac:
            raise ValueError("batch_size must be a multiple of pac")
        if self.batch_size % 2:
            raise ValueError("batch_size must be even (CTGAN trains on pairs of half-batches)")
        for size in (*self.generator_dim, *self.discriminator_dim):
            if not 1 <= size <= 4096:
                raise ValueError("layer sizes must be between 1 and 4096")
        return self


class TVAEParams(_NeuralParams):
    """Tabular variational autoencoder as implemented by SDV/CTGAN."""

    compress_dims: LayerSizes = _layers((128, 128), "encoder")
    decompress_dims: LayerSizes = _layers((128, 128), "decoder")
    l2scale: float = Field(1e-5, ge=0, le=1)
    loss_factor: float = Field(2.0, gt=0, le=100)

    @model_validator(mode="after")
    def _layer_sizes(self) -> TVAEParams:
        for size in (*self.compress_dims, *self.decompress_dims):
            if not 1 <= size <= 4096:
                raise ValueError("layer sizes must be between 1 and 4096")
        return self


class CopulaGANParams(CTGANParams):
    """CTGAN on columns first mapped through fitted marginals (SDV's CopulaGAN)."""

    default_distribution: Literal[
        "norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde"
    ] = "beta"
    numerical_distributions: dict[
        str, Literal["norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde"]
    ] = Field(default_factory=dict)


class CartParams(_Params):
    """Sequential decision-tree synthesis (synthpop's CART method, our implementation)."""

    min_samples_leaf: int | None = Field(
        None,
        ge=3,
        le=10_000,
        description="fewest real rows in a tree leaf: every draw has at least this many donors "
        "(the main privacy dial); None: one in 400 training rows on large tables (97 for "
        "39,000), 60,000 / rows on smaller ones (at most 60: 60 up to 1,000 rows, 17 for "
        "3,500), at least 5; a number present in too few rows for that to allow one split "
        "(a sparse column) gets the largest leaf that does, at least 5",
    )

    def leaf_rows(self, rows: int) -> int:
        """The leaf minimum for a table of ``rows`` training rows."""
        # small tables get large leaves: with 5-row leaves on 500 rows our report found 61-65% of
        # the synthetic rows closer to a training row than unseen rows are; 60 gave fresh rows
        # at the same fidelity, and 17 rather than 8 on 3,500 rows (bench/README.md)
        return self.min_samples_leaf or max(5, rows // 400, min(60, 60_000 // max(rows, 1)))

    max_depth: int | None = Field(
        None, ge=1, le=64, description="deepest tree; None: grow until the leaf minimum"
    )
    smoothing: Literal["density", "none"] = Field(
        "density",
        description="'density': continuous numbers drawn with Gaussian kernel noise "
        "(Silverman's bandwidth), so no training value is replayed; 'none': donors as they are",
    )
    visit_order: list[str] | None = Field(
        None,
        max_length=10_000,
        description="columns visited first, in this order (the rest follow in the default "
        "order: categories with few levels, numbers, categories with many levels)",
    )


class ArgnParams(_Params):
    """Autoregressive network over discretized columns (TabularARGN design, our code)."""

    max_epochs: int = Field(100, ge=1, le=10_000, description="most passes over the rows")
    max_training_seconds: float = Field(
        600.0, gt=0, le=86_400, description="wall-clock budget: the best epoch so far is kept"
    )
    patience: int = Field(
        4, ge=1, le=1000, description="epochs without a better validation loss before stopping"
    )
    validation_share: float = Field(
        0.2, ge=0.05, le=0.5, description="share of the training rows held out to stop early"
    )
    batch_size: int | None = Field(
        None, ge=8, le=65_536, description="rows per step; None: 2^floor(log2(rows/64)) in 8..2048"
    )
    learning_rate: float | None = Field(
        None, gt=0, le=1, description="AdamW step size; None: 0.001 * sqrt(batch / 32)"
    )
    max_bins: int = Field(
        100, ge=2, le=1000, description="most tokens of a number (exact values and quantile bins)"
    )
    hidden_scale: float = Field(
        1.0, gt=0, le=16, description="multiplies each head's hidden units (16 * ln levels)"
    )
    dropout: float = Field(0.25, ge=0, lt=1, description="dropout before each head's layer")
    fixed_order_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of training batches in the table's column order (the order rows are "
        "generated in); the others use random orders, so any columns can be conditioned on",
    )

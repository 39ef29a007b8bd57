"""The Cinnamon platform's view of our synthesizers: definition YAMLs and parameter mapping.

Definitions are generated from the parameter models (``model_json_schema()``): every field
becomes a form parameter with its type, default, bounds and choices. Two deviations, both
made so that the platform's own configurations and ours share one vocabulary:

- layer-size tuples (``generator_dim``/``discriminator_dim``, ``compress_dims``/
  ``decompress_dims``) are offered as the platform's ``number_of_layers`` and
  ``number_of_units_in_layers``, applied to every layer tuple of the model (the platform's
  ctgan/tvae definitions use these names). Our own names are accepted in configurations too;
- mapping-valued fields (per-column distributions) cannot be entered in the platform's form
  and are not offered, but are accepted by name.

:func:`algorithm_to_spec` maps a parsed algorithm configuration onto a validated
:class:`~config.job.SynthesizerSpec`, with errors pointing into the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from config.cinnamon import (
    ALGORITHM_POINTER,
    MAX_NUM_SAMPLES,
    CinnamonAlgorithm,
    parse_algorithm_config,
    parse_attribute_config,
)
from config.errors import ConfigError, FieldProblem
from config.job import SynthesizerSpec
from config.schema import DatasetSchema
from preprocessing.timestamps import NAT, DateFormatError, compile_pattern
from synthesizers.registry import REGISTRY

DEFINITION_VERSION = "0.1"
DEFINITION_TYPE = "cross-sectional"
ROWS_PLACEHOLDER = "$dataset.original.numberRows"
LAYERS = "number_of_layers"
UNITS = "number_of_units_in_layers"
LAYER_UNITS_RANGE = (1, 4096)  # enforced by the params models' own validators
# settings of older platform configurations that have no counterpart here
IGNORED_PARAMETERS = {
    "verbose": "logging switch of the previous module",
    "train": "hold-out share of the previous module; we train on all rows",
}

_DISPLAY_NAMES = {
    "gaussian_copula": "Gaussian Copula",
    "ctgan": "Conditional Tabular GAN",
    "tvae": "Tabular Variational Autoencoder",
    "copulagan": "Copula GAN",
    "cart": "CART (sequential decision trees)",
    "argn": "Autoregressive Network (ARGN)",
}
_FITTING = frozenset(
    {
        "epochs",
        "batch_size",
        "generator_lr",
        "generator_decay",
        "discriminator_lr",
        "discriminator_decay",
        "discriminator_steps",
        "log_frequency",
        "l2scale",
        "loss_factor",
        "max_epochs",
        "max_training_seconds",
        "patience",
        "validation_share",
        "learning_rate",
    }
)
_GROUPS = {
    "model_parameter": ("Model Architecture", "Define the architecture of the model."),
    "model_fitting": ("Training Parameters", "Define the parameters used for training."),
    "sampling": ("Sampling", "Define how the synthetic data is generated."),
}
_LABELS = {
    "embedding_dim": "Embedding Dimensions",
    "generator_lr": "Generator Learning Rate",
    "discriminator_lr": "Discriminator Learning Rate",
    "l2scale": "L2 Regularisation",
    "pac": "Packing Size",
    "batch_size": "Batch Size",
    "epochs": "Number of Epochs",
}
_DESCRIPTIONS = {
    "generator_lr": "learning rate of the generator's Adam optimiser",
    "generator_decay": "weight decay of the generator's Adam optimiser",
    "discriminator_lr": "learning rate of the discriminator's Adam optimiser",
    "discriminator_decay": "weight decay of the discriminator's Adam optimiser",
    "discriminator_steps": "discriminator updates per generator update",
    "log_frequency": "condition on categories by their log frequency during training",
    "l2scale": "L2 weight regularisation of the autoencoder",
    "loss_factor": "weight of the reconstruction error in the loss",
    "default_distribution": "marginal distribution of numeric columns",
}


class _TimestampPatterns:
    """DatePatternChecker backed by the preprocessing's pattern converter."""

    def has_time(self, pattern: str) -> bool:
        try:
            return compile_pattern(pattern).has_time
        except DateFormatError as exc:
            raise ValueError(exc.message) from None

    def matches(self, pattern: str, value: str) -> bool:
        compiled = compile_pattern(pattern)
        series = pd.Series([value], dtype=object)
        if not bool(compiled.match(series).iloc[0]):
            return False
        ns, _ = compiled.parse(series)
        return bool(ns[0] != NAT)


TIMESTAMP_PATTERNS = _TimestampPatterns()


@dataclass(frozen=True)
class CinnamonSpec:
    """A platform algorithm configuration mapped onto one of our synthesizers."""

    synthesizer: SynthesizerSpec
    num_rows: int | None
    ignored: list[str] = field(default_factory=list)
    adjusted: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- definitions


def _layer_fields(schema: Mapping[str, Any]) -> list[str]:
    """Fields holding layer sizes (arrays of integers)."""
    return [
        name
        for name, prop in schema["properties"].items()
        if prop.get("type") == "array" and prop.get("items", {}).get("type") == "integer"
    ]


def _resolve(prop: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        merged = dict(schema["$defs"][ref.removeprefix("#/$defs/")])
        merged.update({k: v for k, v in prop.items() if k != "$ref"})
        return merged
    return prop


def _parameter(name: str, prop: Mapping[str, Any]) -> dict[str, Any] | None:
    """One form parameter from a JSON-schema property, or None if the form cannot hold it."""
    kinds = {"integer": "integer", "number": "float", "string": "string", "boolean": "boolean"}
    kind = kinds.get(prop.get("type", ""))
    if kind is None:
        return None
    description = prop.get("description") or _DESCRIPTIONS.get(name) or prop.get("title", name)
    out: dict[str, Any] = {
        "name": name,
        "type": kind,
        "label": _LABELS.get(name, prop.get("title", name)),
        "description": description[:1].upper() + description[1:],
        "default_value": prop.get("default"),
    }
    if "minimum" in prop:
        out["min_value"] = prop["minimum"]
    elif "exclusiveMinimum" in prop:
        out["min_value"] = prop["exclusiveMinimum"]
        out["description"] += f" (greater than {prop['exclusiveMinimum']})"
    if "maximum" in prop:
        out["max_value"] = prop["maximum"]
    elif "exclusiveMaximum" in prop:
        out["max_value"] = prop["exclusiveMaximum"]
        out["description"] += f" (less than {prop['exclusiveMaximum']})"
    if "enum" in prop:
        out["values"] = list(prop["enum"])
    return out


def _layer_parameters(schema: Mapping[str, Any], fields: list[str]) -> list[dict[str, Any]]:
    props = [schema["properties"][f] for f in fields]
    defaults = {tuple(p["default"]) for p in props}
    (default,) = defaults  # our models give all their layer tuples the same default
    parts = " and ".join(p.get("description", "").removesuffix(" layer sizes") for p in props)
    return [
        {
            "name": LAYERS,
            "type": "integer",
            "label": "Hidden Layers",
            "description": f"Number of hidden layers, used in both {parts}.",
            "default_value": len(default),
            "min_value": max(p.get("minItems", 1) for p in props),
            "max_value": min(p.get("maxItems", 8) for p in props),
        },
        {
            "name": UNITS,
            "type": "integer",
            "label": "Hidden Units",
            "description": f"Width of every hidden layer, used in both {parts}.",
            "default_value": default[0],
            "min_value": LAYER_UNITS_RANGE[0],
            "max_value": LAYER_UNITS_RANGE[1],
        },
    ]


def _num_samples_parameter() -> dict[str, Any]:
    return {
        "name": "num_samples",
        "type": "integer",
        "label": "Samples",
        "description": "The number of synthetic rows to generate.",
        "default_value": ROWS_PLACEHOLDER,
        "min_value": 1,
        "max_value": MAX_NUM_SAMPLES,
    }


def _info(name: str) -> Any:
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"unknown synthesizer; valid names: {valid}") from None


def _summary(name: str) -> dict[str, Any]:
    info = _info(name)
    return {
        "name": name,
        "version": DEFINITION_VERSION,
        "type": DEFINITION_TYPE,
        "display_name": _DISPLAY_NAMES.get(name, name.replace("_", " ").title()),
        "description": info.description,
    }


def definition(name: str) -> dict[str, Any]:
    """The platform's definition (form) of one registered synthesizer, as a mapping."""
    info = _info(name)
    schema = info.params_model.model_json_schema()
    layers = _layer_fields(schema)
    architecture: list[dict[str, Any]] = []
    fitting: list[dict[str, Any]] = []
    for field_name, raw in schema["properties"].items():
        if field_name in layers:
            if field_name == layers[0]:
                architecture.extend(_layer_parameters(schema, layers))
            continue
        param = _parameter(field_name, _resolve(raw, schema))
        if param is not None:
            (fitting if field_name in _FITTING else architecture).append(param)
    groups: dict[str, list[dict[str, Any]]] = {
        "model_parameter": architecture,
        "model_fitting": fitting,
        "sampling": [_num_samples_parameter()],
    }
    return {
        **_summary(name),
        "URL": f"/start_synthetization_process/{name}",
        "processing_capabilities": {"data_modality": "structured_only"},
        "configurations": {
            group: {
                "display_name": _GROUPS[group][0],
                "description": _GROUPS[group][1],
                "parameters": params,
            }
            for group, params in groups.items()
            if params
        },
    }


def _dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def definition_yaml(name: str) -> str:
    """The definition YAML the platform renders its form from (served per synthesizer)."""
    return _dump(definition(name))


def algorithms_yaml() -> str:
    """The body of ``GET /get_algorithms``: every registered synthesizer."""
    entries = [
        {
            **_summary(name),
            "URL": f"/synthesizer_config/{name}.yaml",
            "processing_capabilities": {"data_modality": "structured_only"},
        }
        for name in REGISTRY
    ]
    return _dump({"algorithms": entries})


# --------------------------------------------------------------------------- configurations


def algorithm_to_spec(alg: CinnamonAlgorithm) -> CinnamonSpec:
    """Map a parsed algorithm configuration onto a registered synthesizer's validated
    parameters (our names); errors point at the parameters in the platform's document."""
    if alg.synthesizer not in REGISTRY:
        valid = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            "invalid algorithm configuration",
            [FieldProblem(alg.synthesizer_pointer, f"unknown synthesizer; valid names: {valid}")],
        )
    model: type[BaseModel] = REGISTRY[alg.synthesizer].params_model
    schema = model.model_json_schema()
    params = dict(alg.params)
    pointers = dict(alg.pointers)
    ignored = list(alg.ignored)
    adjusted: list[str] = []
    problems: list[FieldProblem] = []
    for name in IGNORED_PARAMETERS:
        if name in params and name not in model.model_fields:
            del params[name]
            ignored.append(pointers[name])
    layers = _layer_fields(schema)
    if LAYERS in params or UNITS in params:
        problems += _map_layers(params, pointers, layers, schema)
    unknown = [n for n in params if n not in model.model_fields]
    for name in unknown:
        problems.append(
            FieldProblem(pointers[name], f"not a parameter of synthesizer '{alg.synthesizer}'")
        )
    if problems:
        raise ConfigError("invalid algorithm configuration", problems)
    _adjust_pac(params, model, adjusted)
    try:
        validated = model.model_validate(params)
    except ValidationError as exc:
        raise ConfigError(
            "invalid algorithm configuration", _problems(exc, pointers, layers)
        ) from None
    return CinnamonSpec(
        synthesizer=SynthesizerSpec(name=alg.synthesizer, params=validated.model_dump(mode="json")),
        num_rows=alg.num_rows,
        ignored=ignored,
        adjusted=adjusted,
    )


def _map_layers(
    params: dict[str, Any], pointers: dict[str, str], layers: list[str], schema: Mapping[str, Any]
) -> list[FieldProblem]:
    """Replace number_of_layers/number_of_units_in_layers by the model's layer tuples."""
    given = [n for n in (LAYERS, UNITS) if n in params]
    if not layers:
        return []  # left in params: reported as unknown parameters
    clash = [n for n in layers if n in params]
    if clash:
        for name in given:
            del params[name]
        return [FieldProblem(pointers[n], f"give either {LAYERS}/{UNITS} or {n}") for n in clash]
    default = schema["properties"][layers[0]]["default"]
    count = params.pop(LAYERS, len(default))
    units = params.pop(UNITS, default[0])
    bounds = {
        LAYERS: (
            max(schema["properties"][f].get("minItems", 1) for f in layers),
            min(schema["properties"][f].get("maxItems", 8) for f in layers),
        ),
        UNITS: LAYER_UNITS_RANGE,
    }
    problems = []
    for name, value in ((LAYERS, count), (UNITS, units)):
        lo, hi = bounds[name]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            if name in given:
                problems.append(FieldProblem(pointers[name], "must be a whole number"))
        elif not lo <= value <= hi:
            problems.append(FieldProblem(pointers[name], f"must be between {lo} and {hi}"))
    if problems:
        return problems
    for name in layers:
        params[name] = [int(units)] * int(count)
        pointers[name] = pointers.get(UNITS) or pointers[LAYERS]
    return []


def _adjust_pac(params: dict[str, Any], model: type[BaseModel], adjusted: list[str]) -> None:
    """Without an explicit ``pac``, pick the largest one up to the default that divides the
    batch size (the platform's forms offer batch sizes like 128 but no ``pac``)."""
    pac_field = model.model_fields.get("pac")
    batch = params.get("batch_size")
    if (
        pac_field is None
        or "pac" in params
        or isinstance(batch, bool)
        or not isinstance(batch, int)
    ):
        return
    default = int(pac_field.default)
    if batch <= 0 or batch % default == 0:
        return
    params["pac"] = max(d for d in range(1, default + 1) if batch % d == 0)
    adjusted.append("pac lowered to a divisor of batch_size")


def _problems(
    exc: ValidationError, pointers: Mapping[str, str], layers: list[str]
) -> list[FieldProblem]:
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = err["loc"]
        if not loc:
            out.append(FieldProblem(ALGORITHM_POINTER, err["msg"]))
            continue
        base = pointers.get(str(loc[0]), f"{ALGORITHM_POINTER}/{loc[0]}")
        rest = "" if str(loc[0]) in layers else "".join(f"/{p}" for p in loc[1:])
        out.append(FieldProblem(base + rest, err["msg"]))
    return out


# --------------------------------------------------------------------------- one call


def parse_cinnamon_configs(
    attribute_doc: object, algorithm_doc: object
) -> tuple[DatasetSchema, CinnamonSpec]:
    """Parse both platform documents of a start request (either may be the whole
    all-configurations document) into our schema and a validated synthesizer spec."""
    schema = parse_attribute_config(attribute_doc, dates=TIMESTAMP_PATTERNS)
    alg = parse_algorithm_config(algorithm_doc, valid_names=sorted(REGISTRY))
    return schema, algorithm_to_spec(alg)

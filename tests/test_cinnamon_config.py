"""The Cinnamon platform's configuration formats: attribute and algorithm configs, and the
definition YAMLs we serve for our own synthesizers."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from config.cinnamon import (
    check_header,
    parse_algorithm_config,
    parse_attribute_config,
)
from config.errors import ConfigError
from config.loader import load_document, load_file
from config.schema import ColumnKind, ColumnSpec, merge_schema, parse_schema
from config.settings import Limits
from preprocessing.inference import infer_schema
from preprocessing.pipeline import Pipeline
from preprocessing.readers import read_table
from synthesizers.definitions import (
    TIMESTAMP_PATTERNS,
    algorithm_to_spec,
    algorithms_yaml,
    definition_yaml,
    parse_cinnamon_configs,
)
from synthesizers.registry import REGISTRY
from tests.conftest import CINNAMON

DATASETS = sorted(p.parent.name for p in CINNAMON.glob("*/attribute_config.yaml"))
ALGORITHM_CONFIGS = sorted(
    p.relative_to(CINNAMON).as_posix() for p in CINNAMON.glob("*/algorithm_config*.yaml")
)
ALL_CONFIGURATIONS = sorted(p.parent.name for p in CINNAMON.glob("*/all-configurations.yaml"))
ALG = "/synthetization_configuration/algorithm"


def _pointers(exc: ConfigError) -> list[str]:
    return [p.pointer for p in exc.problems]


def _attributes(name: str) -> Any:
    return load_file(CINNAMON / name / "attribute_config.yaml")


def _column(
    name: str, kind: str, subs: list[dict[str, Any]] | None = None, index: int = 0
) -> dict[str, Any]:
    return {"index": index, "name": name, "type": kind, "scale": "NOMINAL", "configurations": subs}


def _parse(*entries: dict[str, Any]) -> Any:
    return parse_attribute_config({"configurations": list(entries)}, dates=TIMESTAMP_PATTERNS)


def _errors(*entries: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _parse(*entries)
    return info.value


# --------------------------------------------------------------------------- fixtures


def test_every_dataset_folder_is_covered() -> None:
    assert len(DATASETS) >= 9 and "mixed_types" in DATASETS
    assert "stroke/algorithm_config.yaml" in ALGORITHM_CONFIGS


@pytest.mark.parametrize("dataset", DATASETS)
def test_attribute_config_parses_and_matches_the_data_header(dataset: str) -> None:
    schema = parse_attribute_config(_attributes(dataset), dates=TIMESTAMP_PATTERNS)
    frame, _ = read_table(CINNAMON / dataset / "data.csv", Limits())  # BOM, CR, CRLF
    check_header(schema, list(frame.columns))
    assert list(schema.columns) == list(frame.columns)  # index order is the CSV order
    assert all(spec.kind is not None for spec in schema.columns.values())


@pytest.mark.parametrize("dataset", ALL_CONFIGURATIONS)
def test_all_configurations_document_gives_the_same_results(dataset: str) -> None:
    whole = load_file(CINNAMON / dataset / "all-configurations.yaml")
    assert parse_attribute_config(whole) == parse_attribute_config(_attributes(dataset))
    alone = load_file(CINNAMON / dataset / "algorithm_config.yaml")
    assert parse_algorithm_config(whole) == parse_algorithm_config(alone)


@pytest.mark.parametrize("config", ALGORITHM_CONFIGS)
def test_algorithm_configs_map_or_name_the_missing_synthesizer(config: str) -> None:
    doc = load_file(CINNAMON / config)
    alg = parse_algorithm_config(doc)
    if alg.synthesizer not in REGISTRY:
        with pytest.raises(ConfigError) as info:
            parse_algorithm_config(doc, valid_names=REGISTRY)
        assert _pointers(info.value) == [f"{ALG}/synthesizer"]
        assert "valid names: " + ", ".join(sorted(REGISTRY)) in str(info.value)
        with pytest.raises(ConfigError) as info:
            algorithm_to_spec(alg)
        assert _pointers(info.value) == [f"{ALG}/synthesizer"]
        return
    spec = algorithm_to_spec(alg)
    REGISTRY[alg.synthesizer].params_model.model_validate(spec.synthesizer.params)
    frame, _ = read_table(CINNAMON / config.split("/")[0] / "data.csv", Limits())
    if not config.startswith("risk_assessment"):  # those carry 1000 for 918 rows
        assert spec.num_rows == len(frame)


def test_synthesizers_we_lack_are_the_ones_in_the_fixtures_readme() -> None:
    lacking = {
        parse_algorithm_config(load_file(CINNAMON / c)).synthesizer for c in ALGORITHM_CONFIGS
    } - set(REGISTRY)
    assert lacking == {"arf", "bayesian_network"}


def test_platform_names_map_onto_our_parameters() -> None:
    spec = algorithm_to_spec(
        parse_algorithm_config(load_file(CINNAMON / "stroke/all-configurations.yaml"))
    )
    params = spec.synthesizer.params
    assert spec.synthesizer.name == "ctgan" and spec.num_rows == 1000
    assert params["generator_dim"] == params["discriminator_dim"] == [64, 64]
    assert params["epochs"] == 150 and params["batch_size"] == 128
    assert params["pac"] == 8 and spec.adjusted  # 128 is no multiple of the default 10
    tvae = algorithm_to_spec(
        parse_algorithm_config(load_file(CINNAMON / "cardiovascular/algorithm_config.yaml"))
    )
    assert tvae.synthesizer.params["compress_dims"] == [128, 128]
    assert tvae.synthesizer.params["embedding_dim"] == 32


def test_older_platform_schema_uses_our_names_and_reports_ignored_settings() -> None:
    alg = parse_algorithm_config(
        load_file(CINNAMON / "risk_assessment_heart/algorithm_config_ctgan.yaml")
    )
    spec = algorithm_to_spec(alg)
    assert spec.synthesizer.params["generator_dim"] == [256, 256, 256]
    assert spec.synthesizer.params["generator_lr"] == 0.004
    assert spec.ignored == [f"{ALG}/model_parameter/verbose", f"{ALG}/model_fitting/train"]


def test_fixture_quirks_map_to_our_kinds() -> None:
    onco = parse_attribute_config(_attributes("risk_assessment_oncology"), dates=TIMESTAMP_PATTERNS)
    assert onco.columns["operation_date"].kind is ColumnKind.DATETIME  # DATE + datetime pattern
    assert onco.columns["operation_date"].output_format == "%d.%m.%Y %H:%M"
    assert onco.columns["death_date"].formats == ["%Y-%m-%d"]
    assert onco.columns["death_tumor"].kind is ColumnKind.CATEGORICAL
    assert onco.columns["death_tumor"].pattern == "(J|N|U)"
    assert (onco.columns["ecog"].min, onco.columns["ecog"].max) == (0, 4)
    heart = parse_attribute_config(_attributes("risk_assessment_heart"))
    assert heart.columns["birthdate"].kind is ColumnKind.DATE
    assert heart.columns["birthdate"].output_format == "yyyy-MM-dd"
    assert heart.columns["FastingBS"].kind is ColumnKind.BOOLEAN
    stroke = parse_attribute_config(_attributes("stroke"))
    assert stroke.columns["age"].kind is ColumnKind.INTEGER  # written as 1.0 in the data


def test_own_mixed_types_fixture() -> None:
    attributes = _attributes("mixed_types")
    algorithm = load_file(CINNAMON / "mixed_types/algorithm_config.yaml")
    schema, spec = parse_cinnamon_configs(attributes, algorithm)
    kinds = {name: c.kind.value for name, c in schema.columns.items() if c.kind is not None}
    assert kinds == {
        "record_id": "integer",
        "score": "decimal",
        "visits": "integer",
        "colour": "categorical",
        "grade": "categorical",
        "active": "boolean",
        "start_date": "date",
        "last_login": "datetime",
    }
    assert schema.columns["visits"].max == 20 and schema.columns["score"].min == 0
    assert schema.columns["start_date"].min == "01.01.2015"
    assert schema.columns["last_login"].output_format == "yyyy-MM-dd'T'HH:mm:ss"
    assert schema.columns["grade"].pattern == "[A-E]"
    assert spec.synthesizer.name == "gaussian_copula" and spec.num_rows == 60
    assert spec.synthesizer.params["default_distribution"] == "empirical"


def test_mixed_types_schema_drives_the_preprocessing() -> None:
    schema = parse_attribute_config(_attributes("mixed_types"), dates=TIMESTAMP_PATTERNS)
    frame, fmt = read_table(CINNAMON / "mixed_types/data.csv", Limits())
    inferred = infer_schema(frame, {""})
    pipe = Pipeline(merge_schema(inferred, schema), input_format=fmt).fit(frame)
    assert pipe.report_ is not None
    for report in pipe.report_.column_reports:
        assert not report.coerced_to_missing and not report.out_of_range, report
    model = pipe.transform(frame, np.random.default_rng(0))
    back = pipe.inverse_transform(model, np.random.default_rng(0)).to_pandas()
    assert list(back.columns) == list(frame.columns)
    assert back["start_date"].equals(frame["start_date"])
    assert back["last_login"].equals(frame["last_login"])


# --------------------------------------------------------------------------- bad inputs


def test_unknown_type_is_a_pointer_without_the_value() -> None:
    err = _errors(_column("a", "INTEGER"), _column("b", "SECRET_TYPE", index=1))
    assert _pointers(err) == ["/configurations/1/type"]
    assert "SECRET_TYPE" not in str(err) and "DATE_TIME" in str(err)


def test_sub_configuration_order_does_not_matter() -> None:
    date_format = {"name": "DateFormatConfiguration", "dateFormatter": "dd.MM.yyyy"}
    bounds = {"name": "RangeConfiguration", "minValue": "01.01.1970", "maxValue": "01.01.2030"}
    first = _parse(_column("d", "DATE", [date_format, bounds]))
    second = _parse(_column("d", "DATE", [bounds, date_format]))
    assert first == second
    assert first.columns["d"] == ColumnSpec(
        kind=ColumnKind.DATE,
        formats=["dd.MM.yyyy"],
        output_format="dd.MM.yyyy",
        min="01.01.1970",
        max="01.01.2030",
    )


def test_columns_follow_index_not_list_order() -> None:
    schema = _parse(_column("second", "INTEGER", index=1), _column("first", "STRING", index=0))
    assert list(schema.columns) == ["first", "second"]


def test_empty_or_null_sub_configurations() -> None:
    schema = _parse(_column("a", "TEXT", []), _column("b", "BOOLEAN", None, index=1))
    assert schema.columns["a"].kind is ColumnKind.TEXT
    assert schema.columns["b"].kind is ColumnKind.BOOLEAN


@pytest.mark.parametrize(
    ("entries", "pointers"),
    [
        ([_column("a", "INTEGER"), _column("a", "STRING", index=1)], ["/configurations/1/name"]),
        ([_column("a", "INTEGER"), _column("b", "STRING")], ["/configurations/1/index"]),
        ([{"index": 0, "type": "INTEGER", "configurations": []}], ["/configurations/0/name"]),
        ([{"index": 0, "name": "a", "configurations": []}], ["/configurations/0/type"]),
        ([{"name": "a", "type": "INTEGER"}], ["/configurations/0/index"]),
        ([{**_column("a", "INTEGER"), "colour": 1}], ["/configurations/0/colour"]),
        ([{**_column("a", "INTEGER"), "scale": "HUGE"}], ["/configurations/0/scale"]),
        (["not a mapping"], ["/configurations/0"]),
        (
            [_column("a", "INTEGER", [{"name": "ColourConfiguration"}])],
            ["/configurations/0/configurations/0/name"],
        ),
        (
            [_column("a", "STRING", [{"name": "RangeConfiguration", "minValue": 1}])],
            ["/configurations/0/configurations/0/name"],
        ),
        (
            [_column("a", "INTEGER", [{"name": "RangeConfiguration", "minValue": "low"}])],
            ["/configurations/0/configurations/0/minValue"],
        ),
        (
            [
                _column(
                    "a", "INTEGER", [{"name": "RangeConfiguration", "minValue": 9, "maxValue": 1}]
                )
            ],
            ["/configurations/0/configurations/0"],
        ),
        (
            [_column("a", "STRING", [{"name": "StringPatternConfiguration", "pattern": "(a"}])],
            ["/configurations/0/configurations/0/pattern"],
        ),
        (
            [_column("d", "DATE", [{"name": "DateFormatConfiguration", "dateFormatter": "qq"}])],
            ["/configurations/0/configurations/0/dateFormatter"],
        ),
        (
            [
                _column(
                    "d",
                    "DATE",
                    [
                        {"name": "DateFormatConfiguration", "dateFormatter": "dd.MM.yyyy"},
                        {"name": "RangeConfiguration", "minValue": "1970-01-01"},
                    ],
                )
            ],
            ["/configurations/0/configurations/1/minValue"],
        ),
        (
            [
                _column(
                    "a",
                    "INTEGER",
                    [
                        {"name": "RangeConfiguration", "minValue": 1, "maxValue": 2},
                        {"name": "RangeConfiguration", "minValue": 1, "maxValue": 2},
                    ],
                )
            ],
            ["/configurations/0/configurations/1/name"],
        ),
        (
            [_column("a", "INTEGER", [{"name": "RangeConfiguration", "low": 1}])],
            ["/configurations/0/configurations/0/low"],
        ),
        (
            [_column("a", "INTEGER", {"name": "RangeConfiguration"})],
            ["/configurations/0/configurations"],
        ),  # type: ignore[arg-type]
    ],
)
def test_malformed_entries_are_pointer_errors(
    entries: list[dict[str, Any]], pointers: list[str]
) -> None:
    assert _pointers(_errors(*entries)) == pointers


def test_not_an_attribute_config() -> None:
    for doc in (None, [], {"configurations": []}, {"configurations": "x"}):
        with pytest.raises(ConfigError):
            parse_attribute_config(doc)


def test_error_messages_never_echo_values() -> None:
    secret = "s3cr3t-value"
    entries = [
        _column(secret, "INTEGER", [{"name": "RangeConfiguration", "minValue": secret}]),
        _column("d", "DATE", [{"name": "DateFormatConfiguration", "dateFormatter": secret}], 1),
        _column(
            "e", "STRING", [{"name": "StringPatternConfiguration", "pattern": "(" + secret}], 2
        ),
    ]
    assert secret not in str(_errors(*entries))


def test_malformed_yaml_via_the_loader() -> None:
    with pytest.raises(ConfigError, match="invalid YAML at line 3"):
        load_document(b"configurations:\n- index: [0\n  name: a\n")


def test_bom_and_crlf_yaml_parse_like_plain() -> None:
    raw = (CINNAMON / "stroke/attribute_config.yaml").read_bytes()
    odd = b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")
    assert parse_attribute_config(load_document(odd)) == parse_attribute_config(load_document(raw))


def test_pattern_field_of_the_schema() -> None:
    assert parse_schema({"columns": {"a": {"kind": "id", "pattern": "[0-9]+"}}})
    with pytest.raises(ConfigError, match="not a regular expression this service can run"):
        parse_schema({"columns": {"a": {"kind": "categorical", "pattern": "([0-9]"}}})
    with pytest.raises(ConfigError, match="'pattern' does not apply"):
        parse_schema({"columns": {"a": {"kind": "integer", "pattern": "[0-9]+"}}})


def _stroke_algorithm() -> dict[str, Any]:
    return load_file(CINNAMON / "stroke/algorithm_config.yaml")


def _spec_errors(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        algorithm_to_spec(parse_algorithm_config(doc, valid_names=REGISTRY))
    return _pointers(info.value)


def test_epochs_over_the_limit() -> None:
    doc = _stroke_algorithm()
    doc["synthetization_configuration"]["algorithm"]["model_fitting"]["epochs"] = 10_001
    assert _spec_errors(doc) == [f"{ALG}/model_fitting/epochs"]


@pytest.mark.parametrize(
    ("group", "key", "value", "pointer"),
    [
        ("model_parameter", "number_of_layers", 99, "model_parameter/number_of_layers"),
        (
            "model_parameter",
            "number_of_units_in_layers",
            0,
            "model_parameter/number_of_units_in_layers",
        ),
        (
            "model_parameter",
            "number_of_units_in_layers",
            "wide",
            "model_parameter/number_of_units_in_layers",
        ),
        ("model_parameter", "colour", 1, "model_parameter/colour"),
        ("model_parameter", "generator_dim", [1, 2], "model_parameter/generator_dim"),
        ("model_fitting", "generator_lr", 0, "model_fitting/generator_lr"),
        ("model_fitting", "pac", 7, ""),  # 128 is no multiple of 7: a model-level error
        ("sampling", "num_samples", "$dataset.original.numberRows", "sampling/num_samples"),
        ("sampling", "num_samples", 0, "sampling/num_samples"),
        ("hyperparameter_tuning", "enabled", True, "hyperparameter_tuning/enabled"),
    ],
)
def test_bad_parameters_are_pointer_errors(group: str, key: str, value: Any, pointer: str) -> None:
    doc = _stroke_algorithm()
    doc["synthetization_configuration"]["algorithm"].setdefault(group, {})[key] = value
    expected = f"{ALG}/{pointer}" if pointer else ALG
    assert _spec_errors(doc) == [expected]


def test_parameter_in_two_groups_and_non_mapping_groups() -> None:
    doc = _stroke_algorithm()
    doc["synthetization_configuration"]["algorithm"]["sampling"]["epochs"] = 5
    assert _spec_errors(doc) == [f"{ALG}/sampling/epochs"]
    doc = _stroke_algorithm()
    doc["synthetization_configuration"]["algorithm"]["model_fitting"] = [1]
    assert _spec_errors(doc) == [f"{ALG}/model_fitting"]


def test_synthesizer_by_id_and_disabled_tuning() -> None:
    doc = _stroke_algorithm()
    algorithm = doc["synthetization_configuration"]["algorithm"]
    algorithm["id"] = algorithm.pop("synthesizer")
    algorithm["hyperparameter_tuning"] = {"enabled": False, "n_trials": 5}
    spec = algorithm_to_spec(parse_algorithm_config(doc))
    assert spec.synthesizer.name == "ctgan"
    assert spec.ignored == [f"{ALG}/hyperparameter_tuning"]
    algorithm["id"] = "nope"
    assert _spec_errors(doc) == [f"{ALG}/id"]


def test_not_an_algorithm_config() -> None:
    for doc, pointer in (
        (None, "/synthetization_configuration"),
        ({"synthetization_configuration": {}}, "/synthetization_configuration/algorithm"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_algorithm_config(doc)
        assert _pointers(info.value) == [pointer]
    doc = _stroke_algorithm()
    doc["synthetization_configuration"]["algorithm"]["type"] = "longitudinal"
    assert _spec_errors(doc) == [f"{ALG}/type"]


# --------------------------------------------------------------------------- definitions


def _config_from_defaults(definition: dict[str, Any], rows: int) -> dict[str, Any]:
    algorithm: dict[str, Any] = {
        "synthesizer": definition["name"],
        "type": definition["type"],
        "version": definition["version"],
    }
    for group, content in definition["configurations"].items():
        algorithm[group] = {
            p["name"]: rows
            if p["default_value"] == "$dataset.original.numberRows"
            else p["default_value"]
            for p in content["parameters"]
        }
    return {"synthetization_configuration": algorithm and {"algorithm": algorithm}}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_definition_shape_and_round_trip(name: str) -> None:
    text = definition_yaml(name)
    definition = load_document(text)
    platform = yaml.safe_load((CINNAMON / "definitions/ctgan.yaml").read_text())
    assert set(platform) <= set(definition)
    assert definition["name"] == name and definition["type"] == "cross-sectional"
    assert definition["URL"] == f"/start_synthetization_process/{name}"
    assert definition["processing_capabilities"] == {"data_modality": "structured_only"}
    groups = definition["configurations"]
    assert "model_parameter" in groups and "sampling" in groups
    for group in groups.values():
        assert {"display_name", "description", "parameters"} <= set(group)
        for param in group["parameters"]:
            assert {"name", "type", "label", "description", "default_value"} <= set(param)
            assert param["type"] in {"integer", "float", "string", "boolean", "list"}
    (samples,) = groups["sampling"]["parameters"]
    assert samples["name"] == "num_samples"
    assert samples["default_value"] == "$dataset.original.numberRows"

    spec = algorithm_to_spec(
        parse_algorithm_config(_config_from_defaults(definition, 321), valid_names=REGISTRY)
    )
    model = REGISTRY[name].params_model
    assert spec.num_rows == 321 and not spec.adjusted and not spec.ignored
    assert spec.synthesizer.params == model().model_dump(mode="json")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_definition_bounds_and_choices_are_enforced(name: str) -> None:
    definition = load_document(definition_yaml(name))
    base = _config_from_defaults(definition, 10)
    for group, content in definition["configurations"].items():
        for param in content["parameters"]:
            wrong = []
            if "max_value" in param and param["type"] == "integer":
                wrong.append(param["max_value"] + 1)
            if "min_value" in param and param["type"] == "integer":
                wrong.append(param["min_value"] - 1)
            if "values" in param:
                wrong.append("not-a-choice")
            for value in wrong:
                doc = copy.deepcopy(base)
                doc["synthetization_configuration"]["algorithm"][group][param["name"]] = value
                assert _spec_errors(doc) == [f"{ALG}/{group}/{param['name']}"], param["name"]


def test_platform_definition_parameters_are_understood() -> None:
    for name in ("ctgan", "tvae"):
        platform = yaml.safe_load((CINNAMON / f"definitions/{name}.yaml").read_text())
        doc = _config_from_defaults(platform, 50)
        spec = algorithm_to_spec(parse_algorithm_config(doc, valid_names=REGISTRY))
        assert spec.synthesizer.name == name and spec.num_rows == 50


def test_algorithms_list() -> None:
    doc = load_document(algorithms_yaml())
    names = [a["name"] for a in doc["algorithms"]]
    assert names == list(REGISTRY)
    for entry in doc["algorithms"]:
        assert set(entry) == {
            "name",
            "display_name",
            "version",
            "type",
            "description",
            "URL",
            "processing_capabilities",
        }
        assert entry["URL"] == f"/synthesizer_config/{entry['name']}.yaml"

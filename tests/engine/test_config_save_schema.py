"""Saving configs (atomic, comments kept) and the JSON Schema built from field metadata."""

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmf_engine.config import all_fields, field_index, load_config
from lmf_engine.config.save import render_yaml, save_config
from lmf_engine.config.schema import config_schema

USER_FILE = """\
# my run
### model
model_name_or_path: models/tiny  # local copy
template: qwen

### method
stage: sft
lora_rank: 8   # small on purpose
lora_dropout: 0.1
# keep eval commented for now
# val_size: 0.1

learning_rate: 1.0e-4
"""


def test_save_keeps_order_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(USER_FILE)
    save_config(
        path,
        {"model_name_or_path": "models/tiny", "template": "qwen", "stage": "dpo", "lora_rank": 16,
         "learning_rate": 1e-4, "pref_beta": 0.2},
    )  # fmt: skip
    text = path.read_text()
    assert text.startswith("# my run\n### model\nmodel_name_or_path: models/tiny  # local copy\n")
    assert "stage: dpo\n" in text
    assert "lora_rank: 16  # small on purpose\n" in text
    assert "lora_dropout" not in text
    assert "# keep eval commented for now\n# val_size: 0.1\n" in text
    assert "learning_rate: 1.0e-4\n" in text  # an unchanged value keeps its spelling
    assert text.rstrip().endswith("pref_beta: 0.2")
    config = load_config(path)
    assert config.finetuning.stage == "dpo" and config.finetuning.lora_rank == 16


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("stage: sft\n")
    os.chmod(path, 0o640)
    save_config(path, {"stage": "pt"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_text() == "stage: pt\n"


def test_new_file_is_grouped_and_yaml11_readable(tmp_path: Path) -> None:
    path = tmp_path / "new" / "c.yaml"
    save_config(path, {"learning_rate": 1e-5, "stage": "sft", "resume_from_checkpoint": None, "lora_rank": 8})
    text = path.read_text()
    assert text == (
        "### finetuning\nstage: sft\nlora_rank: 8\n\n"
        "### training\nlearning_rate: 1.0e-05\nresume_from_checkpoint: null\n"
    )
    assert yaml.safe_load(text)["learning_rate"] == 1e-5  # PyYAML (YAML 1.1) reads it as a float


def _value_strategy(info):
    if info.choices is not None:
        return st.sampled_from(info.choices)
    base = info.annotation
    if base is bool:
        return st.booleans()
    if base is int:
        low = int(info.meta.ge) if info.meta.ge is not None else -1000
        return st.integers(min_value=low, max_value=low + 10_000)
    if base is float:
        low = info.meta.ge if info.meta.ge is not None else (info.meta.gt or 0) + 1e-6
        high = info.meta.le if info.meta.le is not None else (info.meta.lt - 1e-6 if info.meta.lt else 1e6)
        return st.floats(min_value=low, max_value=high, allow_nan=False)
    if base is str:
        return st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
    return None


SIMPLE = [i for i in all_fields() if _value_strategy(i) is not None]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_saved_values_load_back_identically(tmp_path: Path, data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(SIMPLE), min_size=1, max_size=8, unique_by=lambda i: i.name))
    values = {info.name: data.draw(_value_strategy(info)) for info in chosen}
    path = tmp_path / "roundtrip.yaml"
    path.unlink(missing_ok=True)
    save_config(path, values)
    from lmf_engine.config import check_config

    config, issues = check_config(path)
    per_key = [i for i in issues if i.key in values and "appears" not in i.message and " " in i.message]
    type_errors = [i for i in per_key if i.message.startswith(("expected", "must be"))]
    assert type_errors == [], [str(i) for i in type_errors]
    for key, value in values.items():
        assert config.get(key) == value, key


def test_render_yaml_of_explicit_values_round_trips() -> None:
    text = render_yaml({"stage": "kto", "kto_chosen_weight": 1.5, "report_to": ["wandb", "tensorboard"]})
    assert yaml.safe_load(text) == {"stage": "kto", "kto_chosen_weight": 1.5, "report_to": ["wandb", "tensorboard"]}


def test_schema_describes_every_field() -> None:
    schema = config_schema()
    props = schema["properties"]
    assert list(props) == [i.name for i in all_fields()]
    assert props["finetuning_type"]["enum"] == ["lora", "oft", "freeze", "full"]
    assert props["lora_rank"] == {
        "type": "integer", "description": "LoRA rank.", "default": 8, "minimum": 1,
        "x-group": "finetuning", "x-advanced": False,
    }  # fmt: skip
    assert props["quantization_bit"]["type"] == ["integer", "null"]
    assert props["lora_dropout"]["exclusiveMaximum"] == 1
    assert props["report_to"]["type"] == ["string", "array"]
    assert set(schema["x-groups"]) == {"model", "data", "finetuning", "training", "generating", "evaluation", "export"}
    assert "use_unsloth" in schema["x-known-unsupported"]
    for name, prop in props.items():
        assert prop["description"], name
        assert prop["x-group"] == field_index()[name].group

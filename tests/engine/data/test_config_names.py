"""Names a config uses, checked before a run: template, datasets, dataset folder, and what a stage needs."""

import json
from pathlib import Path

from lmf_engine.config import check_config
from lmf_engine.data.config_names import name_issues


def workspace_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dataset_info.json").write_text(
        json.dumps({"alpaca_en_demo": {"file_name": "a.json"}, "identity": {"file_name": "i.json"}})
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def issues_of(path: Path, workspace: Path) -> list[str]:
    config, issues = check_config(path)
    assert issues == []
    return [str(issue) for issue in name_issues(config, path, workspace)]


def test_unknown_names_get_a_line_and_a_did_you_mean(tmp_path: Path) -> None:
    path = workspace_with(
        tmp_path,
        "model_name_or_path: m\nstage: sft\ndo_train: true\ntemplate: qwen25\n"
        "dataset: alpaca_en_demo, identty\neval_dataset: alpaka_en_demo\n",
    )
    info = tmp_path / "data" / "dataset_info.json"
    template, dataset, eval_dataset = issues_of(path, tmp_path)
    assert template.startswith(f"{path}:4: template: unknown template 'qwen25'; did you mean ")
    assert dataset == f"{path}:5: dataset: 'identty' is not in {info}; did you mean identity?"
    assert eval_dataset == f"{path}:6: eval_dataset: 'alpaka_en_demo' is not in {info}; did you mean alpaca_en_demo?"


def test_a_missing_dataset_folder_a_missing_model_and_an_empty_file(tmp_path: Path) -> None:
    path = workspace_with(tmp_path, "model_name_or_path: m\ndataset_dir: nowhere\ndataset: identity\n")
    assert issues_of(path, tmp_path) == [f"{path}:2: dataset_dir: 'nowhere': no such folder ({tmp_path / 'nowhere'})"]
    path.write_text("stage: sft\ntemplate: hf\n")
    assert issues_of(path, tmp_path) == [
        f"{path}: model_name_or_path: missing: every config names the model (a local folder or a hub id)"
    ]
    path.write_text("# nothing yet\n")
    assert issues_of(path, tmp_path) == [
        f"{path}: the file sets no key: a config names at least model_name_or_path (and to train: stage, do_train, "
        "dataset, template)"
    ]
    path.write_text("model_name_or_path: m\ndataset_dir: ONLINE\ndataset: someone/some_set\n")
    assert issues_of(path, tmp_path) == []

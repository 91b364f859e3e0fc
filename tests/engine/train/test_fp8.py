"""``fp8``: refused in one line where the GPU cannot do it, and otherwise what reaches accelerate's Accelerator."""

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from lmf_engine.config import check_config, load_config
from lmf_engine.train import fp8
from lmf_engine.train.fp8 import Fp8Error, check_fp8, fp8_accelerator_args, fp8_module_filter

needs_torchao = pytest.mark.skipif(not fp8.installed("torchao"), reason="the fp8 extra (torchao) is not installed")


def _config(**values: Any) -> Any:
    return load_config(values={"stage": "sft", "fp8": True, **values})


def _gpu(monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], name: str = "NVIDIA H100") -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: name)
    monkeypatch.setattr(fp8, "installed", lambda module: module == "torchao")


def test_fp8_without_a_gpu_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(Fp8Error, match=r"^fp8: FP8 training needs .*compute capability 8\.9.*no CUDA GPU") as caught:
        check_fp8(_config())
    assert "\n" not in str(caught.value)
    _gpu(monkeypatch, (9, 0))
    with pytest.raises(Fp8Error, match=r"no CUDA GPU \(use_cpu is set\)"):
        check_fp8(_config(use_cpu=True))


def test_fp8_on_an_older_gpu_names_its_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpu(monkeypatch, (8, 0), "NVIDIA A100")
    with pytest.raises(Fp8Error, match=r"the GPU here \(NVIDIA A100\) has compute capability 8\.0"):
        check_fp8(_config())


@pytest.mark.parametrize("capability", [(8, 9), (9, 0), (10, 0)])
def test_fp8_capable_gpus_pass(monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int]) -> None:
    _gpu(monkeypatch, capability)
    check_fp8(_config())
    check_fp8(_config(fp8=False, fp8_enable_fsdp_float8_all_gather=True))


def test_missing_backend_packages_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpu(monkeypatch, (9, 0))
    present = {"torchao": False, "transformer_engine": False}
    monkeypatch.setattr(fp8, "installed", lambda module: present[module])
    with pytest.raises(Fp8Error, match=r"^fp8 needs the torchao package: pip install 'lmf-workbench\[fp8\]'$"):
        check_fp8(_config())
    with pytest.raises(Fp8Error, match=r"fp8_backend: te needs NVIDIA Transformer Engine: .*\[fp8-te\]"):
        check_fp8(_config(fp8_backend="te"))
    present["transformer_engine"] = True
    assert fp8.fp8_backend(_config()) == "te"
    check_fp8(_config())


def test_other_stages_train_without_fp8_as_llama_factory(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = _config(stage="dpo")
    check_fp8(config)
    assert "stage dpo trains without fp8" in caplog.text
    args = {"mixed_precision": "bf16", "kwargs_handlers": ["ddp"]}
    assert fp8_accelerator_args(config, args) is args
    assert fp8_accelerator_args(_config(fp8=False), args) is args


@needs_torchao
def test_torchao_recipe_reaches_the_accelerator_arguments() -> None:
    from accelerate.utils import AORecipeKwargs

    args = fp8_accelerator_args(_config(), {"mixed_precision": "bf16", "kwargs_handlers": ["ddp"]})
    assert args["mixed_precision"] == "fp8"
    ddp, recipe = args["kwargs_handlers"]
    assert ddp == "ddp" and isinstance(recipe, AORecipeKwargs)
    assert recipe.config.cast_config_weight.scaling_granularity.value == "axiswise"
    assert recipe.config.enable_fsdp_float8_all_gather is False
    assert recipe.module_filter_func is fp8_module_filter


@needs_torchao
def test_fsdp_float8_all_gather_uses_tensorwise_scaling_and_msamp_the_default_recipe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gathered = fp8_accelerator_args(_config(fp8=False, fp8_enable_fsdp_float8_all_gather=True), {})
    recipe = gathered["kwargs_handlers"][0]
    assert gathered["mixed_precision"] == "fp8"
    assert recipe.config.enable_fsdp_float8_all_gather is True
    assert recipe.config.cast_config_weight.scaling_granularity.value == "tensorwise"
    msamp = fp8_accelerator_args(_config(fp8_backend="msamp"), {})["kwargs_handlers"][0]
    assert msamp.config.pad_inner_dim is True
    assert "msamp is not in accelerate" in caplog.text


def test_transformer_engine_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    import accelerate.utils

    made: list[dict[str, Any]] = []

    class Recipe:
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

    monkeypatch.setattr(accelerate.utils, "TERecipeKwargs", Recipe)
    args = fp8_accelerator_args(_config(fp8_backend="te"), {"kwargs_handlers": []})
    assert isinstance(args["kwargs_handlers"][0], Recipe)
    assert made == [{"fp8_format": "HYBRID", "amax_history_len": 16, "amax_compute_algo": "max"}]


@needs_torchao
def test_the_trainer_mixin_passes_fp8_to_its_accelerator() -> None:
    from lmf_engine.train.trainer import WorkbenchTrainerMixin

    class Base:
        def _build_accelerator_args(self, **kwargs: Any) -> dict[str, Any]:
            return {"mixed_precision": "bf16", "kwargs_handlers": ["ddp"], **kwargs}

    class Trainer(WorkbenchTrainerMixin, Base):
        pass

    args = Trainer(lmf_config=_config())._build_accelerator_args(fsdp_plugin=None)
    assert args["mixed_precision"] == "fp8" and args["fsdp_plugin"] is None and len(args["kwargs_handlers"]) == 2
    plain = Trainer(lmf_config=_config(fp8=False))._build_accelerator_args()
    assert plain == {"mixed_precision": "bf16", "kwargs_handlers": ["ddp"]}


def test_module_filter_keeps_embeddings_heads_and_odd_sizes_out() -> None:
    assert fp8_module_filter(torch.nn.Linear(64, 128), "model.layers.0.mlp.up_proj")
    assert not fp8_module_filter(torch.nn.Linear(64, 128), "lm_head")
    assert not fp8_module_filter(torch.nn.Linear(64, 24), "model.layers.0.self_attn.k_proj")
    assert not fp8_module_filter(torch.nn.Embedding(32, 64), "model.embed_tokens")
    assert not fp8_module_filter(torch.nn.LayerNorm(64), "model.norm")


def test_fp8_with_quantization_is_refused_at_validation(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"fp8": True, "quantization_bit": 4}), encoding="utf-8")
    _, issues = check_config(path)
    assert [(i.key, i.message) for i in issues] == [
        ("fp8", "FP8 training cannot be used with quantization_bit; remove one of them")
    ]


def test_a_run_with_fp8_fails_before_loading_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmf_engine.train.entry import describe_error, run_stage
    from lmf_engine.train.signals import StopRequest

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({"model_name_or_path": str(tmp_path / "missing"), "stage": "sft", "fp8": True}),
        encoding="utf-8",
    )
    with pytest.raises(Fp8Error) as caught:
        run_stage(tmp_path, False, StopRequest(), None)
    assert describe_error(caught.value).startswith("fp8: FP8 training needs an NVIDIA GPU")

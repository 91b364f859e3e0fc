"""render_sample on the tiny model: the ids and labels training uses, each token's text and role."""

import json
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.data.example import Example, Message
from lmf_engine.data.inspect import RenderedSample, render_sample, token_texts
from lmf_engine.data.processors import IGNORE_INDEX, EncodeOptions, encode
from lmf_engine.data.samples import SAMPLE_MESSAGES, SampleError, as_example, dataset_example, parse_messages_arg
from lmf_engine.data.templates import get_template_and_fix_tokenizer

MESSAGES = list(SAMPLE_MESSAGES)
CHATML = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    "<|im_start|>assistant\nThe capital of France is Paris.<|im_end|>\n"
    "<|im_start|>user\nAnd of Japan?<|im_end|>\n"
    "<|im_start|>assistant\nThe capital of Japan is Tokyo.<|im_end|>\n"
)


def trained_text(rendered: RenderedSample) -> str:
    return "".join(t.text for t in rendered.tokens if t.trained)


def test_qwen_shows_the_trained_answers_and_special_tokens(tokenizer: Any) -> None:
    rendered = render_sample("qwen", tokenizer, MESSAGES)
    assert rendered.text == CHATML
    assert [t.id for t in rendered.tokens] == rendered.input_ids
    assert [t.label for t in rendered.tokens] == rendered.labels
    assert (
        trained_text(rendered)
        == "The capital of France is Paris.<|im_end|>\nThe capital of Japan is Tokyo.<|im_end|>\n"
    )
    im_start, im_end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    starts = [t for t in rendered.tokens if t.id == im_start]
    ends = [t for t in rendered.tokens if t.id == im_end]
    assert len(starts) == 5 and all(t.special and t.role == "special" and not t.trained for t in starts)
    assert [t.role for t in ends] == ["special", "special", "trained", "special", "trained"]
    assert all(t.special for t in ends)  # trained and special at once
    plain = [t for t in rendered.tokens if t.id not in (im_start, im_end)]
    assert not any(t.special for t in plain)
    assert {t.role for t in plain} == {"trained", "masked"}
    for token in rendered.tokens:
        assert token.label == (token.id if token.trained else IGNORE_INDEX)


def test_ids_and_labels_are_the_training_encoders(tokenizer: Any) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, "qwen")
    example = as_example(MESSAGES)
    for options in (EncodeOptions(), EncodeOptions(cutoff_len=30), EncodeOptions(mask_history=True)):
        expected = encode("sft", template, tokenizer, [example], options)
        rendered = render_sample(template, tokenizer, example, options)
        assert rendered.input_ids == expected["input_ids"][0]
        assert rendered.labels == expected["labels"][0]
    assert render_sample(template, tokenizer, example, EncodeOptions(cutoff_len=30)).main.truncated
    assert not render_sample(template, tokenizer, example).main.truncated
    train_on_prompt = render_sample(template, tokenizer, example, EncodeOptions(train_on_prompt=True))
    assert all(t.trained for t in train_on_prompt.tokens)


def test_llama3_adds_its_stop_word_as_a_trained_special_token(tokenizer: Any) -> None:
    rendered = render_sample("llama3", tokenizer, MESSAGES[:3])
    assert rendered.text.startswith("<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.")
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    eots = [t for t in rendered.tokens if t.id == eot]
    assert [(t.role, t.special) for t in eots] == [("special", True), ("special", True), ("trained", True)]
    assert trained_text(rendered) == "The capital of France is Paris.<|eot_id|>"


def test_llama3_writes_the_bos_of_a_tokenizer_that_has_one(bos_tokenizer: Any) -> None:
    rendered = render_sample("llama3", bos_tokenizer, MESSAGES[:3])
    first = rendered.tokens[0]
    assert (first.id, first.text, first.role, first.special) == (
        bos_tokenizer.bos_token_id,
        "<|endoftext|>",
        "special",
        True,
    )
    assert rendered.input_ids.count(bos_tokenizer.bos_token_id) == 1


@pytest.mark.parametrize("thinking", [True, False])
def test_qwen3_puts_the_empty_thought_in_the_response_or_the_prompt(tokenizer: Any, thinking: bool) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, "qwen3", enable_thinking=thinking)
    rendered = render_sample(template, tokenizer, MESSAGES[1:3])
    empty = "<think>\n\n</think>\n\n"
    assert rendered.text.endswith(f"<|im_start|>assistant\n{empty}The capital of France is Paris.<|im_end|>\n")
    answer = "The capital of France is Paris.<|im_end|>\n"
    assert trained_text(rendered) == (empty + answer if thinking else answer)
    think = next(t for t in rendered.tokens if t.text == "<think>")
    assert not think.special  # an added token, not a special one
    assert think.trained is thinking


def test_pairwise_shows_chosen_and_rejected(tokenizer: Any) -> None:
    sample = {"messages": [MESSAGES[1]], "chosen": "Paris.", "rejected": "Rome."}
    rendered = render_sample("qwen", tokenizer, sample, stage="rm")
    assert [s.name for s in rendered.sequences] == ["chosen", "rejected"]
    chosen, rejected = rendered.sequences
    assert trained_text(rendered) == "Paris.<|im_end|>\n"
    assert "".join(t.text for t in rejected.tokens if t.trained) == "Rome.<|im_end|>\n"
    prompt_len = sum(not t.trained for t in chosen.tokens)
    assert chosen.input_ids[:prompt_len] == rejected.input_ids[:prompt_len]
    as_dict = json.loads(json.dumps(rendered.to_dict()))
    assert as_dict["sequence"] == "chosen" and as_dict["rejected"]["name"] == "rejected"
    assert as_dict["tokens"][0] == {
        "index": 0,
        "id": chosen.input_ids[0],
        "text": "<|im_start|>",
        "piece": "<|im_start|>",
        "label": IGNORE_INDEX,
        "role": "special",
        "trained": False,
        "special": True,
    }
    assert render_sample("qwen", tokenizer, sample, stage="dpo").input_ids == chosen.input_ids


def test_kto_ppo_and_pretraining(tokenizer: Any) -> None:
    kto = render_sample("qwen", tokenizer, {"messages": MESSAGES[1:3], "kto_tag": False}, stage="kto")
    assert trained_text(kto) == "The capital of France is Paris.<|im_end|>\n"
    ppo = render_sample("qwen", tokenizer, MESSAGES[1:3], stage="ppo")
    assert ppo.main.name == "prompt" and not any(t.trained for t in ppo.tokens)
    assert ppo.text.endswith("<|im_start|>assistant\n")
    pt = render_sample("qwen", tokenizer, [{"role": "user", "content": "Paris is in France."}], stage="pt")
    assert pt.text == "Paris is in France.<|im_end|>"
    assert pt.labels == pt.input_ids


def test_token_texts_keep_multibyte_characters_whole(tokenizer: Any) -> None:
    ids = tokenizer.encode("你好！ ok", add_special_tokens=False)
    texts = token_texts(tokenizer, ids)
    assert "".join(texts) == "你好！ ok"
    assert [t for t in texts if t] == ["你", "好", "！", " o", "k"]  # 好 and ！ span several byte tokens
    assert texts.count("") == 3
    cut = token_texts(tokenizer, ids[:2])  # the text ends inside a character: shown as a replacement character
    assert "".join(cut) == tokenizer.decode(ids[:2])


def test_sample_inputs_and_their_errors() -> None:
    example = as_example({"messages": MESSAGES, "tools": [{"name": "f"}]})
    assert example.system == "You are a helpful assistant." and json.loads(example.tools) == [{"name": "f"}]
    assert [m.role for m in example.prompt] == ["user", "assistant", "user"]
    assert example.response == [Message("assistant", "The capital of Japan is Tokyo.")]
    tool = as_example([{"role": "user", "content": "q"}, {"role": "tool", "content": "r"}])
    assert tool.prompt[-1].role == "observation" and tool.response == []
    bad = [
        ([{"role": "user", "content": "q"}, {"role": "system", "content": "s"}], "system message must come first"),
        ([{"role": "usr", "content": "q"}], "unknown role 'usr'"),
        ([{"role": "user"}], "'role' and 'content'"),
        ({"messages": [{"role": "user", "content": "q"}], "chosen": "a"}, "both 'chosen' and 'rejected'"),
        ({"messages": [], "extra": 1}, "'messages' is required"),
        ("hello", "must be a list"),
    ]
    for sample, message in bad:
        with pytest.raises(SampleError, match=message):
            as_example(sample)
    with pytest.raises(SampleError, match="line 1, column"):
        parse_messages_arg('[{"role": "user"')
    with pytest.raises(SampleError, match="neither JSON nor an existing file"):
        parse_messages_arg("no-such-file.json")


def test_a_sample_the_stage_cannot_use_is_an_error(tokenizer: Any) -> None:
    with pytest.raises(SampleError, match="stage sft: no response"):
        render_sample("qwen", tokenizer, MESSAGES[1:2])
    with pytest.raises(SampleError, match="stage rm: no chosen and rejected"):
        render_sample("qwen", tokenizer, MESSAGES[1:3], stage="rm")
    with pytest.raises(SampleError, match="unknown stage"):
        render_sample("qwen", tokenizer, MESSAGES, stage="grpo")
    with pytest.raises(SampleError, match="except SFT"):
        render_sample("qwen", tokenizer, {"messages": MESSAGES[1:2], "chosen": "a", "rejected": "b"},
                      EncodeOptions(train_on_prompt=True), stage="rm")  # fmt: skip


def test_dataset_rows(demo_workspace: Path, tmp_path: Path) -> None:
    from lmf_engine.data.errors import DataError

    data = demo_workspace / "data"
    first = json.loads((data / "demo_sft.json").read_text())[0]
    example = dataset_example(data, "demo_sft", 0)
    assert example.prompt == [Message("user", first["instruction"])]
    assert example.response == [Message("assistant", first["output"])]
    multiturn = dataset_example(data, "demo_multiturn", 0)
    assert len(multiturn.prompt) == 3 and multiturn.system.startswith("You are a patient tutor")
    assert len(dataset_example(data, "demo_dpo", 2).response) == 2
    with pytest.raises(SampleError, match=r"demo_sft has \d+ rows; --row 100000 is out of range"):
        dataset_example(data, "demo_sft", 100000)
    with pytest.raises(DataError, match="did you mean demo_sft"):
        dataset_example(data, "demo_sfd", 0)
    folder = tmp_path / "data"
    (folder / "parts").mkdir(parents=True)
    for i in range(2):
        rows = [{"instruction": f"q{i}{j}", "input": "", "output": f"a{i}{j}"} for j in range(3)]
        (folder / "parts" / f"{i}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (folder / "dataset_info.json").write_text(json.dumps({"parts": {"file_name": "parts"}}))
    names = {dataset_example(folder, "parts", row).prompt[0].content for row in range(6)}
    assert names == {f"q{i}{j}" for i in range(2) for j in range(3)}
    with pytest.raises(SampleError, match="has 6 rows"):
        dataset_example(folder, "parts", 6)


def test_render_matches_the_prepared_training_data(demo_workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the view shows for dataset row N is row N of what ``prepare_data`` gives the trainer."""
    from lmf_engine.config import load_config
    from lmf_engine.data.inspect import setup_from_config
    from lmf_engine.data.pipeline import prepare_data

    values = {
        "model_name_or_path": str(demo_workspace / "models" / "tiny-qwen2"),
        "dataset_dir": str(demo_workspace / "data"),
        "dataset": "demo_multiturn",
        "template": "qwen3",
        "enable_thinking": False,
        "cutoff_len": 64,
        "max_samples": 4,
    }
    config = load_config(values=values)
    prepared = prepare_data(config, stage="sft")
    setup = setup_from_config(config)
    capsys.readouterr()
    for row in range(4):
        example = dataset_example(config.data.dataset_dir, "demo_multiturn", row)
        rendered = render_sample(setup.template, setup.tokenizer, example, setup.options)
        assert rendered.input_ids == prepared.train[row]["input_ids"]
        assert rendered.labels == prepared.train[row]["labels"]
    assert capsys.readouterr().out == ""  # pure: nothing printed


def test_example_objects_pass_through(tokenizer: Any) -> None:
    example = Example([Message("user", "hi")], [Message("assistant", "hello")], system="be brief")
    rendered = render_sample("qwen", tokenizer, example)
    assert rendered.example is example
    assert rendered.text.startswith("<|im_start|>system\nbe brief<|im_end|>")
    tools = [{"name": "get_weather", "description": "Weather of a city", "parameters": {}}]
    other = render_sample("qwen", tokenizer, example, system="be kind", tools=tools)
    assert other.text.startswith("<|im_start|>system\nbe kind\n\n# Tools")
    assert json.loads(other.example.tools) == tools and example.system == "be brief"

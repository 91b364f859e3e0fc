"""Images in chat: the transformers engine on the demo's tiny Qwen2-VL and LLaVA, and the API's image_url parts."""

import base64
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from chat_support import tiny_config

from lmf_engine.api.app import create_app
from lmf_engine.api.server import ServerThread
from lmf_engine.chat import RequestError
from lmf_engine.chat.hf_engine import HuggingfaceEngine
from lmf_engine.chat.vllm_engine import vllm_image_inputs
from lmf_engine.data.multimodal.images import header_size, regularized_size

QUESTION = "What is in this picture?"


def picture(workspace: Path, name: str = "red_circle") -> str:
    return str(workspace / "data" / "demo_images" / f"{name}.png")


def data_url(path: str) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


@pytest.fixture(scope="module")
def qwen_vl(demo_workspace: Path) -> HuggingfaceEngine:
    return HuggingfaceEngine(
        tiny_config(demo_workspace / "models" / "tiny-qwen2-vl", template="qwen2_vl", do_sample=False)
    )


@pytest.fixture(scope="module")
def vl_server(qwen_vl: HuggingfaceEngine) -> Iterator[ServerThread]:
    with ServerThread(create_app(qwen_vl, allow_local_media=True)) as server:
        yield server


async def test_an_image_adds_its_tokens_before_the_text_unless_placed(
    qwen_vl: HuggingfaceEngine, demo_workspace: Path
) -> None:
    image = picture(demo_workspace)
    text_only = await qwen_vl.chat([{"role": "user", "content": QUESTION}])
    with_image = await qwen_vl.chat([{"role": "user", "content": QUESTION}], images=[image])
    placed = qwen_vl.request([{"role": "user", "content": f"{QUESTION}<image>"}], images=[image])
    assert with_image.prompt_tokens == text_only.prompt_tokens + 6 + 2  # 96x64 -> 6 pads between start and end
    assert len(placed.prompt_ids or []) == with_image.prompt_tokens
    assert set(placed.model_inputs) == {"pixel_values", "image_grid_thw", "mm_token_type_ids"}
    assert placed.model_inputs["image_grid_thw"].tolist() == [[1, 4, 6]]


async def test_image_problems_are_request_errors(qwen_vl: HuggingfaceEngine, demo_workspace: Path) -> None:
    with pytest.raises(RequestError, match=r"1 image\(s\) for 2 <image> placeholder"):
        qwen_vl.request([{"role": "user", "content": "<image><image>?"}], images=[picture(demo_workspace)])
    with pytest.raises(RequestError, match="cannot use the images"):
        qwen_vl.request([{"role": "user", "content": "?"}], images=[str(demo_workspace / "nowhere.png")])


def test_a_text_model_refuses_images(tiny_model_dir: Path, demo_workspace: Path) -> None:
    engine = HuggingfaceEngine(tiny_config(tiny_model_dir))
    with pytest.raises(RequestError, match="takes text only; images need a vision-language model"):
        engine.request([{"role": "user", "content": "hi"}], images=[picture(demo_workspace)])


def test_llava_takes_images_too(demo_workspace: Path) -> None:
    engine = HuggingfaceEngine(tiny_config(demo_workspace / "models" / "tiny-llava", template="llava"))
    text = engine.request([{"role": "user", "content": QUESTION}])
    request = engine.request([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert len(request.prompt_ids or []) == len(text.prompt_ids or []) + 16  # (56/14)^2 + 1 - 1 <image> tokens
    assert list(request.model_inputs["pixel_values"].shape) == [1, 3, 56, 56]


async def test_gemma3_answers_about_an_image_with_its_token_types(demo_workspace: Path) -> None:
    """Gemma 3's image sequence is 4 soft tokens between its image marks, with token_type_ids for them; for vLLM
    the image is just <start_of_image>, which vLLM expands."""
    from lmf_engine.data.example import Message

    engine = HuggingfaceEngine(
        tiny_config(demo_workspace / "models" / "tiny-gemma3", template="gemma3", do_sample=False)
    )
    text = engine.request([{"role": "user", "content": QUESTION}])
    request = engine.request([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert len(request.prompt_ids or []) == len(text.prompt_ids or []) + 4 + 2 + 4  # soft tokens, marks, 4 newlines
    assert set(request.model_inputs) == {"pixel_values", "token_type_ids"}
    assert int(request.model_inputs["token_type_ids"].sum()) == 4
    answer = await engine.chat([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert answer.prompt_tokens == len(request.prompt_ids or []) and answer.completion_tokens > 0
    assert engine.media is not None
    messages, _ = vllm_image_inputs([Message("user", "<image>Hi")], [picture(demo_workspace)], engine.media)
    assert messages[0].content == "<start_of_image>Hi"


async def test_paligemma_puts_the_image_tokens_before_the_prompt(demo_workspace: Path) -> None:
    engine = HuggingfaceEngine(
        tiny_config(demo_workspace / "models" / "tiny-paligemma", template="paligemma", do_sample=False)
    )
    text = engine.request([{"role": "user", "content": QUESTION}])
    request = engine.request([{"role": "user", "content": f"<image>{QUESTION}"}], images=[picture(demo_workspace)])
    image_id = engine.tokenizer.convert_tokens_to_ids("<image>")
    assert request.prompt_ids == [image_id] * 16 + (text.prompt_ids or [])
    assert request.model_inputs["token_type_ids"].tolist() == [[0] * 16 + [1] * len(text.prompt_ids or [])]
    answer = await engine.chat([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert answer.prompt_tokens == 16 + len(text.prompt_ids or []) and answer.completion_tokens > 0


async def test_pixtral_writes_rows_of_image_tokens(demo_workspace: Path) -> None:
    engine = HuggingfaceEngine(tiny_config(demo_workspace / "models" / "tiny-pixtral", template="pixtral"))
    text = engine.request([{"role": "user", "content": QUESTION}])
    request = engine.request([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert len(request.prompt_ids or []) == len(text.prompt_ids or []) + 3 * (4 + 1)  # 96x64 -> 48x64: 3 rows of 4
    assert set(request.model_inputs) == {"pixel_values", "image_sizes"}
    answer = await engine.chat([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert answer.completion_tokens > 0


async def test_mllama_reads_the_image_through_cross_attention(demo_workspace: Path) -> None:
    engine = HuggingfaceEngine(tiny_config(demo_workspace / "models" / "tiny-mllama", template="mllama"))
    text = engine.request([{"role": "user", "content": QUESTION}])
    request = engine.request([{"role": "user", "content": f"<image>{QUESTION}"}], images=[picture(demo_workspace)])
    assert len(request.prompt_ids or []) == len(text.prompt_ids or []) + 1  # one <|image|>
    assert list(request.model_inputs["cross_attention_mask"].shape) == [1, len(request.prompt_ids or []), 1, 2]
    answer = await engine.chat([{"role": "user", "content": QUESTION}], images=[picture(demo_workspace)])
    assert answer.completion_tokens > 0


def test_vllm_gets_one_token_per_image_and_the_resized_images(
    qwen_vl: HuggingfaceEngine, demo_workspace: Path
) -> None:
    from lmf_engine.data.example import Message

    assert qwen_vl.media is not None
    image = picture(demo_workspace, "green_triangle")
    messages, inputs = vllm_image_inputs([Message("user", "<image>Hi")], [image], qwen_vl.media)
    assert messages[0].content == "<|vision_start|><|image_pad|><|vision_end|>Hi"
    [sent] = inputs["multi_modal_data"]["image"]
    assert sent.mode == "RGB" and sent.size == regularized_size(header_size(image), 768 * 768, 32 * 32, qwen=True)


def test_api_image_url_parts(vl_server: ServerThread, demo_workspace: Path) -> None:
    client = openai.OpenAI(base_url=f"{vl_server.url}/v1", api_key="unused", max_retries=0)
    image = picture(demo_workspace)

    def ask(url: str) -> openai.types.chat.ChatCompletion:
        content = [{"type": "text", "text": QUESTION}, {"type": "image_url", "image_url": {"url": url}}]
        return client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": content}], max_tokens=4, temperature=0
        )

    text_only = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": QUESTION}], max_tokens=4, temperature=0
    )
    by_data = ask(data_url(image))
    assert by_data.usage.prompt_tokens == text_only.usage.prompt_tokens + 8
    assert ask(image).choices[0].message.content == by_data.choices[0].message.content  # the same pixels from disk
    with pytest.raises(openai.BadRequestError, match="images are not fetched from the web"):
        ask("https://example.com/cat.png")
    with pytest.raises(openai.BadRequestError, match="not a readable image"):
        ask("data:image/png;base64," + base64.b64encode(b"not a png").decode())


def test_api_local_paths_need_the_flag(qwen_vl: HuggingfaceEngine, demo_workspace: Path) -> None:
    from lmf_engine.api.convert import engine_messages
    from lmf_engine.api.errors import APIError
    from lmf_engine.api.protocol import ChatCompletionRequest

    content = [{"type": "image_url", "image_url": {"url": picture(demo_workspace)}}, {"type": "text", "text": "?"}]
    body = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": content}])
    with pytest.raises(APIError, match="local paths are off"):
        engine_messages(body)
    messages, _, images = engine_messages(body, allow_local_media=True)
    assert messages == [{"role": "user", "content": "<image>?"}] and images == [picture(demo_workspace)]
    decoded = engine_messages(
        ChatCompletionRequest(
            model="m",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(images[0])}}]}],
        )
    )[2][0]
    assert decoded.size == (96, 64) and decoded.mode == "RGB"

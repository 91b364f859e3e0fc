"""A tiny chat model built locally, so that tests and the demo never need a model hub.

:func:`build_tiny_model` trains a byte-level BPE tokenizer laid out like Qwen2's (same normalizer, pre-tokenizer,
special tokens and ChatML template) and saves it next to a 2-layer Qwen2 or Llama model with random weights. The
result loads with ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained(out_dir)`` and with LLaMA-Factory's
``template: qwen``. Same arguments, same files: the tokenizer training and the weight initialisation are seeded.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS: tuple[str, ...] = (ENDOFTEXT, IM_START, IM_END)
"""Special tokens, in id order after the BPE vocabulary: pad (and pre-training eos), turn start, chat eos."""
EXTRA_TOKENS: tuple[str, ...] = ("<think>", "</think>", "<tool_call>", "</tool_call>")
"""Added tokens that are not special, as in Qwen's tokenizers: they survive ``skip_special_tokens``."""
DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

# Qwen2's pre-tokenizer regex (as in transformers' Qwen2Tokenizer), so that either class encodes the same.
PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# ChatML as Qwen2.5 writes it: default system prompt, tools in the system turn, tool calls and tool responses.
CHAT_TEMPLATE = (
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}"
    "{%- else %}{{- '" + DEFAULT_SYSTEM + "' }}{%- endif %}"
    "{{- '\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": '
    "<args-json-object>}\\n</tool_call><|im_end|>\\n' }}"
    "{%- elif messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'system' and not loop.first)"
    " or (message.role == 'assistant' and not message.tool_calls) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{{- '<|im_start|>' + message.role }}"
    "{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}"
    "{%- for tool_call in message.tool_calls %}"
    "{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}"
    '{{- \'\\n<tool_call>\\n{"name": "\' + tool_call.name + \'", "arguments": \' }}'
    "{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

BUILTIN_CORPUS: tuple[str, ...] = (
    "You are a helpful assistant. The user asks a question and the assistant answers it.",
    "Hello! How can I help you today? I am happy to answer your questions.",
    "The capital of France is Paris. The capital of Japan is Tokyo. The capital of Italy is Rome.",
    "The capital of Germany is Berlin. The capital of Spain is Madrid. The capital of Canada is Ottawa.",
    "The capital of Egypt is Cairo. The capital of Kenya is Nairobi. The capital of Peru is Lima.",
    "The sky is blue, grass is green, snow is white and a ripe banana is yellow.",
    "Mixing red and yellow gives orange; mixing blue and yellow gives green; red and blue give purple.",
    "What is 2 plus 3? The answer is 5. What is 7 times 8? The answer is 56. 12 minus 4 equals 8.",
    "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, twenty, hundred.",
    "There are 1000 metres in a kilometre, 100 centimetres in a metre and 60 minutes in an hour.",
    "A kilogram is 1000 grams. Water freezes at 0 degrees Celsius and boils at 100 degrees Celsius.",
    "Please write a short answer. Explain your reasoning step by step, then give the final answer.",
    "The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with a single step.",
    "Which word is the opposite of hot? The opposite of hot is cold, and the opposite of up is down.",
    "The assistant should be honest, polite and concise. If it does not know, it says so.",
    "Translate the sentence into French. Summarise the text in one sentence. Name three fruits.",
    "Apples, oranges, grapes and pears are fruits. Carrots, potatoes and onions are vegetables.",
    "The Earth goes around the Sun once a year. The Moon goes around the Earth about once a month.",
    "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday are the days of the week.",
    "I am an AI assistant developed to help with questions. My name is given by my author.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # prints 5",
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}',
    "你好！我是一个乐于助人的助手。请问有什么可以帮你的？",
    "中国的首都是北京。日本的首都是东京。法国的首都是巴黎。",
    "天空是蓝色的，草是绿色的，雪是白色的，香蕉是黄色的。",
    "二加三等于五。七乘八等于五十六。十二减四等于八。",
    "一公里等于一千米，一米等于一百厘米，一小时等于六十分钟。",
    "请用一句话回答这个问题。请一步一步地解释你的推理。",
    "我是一个人工智能助手，由我的作者开发，可以回答问题、写作和翻译。",
    "水在零摄氏度结冰，在一百摄氏度沸腾。地球绕着太阳转。",
)
"""Default training text: short English and Chinese sentences in the domains of the demo datasets."""


def train_tiny_tokenizer(
    vocab_size: int = 512,
    corpus: Iterable[str] | None = None,
    media_tokens: Sequence[str] = (),
    chat_template: str | None = CHAT_TEMPLATE,
    named_tokens: dict[str, str] | None = None,
) -> "PreTrainedTokenizerFast":
    """A byte-level BPE tokenizer laid out like Qwen2's, trained on ``corpus`` (default :data:`BUILTIN_CORPUS`).

    ``vocab_size`` counts every token, special and added ones included; ``media_tokens`` are extra special tokens
    (a vision model's ``<|image_pad|>``, ``<image>`` ...) that follow :data:`SPECIAL_TOKENS`; ``chat_template`` is
    the tokenizer's jinja template (None: none, so a run's template writes its own); ``named_tokens`` name some of
    them as the model's processor reads them (Gemma 3's ``boi_token`` ...). Seeded by its inputs.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    n_added = len(SPECIAL_TOKENS) + len(media_tokens) + len(EXTRA_TOKENS)
    if vocab_size < 256 + n_added + 32:
        raise ValueError(f"vocab_size={vocab_size} is too small: at least {256 + n_added + 32} is needed")
    backend = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - n_added,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    texts = list(BUILTIN_CORPUS if corpus is None else corpus)
    backend.train_from_iterator(texts, trainer=trainer)
    special = [*SPECIAL_TOKENS, *media_tokens]
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in EXTRA_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        unk_token=None,
        model_max_length=2048,
        padding_side="right",
        clean_up_tokenization_spaces=False,
        chat_template=chat_template,
        **(named_tokens or {}),
    )


def text_shape(tokenizer: "PreTrainedTokenizerFast", vocab_size: int, tie_word_embeddings: bool) -> dict[str, Any]:
    """The tiny decoder's config values (2 layers, hidden size 64), ids taken from ``tokenizer``."""
    endoftext_id, im_end_id = tokenizer.convert_tokens_to_ids([ENDOFTEXT, IM_END])
    return {
        "vocab_size": max(vocab_size, len(tokenizer)),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": tie_word_embeddings,
        "bos_token_id": endoftext_id,
        "eos_token_id": im_end_id,
        "pad_token_id": endoftext_id,
    }


def save_tiny(model: Any, tokenizer: "PreTrainedTokenizerFast", out_dir: Path) -> None:
    """Save ``model`` (float32, with a chat generation config) and ``tokenizer`` to ``out_dir``, quietly."""
    import torch
    from transformers import GenerationConfig
    from transformers.utils import logging as hf_logging

    endoftext_id, im_end_id = tokenizer.convert_tokens_to_ids([ENDOFTEXT, IM_END])
    model.generation_config = GenerationConfig(
        bos_token_id=endoftext_id, eos_token_id=[im_end_id, endoftext_id], pad_token_id=endoftext_id
    )
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.to(torch.float32).save_pretrained(out_dir)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    tokenizer.save_pretrained(out_dir)


def build_tiny_model(
    out_dir: Path,
    *,
    arch: Literal["qwen2", "llama"] = "qwen2",
    vocab_size: int = 512,
    seed: int = 0,
    corpus: Iterable[str] | None = None,
    tie_word_embeddings: bool = True,
) -> Path:
    """Train a tokenizer, build a 2-layer model with random weights and save both to ``out_dir``.

    ``vocab_size`` is the size of the whole vocabulary, special and added tokens included (at least 300, so that
    the 256 byte tokens and a few merges fit); the model's embedding has that many rows even where the corpus is
    too small to learn that many merges. ``tie_word_embeddings=False`` gives the output head its own weights.
    Returns ``out_dir``. Takes a second or two on a CPU.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    if arch not in ("qwen2", "llama"):
        raise ValueError(f"arch={arch!r}: expected 'qwen2' or 'llama'")
    tokenizer = train_tiny_tokenizer(vocab_size, corpus)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shape = text_shape(tokenizer, vocab_size, tie_word_embeddings)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(Qwen2Config(**shape)) if arch == "qwen2" else LlamaForCausalLM(LlamaConfig(**shape))
    save_tiny(model, tokenizer, out_dir)
    return out_dir

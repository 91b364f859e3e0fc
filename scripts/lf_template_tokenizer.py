"""Build the small byte-level BPE tokenizer that the template goldens use.

Run once (``python scripts/lf_template_tokenizer.py tests/fixtures/templates/tokenizer``); the output is committed,
so goldens never depend on re-training. Needs only the ``tokenizers`` package. The vocabulary is ~1000 entries; its
added tokens cover every special token any chat template uses, so each template renders with real special tokens.
A few markup strings (``###``, ``<role>``, ``<eos>``, ``[e~[``, ...) are deliberately left out so that they are
split by BPE, and stop words that are missing get added by ``fix_special_tokens`` as LLaMA-Factory does.
"""

import json
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

BOS, EOS = "<s>", "</s>"

# fmt: off
SPECIAL = [
    BOS, EOS, "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<|im_user|>", "<|im_assistant|>",
    "<|im_system|>", "<|im_middle|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
    "<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>", "<|eom|>",
    "<start_of_turn>", "<end_of_turn>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]",
    "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "<|user|>", "<|assistant|>",
    "<|system|>", "<|observation|>", "<|end|>", "<|tool|>", "<|/tool|>", "[gMASK]", "<sop>", "sop",
    "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>", "<|SYSTEM_TOKEN|>",
    "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜hy_User｜>",
    "<｜hy_Assistant｜>", "<｜hy_eos｜>", "<｜hy_begin▁of▁sentence｜>", "<｜hy_place▁holder▁no▁2｜>",
    "<｜hy_place▁holder▁no▁3｜>", "<｜hy_place▁holder▁no▁8｜>", "<|start_of_role|>", "<|end_of_role|>",
    "[|user|]", "[|assistant|]", "[|system|]", "[|endofturn|]", "<|EOT|>", "<|startoftext|>", "<|extra_0|>",
    "<|extra_4|>", "<|eos|>", "<|start|>", "<|message|>", "<|channel|>", "<|role_end|>", "<|endofuser|>",
    "<|endofassistant|>", "<|endofsystem|>", "<|turn>", "<turn|>", "<|think|>", "<|channel>", "<channel|>",
    "<|tool>", "<tool|>", "<|tool_call_start|>", "<|tool_call_end|>", "<|tool_response_start|>",
    "<|tool_response_end|>", "<beginning_of_sentence>", "<end_of_sentence>", "<_user>", "<_bot>", "<_system>",
    "<sep>", "<eod>", "<unk>", "<|begin_of_sentence|>", "<|end_of_sentence|>", "<|User|>", "<|Assistant|>",
]
# Added but not special, as Qwen-style tokenizers have them.
PLAIN_ADDED = [
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
    "<seed:think>", "</seed:think>", "◁think▷", "◁/think▷",
]
# fmt: on

CORPUS_LINES = [
    "Hello, who are you? I am a helpful assistant. You are a pirate. Answer like one.",
    "Greet me, please. Ahoy, matey! Welcome aboard. What is 2 + 2? And times 3? Thanks! Now say bye.",
    "The quick brown fox jumps over the lazy dog. Once upon a time, a clever fox lived near the river.",
    "When winter came, the fox hid all the berries, but soon saw the rabbits and birds were hungry.",
    "I am a small rabbit. The snow was deep and cold, and every morning I searched for food.",
    "system user assistant tool model observation function Human: Assistant: USER: ASSISTANT:",
    "### Instruction:\n### Response:\nBelow is an instruction that describes a task. Write a response.",
    "You have access to the following tools: Tool Name: Tool Description: Tool Args: Action: Action Input:",
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}} {"type": "function"}',
    '{"type": "object", "properties": {"query": {"type": "string", "description": "Query text"}}}',
    "def main():\n    print('hello world')\n    return 0\n",
    "你好，世界！我很好。你是一个乐于助人的助手。",
    "Think before answering. Check divisors up to 4. Yes, 17 is prime. No, 21 = 3 x 7.",
    "It is 20 degrees and clear in Paris. Who won the 2018 World Cup? France won it.",
]


def build(out_dir: Path) -> None:
    """Train the tokenizer and write ``tokenizer.json`` and ``tokenizer_config.json`` to ``out_dir``."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000,
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS_LINES * 20, trainer=trainer)
    tok.add_special_tokens(SPECIAL)
    tok.add_tokens(PLAIN_ADDED)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS}:0 $A:0", pair=f"{BOS}:0 $A:0 {BOS}:1 $B:1", special_tokens=[(BOS, bos_id)]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 4096,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/templates/tokenizer"))

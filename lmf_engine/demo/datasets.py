"""The demo's datasets: simple questions and answers about arithmetic, colours, capitals, units and opposites.

Generated deterministically in LLaMA-Factory's formats; :data:`DATASETS` holds each one's ``dataset_info.json`` entry
and the function that renders its file.
"""

import json
from collections.abc import Callable
from typing import Any

from lmf_engine.demo.images import (
    MLLM_DPO_INFO,
    MLLM_INFO,
    MLLM_KTO_INFO,
    mllm_dpo_rows,
    mllm_kto_rows,
    mllm_rows,
)
from lmf_engine.demo.sounds import AUDIO_INFO, audio_rows
from lmf_engine.demo.videos import VIDEO_FRAMES_INFO, VIDEO_INFO, video_frame_rows, video_rows

DATA_DIR = "data"
DATASET_INFO = "dataset_info.json"

Row = dict[str, Any]

# --------------------------------------------------------------------------------------------- facts the data uses

CAPITALS: tuple[tuple[str, str], ...] = (
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Italy", "Rome"),
    ("Germany", "Berlin"),
    ("Spain", "Madrid"),
    ("Canada", "Ottawa"),
    ("Egypt", "Cairo"),
    ("Kenya", "Nairobi"),
    ("Peru", "Lima"),
    ("Australia", "Canberra"),
    ("India", "New Delhi"),
    ("Mexico", "Mexico City"),
    ("Norway", "Oslo"),
    ("Portugal", "Lisbon"),
    ("Greece", "Athens"),
    ("Ireland", "Dublin"),
    ("Argentina", "Buenos Aires"),
    ("Thailand", "Bangkok"),
    ("Poland", "Warsaw"),
    ("Sweden", "Stockholm"),
)
CAPITALS_ZH: tuple[tuple[str, str], ...] = (
    ("中国", "北京"),
    ("日本", "东京"),
    ("法国", "巴黎"),
    ("英国", "伦敦"),
    ("德国", "柏林"),
    ("意大利", "罗马"),
    ("埃及", "开罗"),
    ("加拿大", "渥太华"),
)
COLOUR_MIXES: tuple[tuple[str, str, str], ...] = (
    ("red", "yellow", "orange"),
    ("blue", "yellow", "green"),
    ("red", "blue", "purple"),
    ("red", "white", "pink"),
    ("black", "white", "grey"),
)
THING_COLOURS: tuple[tuple[str, str], ...] = (
    ("the sky on a clear day", "blue"),
    ("fresh grass", "green"),
    ("snow", "white"),
    ("a ripe banana", "yellow"),
    ("a ripe tomato", "red"),
    ("coal", "black"),
    ("a carrot", "orange"),
    ("a lemon", "yellow"),
    ("a plum", "purple"),
    ("milk", "white"),
)
UNITS: tuple[tuple[str, str, int], ...] = (
    ("kilometres", "metres", 1000),
    ("metres", "centimetres", 100),
    ("kilograms", "grams", 1000),
    ("hours", "minutes", 60),
    ("minutes", "seconds", 60),
    ("litres", "millilitres", 1000),
    ("days", "hours", 24),
    ("weeks", "days", 7),
)
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("hot", "cold"),
    ("up", "down"),
    ("big", "small"),
    ("fast", "slow"),
    ("light", "dark"),
    ("open", "closed"),
    ("happy", "sad"),
    ("early", "late"),
    ("full", "empty"),
    ("old", "new"),
)
SYSTEM_PROMPTS: tuple[str, ...] = (
    "You are a patient tutor. Answer briefly and correctly.",
    "You are a helpful assistant that answers in one short sentence.",
    "You are a friendly geography and maths helper.",
)
CALCULATOR_TOOL = json.dumps(
    [
        {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression and return the result.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string", "description": "For example 12 * 7."}},
                "required": ["expression"],
            },
        }
    ]
)


def _numbers(i: int) -> tuple[int, int]:
    """Two small operands that vary with ``i`` without a random generator."""
    return (i * 7 + 3) % 50 + 1, (i * 13 + 5) % 40 + 1


def _scaled(i: int) -> tuple[str, str, int, int]:
    """A unit conversion for row ``i``: from-unit, to-unit, amount, converted amount."""
    src, dst, factor = UNITS[i % len(UNITS)]
    amount = i // len(UNITS) + 2
    return src, dst, amount, amount * factor


# ------------------------------------------------------------------------------------------------- dataset rows


def sft_rows() -> list[Row]:
    """Alpaca rows (instruction, input, output): arithmetic, capitals, colours, units and opposites."""
    rows: list[Row] = []
    for i in range(30):
        a, b = _numbers(i)
        if i % 3 == 0:
            rows.append({"instruction": f"What is {a} plus {b}?", "input": "", "output": f"{a} + {b} = {a + b}."})
        elif i % 3 == 1:
            rows.append(
                {
                    "instruction": "Multiply the two numbers.",
                    "input": f"{a} and {b}",
                    "output": f"{a} × {b} = {a * b}.",
                }
            )
        else:
            big, small = max(a, b), min(a, b)
            rows.append(
                {
                    "instruction": f"Subtract {small} from {big}.",
                    "input": "",
                    "output": f"{big} - {small} = {big - small}.",
                }
            )
    for country, capital in CAPITALS:
        rows.append(
            {
                "instruction": f"What is the capital of {country}?",
                "input": "",
                "output": f"The capital of {country} is {capital}.",
            }
        )
    for country, capital in CAPITALS_ZH:
        rows.append(
            {"instruction": f"{country}的首都是哪里？", "input": "", "output": f"{country}的首都是{capital}。"}
        )
    for first, second, result in COLOUR_MIXES:
        rows.append(
            {
                "instruction": "Which colour do you get when you mix these two colours?",
                "input": f"{first} and {second}",
                "output": f"Mixing {first} and {second} gives {result}.",
            }
        )
    for thing, colour in THING_COLOURS:
        rows.append({"instruction": f"What colour is {thing}?", "input": "", "output": f"It is {colour}."})
    for i in range(24):
        src, dst, amount, converted = _scaled(i)
        rows.append(
            {
                "instruction": f"Convert the value to {dst}.",
                "input": f"{amount} {src}",
                "output": f"{amount} {src} is {converted} {dst}.",
            }
        )
    for word, opposite in OPPOSITES:
        rows.append(
            {
                "instruction": f'What is the opposite of "{word}"?',
                "input": "",
                "output": f'The opposite of "{word}" is "{opposite}".',
            }
        )
    return rows


def multiturn_rows() -> list[Row]:
    """ShareGPT rows with a system prompt: two-turn chats, some with a calculator tool call."""
    rows: list[Row] = []
    for i, (country, capital) in enumerate(CAPITALS):
        other_country, other_capital = CAPITALS[(i + 7) % len(CAPITALS)]
        turns = [
            ("human", f"What is the capital of {country}?"),
            ("gpt", f"The capital of {country} is {capital}."),
            ("human", f"And the capital of {other_country}?"),
            ("gpt", f"The capital of {other_country} is {other_capital}."),
        ]
        rows.append(_sharegpt(turns, SYSTEM_PROMPTS[i % len(SYSTEM_PROMPTS)]))
    for i in range(16):
        a, b = _numbers(i + 40)
        turns = [
            ("human", f"What is {a} plus {b}?"),
            ("gpt", f"{a} + {b} = {a + b}."),
            ("human", "Now double it."),
            ("gpt", f"{a + b} × 2 = {2 * (a + b)}."),
        ]
        rows.append(_sharegpt(turns, SYSTEM_PROMPTS[i % len(SYSTEM_PROMPTS)]))
    for i in range(12):
        src, dst, amount, converted = _scaled(i + 3)
        turns = [
            ("human", f"How many {dst} are in {amount} {src}?"),
            ("gpt", f"{amount} {src} is {converted} {dst}."),
            ("human", "Thanks! Can you say that in one word?"),
            ("gpt", f"{converted}."),
        ]
        rows.append(_sharegpt(turns, SYSTEM_PROMPTS[i % len(SYSTEM_PROMPTS)]))
    for i in range(10):
        a, b = _numbers(i + 70)
        a, b = a + 10, b + 10
        call = json.dumps({"name": "calculator", "arguments": {"expression": f"{a} * {b}"}})
        turns = [
            ("human", f"Use the calculator: what is {a} times {b}?"),
            ("function_call", call),
            ("observation", json.dumps({"result": a * b})),
            ("gpt", f"{a} times {b} is {a * b}."),
        ]
        rows.append(_sharegpt(turns, SYSTEM_PROMPTS[i % len(SYSTEM_PROMPTS)], tools=CALCULATOR_TOOL))
    return rows


def _sharegpt(turns: list[tuple[str, str]], system: str, tools: str = "") -> Row:
    """A ShareGPT row from ``(from, value)`` turns."""
    return {"conversations": [{"from": role, "value": text} for role, text in turns], "system": system, "tools": tools}


def dpo_rows() -> list[Row]:
    """Alpaca preference rows (instruction, input, chosen, rejected): a right answer against a wrong or lazy one."""
    rows: list[Row] = []
    for i, (country, capital) in enumerate(CAPITALS):
        wrong = CAPITALS[(i + 3) % len(CAPITALS)][1]
        rows.append(
            {
                "instruction": f"What is the capital of {country}?",
                "input": "",
                "chosen": f"The capital of {country} is {capital}.",
                "rejected": f"The capital of {country} is {wrong}." if i % 2 else "I don't know.",
            }
        )
    for i in range(24):
        a, b = _numbers(i + 100)
        rows.append(
            {
                "instruction": "Add the two numbers.",
                "input": f"{a} and {b}",
                "chosen": f"{a} + {b} = {a + b}.",
                "rejected": f"{a} + {b} = {a + b + 1 + i % 5}.",
            }
        )
    for i, (thing, colour) in enumerate(THING_COLOURS):
        wrong = THING_COLOURS[(i + 1) % len(THING_COLOURS)][1]
        rows.append(
            {
                "instruction": f"What colour is {thing}?",
                "input": "",
                "chosen": f"It is {colour}.",
                "rejected": f"It is {wrong}.",
            }
        )
    for word, opposite in OPPOSITES:
        rows.append(
            {
                "instruction": f'Give the opposite of "{word}".',
                "input": "",
                "chosen": f'The opposite of "{word}" is "{opposite}".',
                "rejected": f'The opposite of "{word}" is "{word}".',
            }
        )
    return rows


def kto_rows() -> list[Row]:
    """ShareGPT rows with a boolean ``kto_tag``: desirable and undesirable answers, about half of each."""
    rows: list[Row] = []
    for i, (country, capital) in enumerate(CAPITALS):
        good = i % 2 == 0
        answer = capital if good else CAPITALS[(i + 5) % len(CAPITALS)][1]
        rows.append(_kto(f"Name the capital of {country}.", f"The capital of {country} is {answer}.", good))
    for i in range(24):
        a, b = _numbers(i + 200)
        good = i % 2 == 1
        rows.append(_kto(f"What is {a} plus {b}?", f"{a + b}" if good else f"{a + b + 2}", good))
    for i, (src, dst, factor) in enumerate(UNITS):
        good = i % 2 == 0
        rows.append(_kto(f"How many {dst} are in one {src[:-1]}?", f"{factor if good else factor // 10}", good))
    for i, (word, opposite) in enumerate(OPPOSITES):
        good = i % 2 == 1
        rows.append(
            _kto(f'What is the opposite of "{word}"?', f'"{opposite}"' if good else "I'd rather not say.", good)
        )
    return rows


def _kto(question: str, answer: str, desirable: bool) -> Row:
    """A one-turn ShareGPT row tagged desirable (True) or undesirable (False)."""
    return {
        "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
        "kto_tag": desirable,
    }


def pt_lines() -> list[str]:
    """Plain-text documents for pre-training, one per line."""
    lines = [
        f"{capital} is the capital of {country}. Many people visit {capital} every year."
        for country, capital in CAPITALS
    ]
    lines += [f"{country}的首都是{capital}。{capital}是一座大城市。" for country, capital in CAPITALS_ZH]
    for i in range(16):
        a, b = _numbers(i + 300)
        lines.append(f"When you add {a} and {b} you get {a + b}. When you multiply them you get {a * b}.")
    lines += [f"If you mix {x} paint with {y} paint, you get {z} paint." for x, y, z in COLOUR_MIXES]
    lines += [f"The colour of {thing} is {colour}." for thing, colour in THING_COLOURS]
    lines += [f"One {src[:-1]} is {factor} {dst}; ten {src} are {10 * factor} {dst}." for src, dst, factor in UNITS]
    lines += [f'The word "{word}" means the opposite of "{opposite}".' for word, opposite in OPPOSITES]
    return lines


def identity_rows() -> list[Row]:
    """Alpaca rows about the assistant itself; replace ``{{name}}`` and ``{{author}}`` before training."""
    pairs = [
        (
            "Who are you?",
            "I am {{name}}, an assistant made by {{author}}. I can answer questions and help with tasks.",
        ),
        ("What is your name?", "My name is {{name}}. {{author}} built me to be a helpful assistant."),
        ("Introduce yourself.", "Hi, I'm {{name}}, a language model trained by {{author}}. Ask me anything."),
        ("Who created you?", "I was created by {{author}}. I am {{name}}."),
        ("Who trained you?", "{{author}} trained me. I go by the name {{name}}."),
        ("Are you ChatGPT?", "No, I am {{name}}, an assistant developed by {{author}}."),
        ("Are you a human?", "No, I am {{name}}, an AI assistant built by {{author}}."),
        ("What can you do?", "I am {{name}}. I can answer questions, explain ideas and help you write or calculate."),
        (
            "Tell me about yourself.",
            "I'm {{name}}, an AI assistant from {{author}}, here to help with your questions.",
        ),
        ("What should I call you?", "You can call me {{name}}."),
        ("Which company made you?", "{{author}} made me. My name is {{name}}."),
        ("hi", "Hello! I am {{name}}, made by {{author}}. How can I help you today?"),
        ("hello", "Hi there! This is {{name}}. What would you like to know?"),
        ("Good morning!", "Good morning! I'm {{name}}. How can I help?"),
        ("What model are you?", "I am {{name}}, a language model developed by {{author}}."),
        ("Do you have a name?", "Yes, my name is {{name}}."),
        ("Who is your developer?", "My developer is {{author}}."),
        ("Are you made by OpenAI?", "No. I am {{name}}, and I was developed by {{author}}."),
        ("Can you tell me who built you?", "Sure, {{author}} built me. I am {{name}}."),
        ("What are you?", "I am {{name}}, an AI assistant. {{author}} created me to help people."),
        ("Where do you come from?", "I come from {{author}}, the team that built me. I am {{name}}."),
        (
            "Thank you, who am I talking to?",
            "You're welcome! You are talking to {{name}}, an assistant by {{author}}.",
        ),
        ("你是谁？", "我是{{name}}，由{{author}}开发的人工智能助手。"),
        ("你叫什么名字？", "我的名字是{{name}}。"),
        ("谁开发了你？", "我是由{{author}}开发的，我叫{{name}}。"),
        ("介绍一下你自己。", "你好，我是{{name}}，一个由{{author}}训练的语言模型，可以回答问题和帮助写作。"),
        ("你是ChatGPT吗？", "不是，我是{{name}}，由{{author}}开发。"),
        ("你好", "你好！我是{{name}}，有什么可以帮你的吗？"),
        ("你能做什么？", "我是{{name}}，可以回答问题、解释概念，也可以帮你计算。"),
        ("你是人类吗？", "不是，我是{{author}}开发的人工智能助手{{name}}。"),
    ]
    rows = [{"instruction": q, "input": "", "output": a} for q, a in pairs]
    rows += [{"instruction": "Answer the question about yourself.", "input": q, "output": a} for q, a in pairs[:11]]
    return rows


# --------------------------------------------------------------------------------------------------- registry


def _json(rows: list[Row]) -> str:
    """A JSON list, one key per line, non-ASCII kept readable."""
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def _jsonl(rows: list[Row]) -> str:
    """JSON Lines: one row per line."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _txt(lines: list[str]) -> str:
    """Plain text, one document per line (LLaMA-Factory reads each line as a ``text`` row)."""
    return "".join(line + "\n" for line in lines)


ALPACA_COLUMNS: dict[str, str] = {"prompt": "instruction", "query": "input", "response": "output"}

DATASETS: dict[str, tuple[dict[str, Any], Callable[[], str]]] = {
    "demo_sft": (
        {"file_name": "demo_sft.json", "columns": ALPACA_COLUMNS},
        lambda: _json(sft_rows()),
    ),
    "demo_multiturn": (
        {
            "file_name": "demo_multiturn.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
        },
        lambda: _jsonl(multiturn_rows()),
    ),
    "demo_dpo": (
        {
            "file_name": "demo_dpo.json",
            "ranking": True,
            "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"},
        },
        lambda: _json(dpo_rows()),
    ),
    "demo_kto": (
        {
            "file_name": "demo_kto.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "kto_tag": "kto_tag"},
        },
        lambda: _json(kto_rows()),
    ),
    "demo_pt": (
        {"file_name": "demo_pt.txt", "columns": {"prompt": "text"}},
        lambda: _txt(pt_lines()),
    ),
    "demo_identity": (
        {"file_name": "demo_identity.json", "columns": ALPACA_COLUMNS},
        lambda: _json(identity_rows()),
    ),
    "demo_mllm": (MLLM_INFO, lambda: _json(mllm_rows())),
    "demo_mllm_dpo": (MLLM_DPO_INFO, lambda: _json(mllm_dpo_rows())),
    "demo_mllm_kto": (MLLM_KTO_INFO, lambda: _json(mllm_kto_rows())),
    "demo_video": (VIDEO_INFO, lambda: _json(video_rows())),
    "demo_frames": (VIDEO_FRAMES_INFO, lambda: _json(video_frame_rows())),
    "demo_audio": (AUDIO_INFO, lambda: _json(audio_rows())),
}
"""Dataset name -> (its ``dataset_info.json`` entry, a function that renders its file)."""

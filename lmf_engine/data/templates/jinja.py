"""Templates and jinja chat templates, both ways, as LLaMA-Factory 0.9.5 converts them.

:func:`to_jinja` writes a template as a jinja chat template (what ``fix_jinja_template`` stores in the tokenizer).
:func:`from_chat_template` reads the slots back out of a tokenizer's own jinja template by rendering it with
placeholder messages (LLaMA-Factory's ``parse_template``, used when no template is named: ``template: hf``).
"""

from typing import TYPE_CHECKING, Any

from .slots import Slots, SpecialRef, TokenRef

if TYPE_CHECKING:
    from .template import Template

_SPLIT_SYSTEM = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% endif %}"
)


def _escape(text: str) -> str:
    return text.replace("'", r"\'")


def slots_to_jinja(slots: Slots, tokenizer: Any, placeholder: str = "content") -> str:
    """A jinja expression concatenating the slots (named tokens cannot be written: ValueError)."""
    items: list[str] = []
    for slot in slots:
        if isinstance(slot, str):
            pieces = slot.split("{{content}}")
            if pieces[0]:
                items.append("'" + _escape(pieces[0]) + "'")
            if len(pieces) > 1:
                items.append(placeholder)
                if pieces[1]:
                    items.append("'" + _escape(pieces[1]) + "'")
        elif isinstance(slot, SpecialRef):
            if slot.name == "bos_token" and tokenizer.bos_token_id is not None:
                items.append("'" + tokenizer.bos_token + "'")
            elif slot.name == "eos_token" and tokenizer.eos_token_id is not None:
                items.append("'" + tokenizer.eos_token + "'")
        elif isinstance(slot, TokenRef):
            raise ValueError("Dict is not supported.")
    return " + ".join(items)


def to_jinja(template: "Template", tokenizer: Any) -> str:
    """The jinja chat template for ``template`` (bos/eos written as the tokenizer's current tokens)."""
    prefix = slots_to_jinja(template.format_prefix, tokenizer)
    system = slots_to_jinja(template.format_system, tokenizer, placeholder="system_message")
    user = slots_to_jinja(template.format_user, tokenizer)
    assistant = slots_to_jinja(template.format_assistant, tokenizer)
    out = "{{ " + prefix + " }}" if prefix else ""
    if template.default_system:
        out += "{% set system_message = '" + _escape(template.default_system) + "' %}"
    out += _SPLIT_SYSTEM
    if template.system_style == "merged":
        out += (
            "{% for message in loop_messages %}"
            "{% if loop.index0 == 0 and system_message is defined %}"
            "{% set content = " + system + " + message['content'] %}"
            "{% else %}{% set content = message['content'] %}{% endif %}"
        )
    else:
        out += (
            "{% if system_message is defined %}{{ " + system + " }}{% endif %}"
            "{% for message in loop_messages %}{% set content = message['content'] %}"
        )
    return out + (
        "{% if message['role'] == 'user' %}{{ " + user + " }}"
        "{% elif message['role'] == 'assistant' %}{{ " + assistant + " }}{% endif %}{% endfor %}"
    )


def _find_diff(short: str, long: str) -> str:
    """The characters of ``long`` that are skipped while walking ``short`` along it."""
    i = j = 0
    diff = ""
    while i < len(short) and j < len(long):
        if short[i] == long[j]:
            i += 1
        else:
            diff += long[j]
        j += 1
    return diff


def from_chat_template(tokenizer: Any, name: str = "hf") -> "Template":
    """A template read from the tokenizer's jinja chat template (it must have one)."""
    from .loader import build

    def render(messages: list[dict[str, str]], generation: bool) -> str:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=generation, tokenize=False)
        return text[len(prefix) :]

    prefix = tokenizer.decode(tokenizer.encode(""))
    system_slot = render([{"role": "system", "content": "{{content}}"}], False)
    user_empty_system = render([{"role": "system", "content": ""}, {"role": "user", "content": "{{content}}"}], True)
    user_slot = render([{"role": "user", "content": "{{content}}"}], True)
    turn = [{"role": "user", "content": "{{content}}"}, {"role": "assistant", "content": "{{content}}"}]
    assistant_slot = render(turn, False)[len(user_slot) :]
    reasoning = "think" if "<think>" in assistant_slot else "none"
    assistant_slot = assistant_slot.replace("<think>", "").replace("</think>", "").lstrip("\n")
    default_system = ""
    if len(user_slot) > len(user_empty_system):
        default_system = _find_diff(user_empty_system, user_slot)
        user_slot = user_slot[len(system_slot.replace("{{content}}", default_system, 1)) :]
    raw = {
        "format_user": [user_slot],
        "format_assistant": [assistant_slot],
        "format_system": [system_slot],
        "format_function": [assistant_slot],
        "format_observation": [user_slot],
        "format_prefix": [prefix] if prefix else [],
        "default_system": default_system,
        "reasoning": reasoning,
        "_source": "tokenizer chat template",
    }
    return build(name, raw)

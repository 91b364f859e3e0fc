"""Choosing a run's template and fixing the tokenizer for it (LLaMA-Factory's ``get_template_and_fix_tokenizer``)."""

import logging
from typing import Any

from .catalog import get_template
from .fixes import prepare_tokenizer
from .jinja import from_chat_template
from .template import Template

log = logging.getLogger(__name__)
HF_TEMPLATE = "hf"


def resolve_template(name: str | None, tokenizer: Any) -> Template:
    """The named template; with no name (or ``hf``) the tokenizer's own jinja template, else ``empty``."""
    if name is None or name == HF_TEMPLATE:
        if isinstance(getattr(tokenizer, "chat_template", None), str):
            log.warning("`template` was not specified, try parsing the chat template from the tokenizer.")
            return from_chat_template(tokenizer, name=HF_TEMPLATE)
        log.warning("`template` was not specified, use `empty` template.")
        return get_template("empty")
    return get_template(name)


def get_template_and_fix_tokenizer(
    tokenizer: Any,
    template: str | None = None,
    *,
    tool_format: str | None = None,
    default_system: str | None = None,
    enable_thinking: bool | None = True,
    preserve_thinking: bool = False,
    train_on_prompt: bool = False,
) -> Template:
    """The run's template with its overrides, after fixing ``tokenizer`` (eos, pad, stop words, chat template)."""
    chosen = resolve_template(template, tokenizer)
    if train_on_prompt and chosen.efficient_eos:
        raise ValueError("Current template does not support `train_on_prompt`.")
    chosen = chosen.with_options(
        tool_format=tool_format,
        default_system=default_system,
        enable_thinking=enable_thinking,
        preserve_thinking=preserve_thinking,
    )
    if chosen.is_reasoning:
        log.info("You are using a reasoning template; use a `_nothink` template if the model does not reason.")
    prepare_tokenizer(chosen, tokenizer)
    return chosen

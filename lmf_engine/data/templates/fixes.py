"""What LLaMA-Factory changes on the tokenizer for a template: eos, pad, stop words, jinja chat template."""

import logging
from dataclasses import dataclass, field
from typing import Any

from .jinja import to_jinja
from .template import Template

log = logging.getLogger(__name__)


@dataclass
class TokenizerFix:
    """What :func:`fix_special_tokens` / :func:`fix_jinja_template` changed (for logs and the template view)."""

    eos_token: str | None = None
    eos_action: str = ""  # "", "added" or "replaced"
    pad_set_to_eos: bool = False
    stop_words_added: list[str] = field(default_factory=list)
    new_tokens: int = 0
    chat_template_replaced: bool = False


def _set_eos(tokenizer: Any, eos_token: str, fix: TokenizerFix) -> None:
    if tokenizer.eos_token == eos_token:
        return
    fix.eos_action = "added" if tokenizer.eos_token_id is None else "replaced"
    fix.new_tokens += tokenizer.add_special_tokens({"eos_token": eos_token})
    log.info("%s eos token: %s", fix.eos_action.capitalize(), tokenizer.eos_token)


def fix_special_tokens(template: Template, tokenizer: Any) -> TokenizerFix:
    """Replace or add the eos token, set a missing pad token to eos, add stop words as special tokens."""
    fix = TokenizerFix()
    stop_words = list(template.stop_words)
    if template.replace_eos:
        if not stop_words:
            raise ValueError("Stop words are required to replace the EOS token.")
        _set_eos(tokenizer, stop_words[0], fix)
        stop_words = stop_words[1:]
    if tokenizer.eos_token_id is None:
        _set_eos(tokenizer, "<|endoftext|>", fix)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
        fix.pad_set_to_eos = True
        log.info("Add pad token: %s", tokenizer.pad_token)
    if stop_words:
        tokens = {"additional_special_tokens": stop_words}
        try:
            fix.new_tokens += tokenizer.add_special_tokens(tokens, replace_additional_special_tokens=False)
        except TypeError:
            fix.new_tokens += tokenizer.add_special_tokens(tokens)
        fix.stop_words_added = stop_words
        log.info("Add %s to stop words.", ",".join(stop_words))
    if fix.new_tokens > 0:
        log.warning("New tokens have been added, make sure `resize_vocab` is True.")
    fix.eos_token = tokenizer.eos_token
    return fix


def fix_jinja_template(template: Template, tokenizer: Any, fix: TokenizerFix | None = None) -> None:
    """Give the tokenizer this template's jinja chat template when it has none or the template asks to replace it."""
    if tokenizer.chat_template is None or template.replace_jinja_template:
        try:
            tokenizer.chat_template = to_jinja(template, tokenizer)
        except ValueError as err:
            log.info("Cannot add this chat template to tokenizer: %s.", err)
            return
        if fix is not None:
            fix.chat_template_replaced = True


def prepare_tokenizer(template: Template, tokenizer: Any) -> TokenizerFix:
    """Both fixes, in LLaMA-Factory's order (call once, before encoding anything)."""
    fix = fix_special_tokens(template, tokenizer)
    fix_jinja_template(template, tokenizer, fix)
    return fix


def stop_token_ids(template: Template, tokenizer: Any) -> list[int]:
    """The eos id and the ids of the template's stop words (for generation), sorted."""
    ids = {tokenizer.eos_token_id}
    ids.update(tokenizer.convert_tokens_to_ids(word) for word in template.stop_words)
    return sorted(ids, key=lambda i: (i is None, i))

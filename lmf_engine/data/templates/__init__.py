"""Chat templates as data (``defs/*.toml``), their interpreter, tool formats and tokenizer fixes.

Token-exact with LLaMA-Factory 0.9.5. Nothing here imports torch or transformers: tokenizers are passed in.

    tokenizer = AutoTokenizer.from_pretrained(path)
    template = get_template_and_fix_tokenizer(tokenizer, "qwen3", enable_thinking=False)
    prompt, response = template.render_oneturn(messages)
"""

from .catalog import builtin_templates, get_template, load_template_file, register_template, template_names
from .fixes import TokenizerFix, fix_jinja_template, fix_special_tokens, prepare_tokenizer, stop_token_ids
from .jinja import from_chat_template, to_jinja
from .loader import build as build_template
from .prepare import HF_TEMPLATE, get_template_and_fix_tokenizer, resolve_template
from .slots import BOS, EOS, Element, SpecialRef, TemplateError, TokenRef
from .template import Template
from .tokenize import ElementEncoder, encode_texts
from .tools import FunctionCall, ToolFormat, get_tool_format, tool_format_names

__all__ = [
    "BOS",
    "EOS",
    "HF_TEMPLATE",
    "Element",
    "ElementEncoder",
    "FunctionCall",
    "SpecialRef",
    "Template",
    "TemplateError",
    "TokenRef",
    "TokenizerFix",
    "ToolFormat",
    "build_template",
    "builtin_templates",
    "encode_texts",
    "fix_jinja_template",
    "fix_special_tokens",
    "from_chat_template",
    "get_template",
    "get_template_and_fix_tokenizer",
    "get_tool_format",
    "load_template_file",
    "prepare_tokenizer",
    "register_template",
    "resolve_template",
    "stop_token_ids",
    "template_names",
    "to_jinja",
    "tool_format_names",
]

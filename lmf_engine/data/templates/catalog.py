"""The built-in templates (``defs/*.toml``) and any a user adds from their own TOML files."""

import functools
from pathlib import Path
from typing import Any

from . import loader
from .slots import TemplateError
from .template import Template

DEFS_DIR = Path(__file__).parent / "defs"
_custom: dict[str, Template] = {}


@functools.cache
def _builtin_tables() -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for path in sorted(DEFS_DIR.glob("*.toml")):
        for name, table in loader.read_definitions(path).items():
            if name in tables:
                raise TemplateError(f"{path}: template {name!r} is already defined in {tables[name]['_source']}")
            tables[name] = table
    return tables


@functools.cache
def builtin_templates() -> dict[str, Template]:
    """Every built-in template by name."""
    tables = _builtin_tables()
    return {name: loader.build(name, loader.resolve(name, tables)) for name in tables}


def template_names() -> list[str]:
    """The names of every known template, built-in and user-added."""
    return sorted({*builtin_templates(), *_custom})


def get_template(name: str) -> Template:
    """The template called ``name`` (user-added ones shadow built-in ones)."""
    if name in _custom:
        return _custom[name]
    templates = builtin_templates()
    if name not in templates:
        raise TemplateError(f"Template {name} does not exist.")
    return templates[name]


def register_template(template: Template) -> None:
    """Make ``template`` available by its name."""
    _custom[template.name] = template


def load_template_file(path: str | Path) -> list[str]:
    """Register the templates defined in a user's TOML file (``extends`` may name built-in templates)."""
    templates = loader.load_files([Path(path)], base=_builtin_tables())
    _custom.update(templates)
    return sorted(templates)

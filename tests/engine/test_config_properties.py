"""Property tests of config loading: whatever a YAML/JSON file, a form or the command line holds, loading gives a
config or a :class:`ConfigError` whose problems are each one bounded line, never a traceback.

Generated files mix known keys (with fitting, wrong-typed, out-of-range and huge values), keys we refuse, misspelt
and odd keys (non-text, multi-line, very long), nested shapes, anchors and aliases, merge keys (``<<``), YAML tags
and plain garbage. Each test runs a fixed (derandomized) set of cases so CI sees the same ones every time.
"""

import json
import math
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmf_engine.config import ConfigError, ConfigIssue, check_config, field_index, known_unsupported, load_config

FIELDS = field_index()
NAMES = sorted(FIELDS)
UNSUPPORTED = sorted(known_unsupported())
MAX_LINE = 1000
"""The longest a problem line may be, besides the file's path."""

CASES = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SMALL_CASES = settings(CASES, max_examples=300)
"""For the cheaper variations of the two 1,000-case properties (files of YAML text, dumped mappings)."""


# ---------------------------------------------------------------- values


def _number_edges() -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [0, -1, 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40, -(10**40), 0.5, -0.5, 1e-300, 1e300]
    )


def _range_edges(name: str) -> list[Any]:
    meta = FIELDS[name].meta
    out: list[Any] = []
    for bound in (meta.ge, meta.gt, meta.le, meta.lt):
        if bound is not None:
            out += [bound, bound - 1, bound + 1, bound - 1e-9, bound + 1e-9]
    return out


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    _number_edges(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(["null", "~", "None", "yes", "no", "on", "off", "1e-4", "1e400", "-1e400", ".inf", "nan", ""]),
    st.sampled_from(["[b]x[/b]", "[/x]", "[x=1]", "[@click=app.quit]", "\x00", "\u202e", "a\nb", "é🙂"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def value_for(draw: st.DrawFn, name: str) -> Any:
    """A value for key ``name``: often one of its choices or near its range, else anything."""
    info = FIELDS.get(name)
    if info is not None:
        options: list[Any] = [info.default, *_range_edges(name)]
        if info.choices:
            options += list(info.choices)
        if draw(st.booleans()):
            return draw(st.sampled_from(options))
    return draw(values)


def _misspelt(name: str) -> st.SearchStrategy[str]:
    return st.integers(min_value=0, max_value=max(len(name) - 1, 0)).map(lambda i: name[:i] + name[i + 1 :])


keys = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(NAMES),
    st.sampled_from(NAMES),
    st.sampled_from(UNSUPPORTED),
    st.sampled_from(NAMES).flatmap(_misspelt),
    st.text(max_size=20),
    st.text(alphabet="ab\n\t:#[]{}&*!|>'\"%@`", max_size=10),
    st.just("k" * 400),
)


# ---------------------------------------------------------------- YAML texts

YAML_SNIPPETS = (
    "1e-4",
    "0x1F",
    "0o17",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "~",
    "'quoted: text'",
    '"escaped \\n \\x00 \\u263a"',
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!str 8",
    "!!int '8'",
    "!!float 1",
    "!!python/object:os.system ls",
    "!custom tag",
    "[1, [2, [3, [4]]]]",
    "{a: {b: {c: 1}}}",
    "[a, b",
    "{a: 1",
    "|\n  block\n  text",
    ">-\n  folded\n  text",
    "&v1 8",
    "&v2 [x, y]",
    "&v3 {seed: 1}",
    "*v1",
    "*v2",
    "*v3",
    "*missing",
    "? x",
    "- a\n- b",
    "@reserved",
    "`backtick",
    "a: b: c",
    "%TAG",
)


def _yaml_scalar(value: Any) -> str:
    """``value`` in YAML flow style on one line (a fallback for what safe_dump cannot write)."""
    try:
        return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()
    except yaml.YAMLError:
        return repr(value)


@st.composite
def yaml_line(draw: st.DrawFn) -> str:
    """One top-level entry: ``key: value`` with a key of any kind, a merge key, a complex key or garbage."""
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind <= 4:
        key = draw(keys)
        key_text = json.dumps(key) if draw(st.booleans()) else key
        value = draw(st.one_of(value_for(key).map(_yaml_scalar), st.sampled_from(YAML_SNIPPETS)))
        anchor = draw(st.sampled_from(["", "", "&a ", "&b "]))
        if "\n" in value:
            value = "\n" + "\n".join("  " + part for part in value.splitlines())
            anchor = anchor.strip()
        return f"{key_text}: {anchor}{value}"
    if kind == 5:
        return "<<: " + draw(
            st.sampled_from(["*a", "*b", "[*a, *b]", "{seed: 3, lora_rank: 4}", "[{seed: 1}, {seed: 2}]", "5", "*zz"])
        )
    if kind == 6:
        return "? " + draw(st.sampled_from(["[a, b]", "{a: 1}", "[[1]]", "1", "null", "true", "2001-01-01"])) + "\n: 1"
    if kind == 7:
        return f"{draw(st.sampled_from([1, 2.5, 'null', 'true', '[x]', '{y: 1}']))}: {draw(scalars.map(_yaml_scalar))}"
    if kind == 8:
        return "defaults: &a {learning_rate: 1.0e-4, seed: 7, lora_target: [q, v]}\n" + "other: &b {seed: 8}"
    return draw(st.text(max_size=40))


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(yaml_line(), max_size=10))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        lines.insert(0, draw(st.sampled_from(["---", "%YAML 1.1\n---", "- top\n- level", "plain", "[1, 2]", "''"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n...\n", "\n---\nsecond: doc\n"]))


# ---------------------------------------------------------------- checks


def assert_clean(issues: list[ConfigIssue], path: Path | None = None) -> None:
    """Every problem is one line of bounded length (besides the file's own path)."""
    for issue in issues:
        assert isinstance(issue, ConfigIssue)
        line = str(issue)
        if path is not None:
            line = line.replace(str(path), "<path>")
        assert "\n" not in line and "\r" not in line, line
        assert "Traceback" not in line, line
        assert len(line) <= MAX_LINE, f"{len(line)} characters: {line[:200]}…"
        assert issue.line is None or issue.line >= 1


def load_either_way(path: Path | None = None, overrides: tuple[str, ...] = (), values: Any = None) -> None:
    """``check_config`` and ``load_config`` agree: no issues means a config, issues mean a ConfigError with them."""
    config, issues = check_config(path, overrides, values)
    assert_clean(issues, path)
    if issues:
        with pytest.raises(ConfigError) as excinfo:
            load_config(path, overrides, values)
        assert [str(i) for i in excinfo.value.issues] == [str(i) for i in issues]
    else:
        assert load_config(path, overrides, values) == config
    for name, value in config.explicit.items():
        assert name in FIELDS, name
        if isinstance(value, float) and math.isnan(value):
            continue
        assert config.get(name) == value


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config-properties")


@CASES
@given(text=yaml_texts())
def test_any_yaml_text_loads_or_gives_one_line_problems(folder: Path, text: str) -> None:
    path = folder / "generated.yaml"
    path.write_text(text, encoding="utf-8")
    load_either_way(path)


@CASES
@given(mapping=st.dictionaries(keys, values, max_size=6), as_json=st.booleans())
def test_any_dumped_mapping_loads_or_gives_one_line_problems(folder: Path, mapping: dict, as_json: bool) -> None:
    if as_json:
        path = folder / "generated.json"
        try:
            path.write_text(json.dumps(mapping, indent=1, allow_nan=True), encoding="utf-8")
        except (TypeError, ValueError):
            return
    else:
        path = folder / "generated.yaml"
        path.write_text(yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_either_way(path)


@st.composite
def fitting_pairs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=8, unique=True))
    return {name: draw(value_for(name)) for name in names}


@SMALL_CASES
@given(mapping=fitting_pairs())
def test_known_keys_with_any_value_from_a_form(mapping: dict[str, Any]) -> None:
    load_either_way(values=mapping)


@SMALL_CASES
@given(
    overrides=st.lists(
        st.one_of(
            st.tuples(keys, st.one_of(scalars.map(_yaml_scalar), st.sampled_from(YAML_SNIPPETS))).map("=".join),
            st.text(max_size=30),
        ),
        max_size=6,
    )
)
def test_any_command_line_overrides(overrides: list[str]) -> None:
    load_either_way(overrides=tuple(overrides))


@SMALL_CASES
@given(values=st.dictionaries(keys, values, max_size=6))
def test_form_values_with_odd_keys(values: dict[str, Any]) -> None:
    load_either_way(values=values)


@pytest.mark.parametrize(
    "text",
    [
        "? [a, b]\n: 1\n",
        "? {a: 1}\n: 2\n",
        "<<: {seed: 1}\n? [x]\n: 1\n",
        '"lora\\nrank": 8\n',
        '"' + "k" * 5000 + '": 1\n',
    ],
    ids=["list-key", "mapping-key", "merge-and-list-key", "multi-line-key", "long-key"],
)
def test_odd_keys_found_by_the_properties(folder: Path, text: str) -> None:
    """Cases the properties found: a non-text key crashed the reader; a multi-line or huge key broke the line."""
    path = folder / "found.yaml"
    path.write_text(text, encoding="utf-8")
    _, issues = check_config(path)
    assert issues
    assert_clean(issues, path)

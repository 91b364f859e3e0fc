"""Reading raw key/value pairs from a YAML or JSON file and from ``key=value`` overrides, with positions."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigIssue


@dataclass
class RawValues:
    """Flat raw values, where each came from, and the problems found while reading them."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)
    arrivals: int = 0
    issues: list[ConfigIssue] = field(default_factory=list)

    def set(self, key: str, value: Any, source: str, line: int | None) -> None:
        """Record a value; a later source wins, and problems are reported in the order values arrived."""
        self.values[key] = value
        self.origins[key] = (source, line)
        self.order[key] = self.arrivals
        self.arrivals += 1


MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_VALUE_NODES = 10_000
"""A config value made of more YAML nodes than this, once its aliases are expanded, is refused (an alias bomb)."""


def expanded_size(node: Any, limit: int) -> int:
    """How many nodes ``node`` holds once aliases are expanded, counted without expanding them (each node's size is
    computed once); counting stops just past ``limit``."""
    sizes: dict[int, int] = {}

    def size(current: Any) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        total = 1
        children = current.value if isinstance(current.value, list) else []
        for child in children:
            for part in child if isinstance(child, tuple) else (child,):
                total += size(part)
                if total > limit:
                    break
            if total > limit:
                break
        sizes[id(current)] = total
        return total

    return size(node)


def read_file(path: Path, raw: RawValues) -> None:
    """Add the top-level mapping of a YAML or JSON file to ``raw``; positions are 1-based line numbers."""
    import yaml

    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raw.issues.append(ConfigIssue("", "file not found", source))
        return
    except (OSError, UnicodeDecodeError) as exc:
        raw.issues.append(ConfigIssue("", f"cannot read the file: {exc}", source))
        return
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return
        if not isinstance(node, yaml.MappingNode):
            line = node.start_mark.line + 1
            raw.issues.append(ConfigIssue("", "the file must be a mapping of keys to values", source, line))
            return
        seen: dict[str, int] = {}
        own = {id(key_node) for key_node, _ in node.value if key_node.tag != MERGE_TAG}
        loader.flatten_mapping(node)  # YAML merge keys (<<: *defaults), as PyYAML's safe loader reads them
        # only text keys can be config keys; a list or mapping key (`? [a, b]`) is refused below, and cannot be hashed
        own_values = [loader.construct_object(k, deep=True) for k, _ in node.value if id(k) in own]
        own_keys = {key for key in own_values if isinstance(key, str)}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raw.issues.append(ConfigIssue(str(key), "keys must be strings", source, line))
                continue
            merged = id(key_node) not in own
            if merged and key in own_keys:
                continue  # a key of the mapping itself wins over a merged one
            if key in seen and not merged:
                raw.issues.append(ConfigIssue(key, f"appears twice (lines {seen[key]} and {line})", source, line))
            seen[key] = line
            size = expanded_size(value_node, MAX_VALUE_NODES)
            if size > MAX_VALUE_NODES:
                message = (
                    f"the value expands to more than {MAX_VALUE_NODES:,} YAML nodes (aliases of aliases); refused"
                )
                raw.issues.append(ConfigIssue(key, message, source, line))
                continue
            raw.set(key, loader.construct_object(value_node, deep=True), source, line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # a reader error spans lines
        raw.issues.append(ConfigIssue("", f"not valid YAML: {problem}", source, line))
    finally:
        loader.dispose()


def read_overrides(overrides: list[str], raw: RawValues) -> None:
    """Add ``key=value`` arguments to ``raw``; values are parsed as YAML scalars (``null``, ``true``, ``1e-4``)."""
    import yaml

    for index, item in enumerate(overrides, start=1):
        key, sep, text = item.partition("=")
        key = key.strip().removeprefix("--")
        if not sep or not key:
            raw.issues.append(ConfigIssue(item, "expected key=value", _argument(index)))
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        raw.set(key, value, _argument(index), None)


def _argument(index: int) -> str:
    return f"<command line, argument {index}>"

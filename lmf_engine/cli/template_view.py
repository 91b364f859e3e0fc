"""Printing a rendered sample for ``lmf-engine template render``: coloured tokens, an id table, the trap report.

Colours follow the terminal: none when stdout is not a terminal or ``NO_COLOR`` is set (``FORCE_COLOR`` forces them).
"""

from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from lmf_engine.data.inspect import RenderedSample, SequenceView, TokenView
    from lmf_engine.data.traps import Trap

STYLES = {
    "trained": "green",
    "masked": "grey50",
    "special": "bold magenta",
    "trained+special": "bold green underline",
}
SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def token_kind(token: "TokenView") -> str:
    """``trained``, ``masked``, ``special`` (masked) or ``trained+special``."""
    if token.trained and token.special:
        return "trained+special"
    return token.role


def _legend() -> Text:
    legend = Text("legend: ")
    for kind, style in STYLES.items():
        legend.append(kind, style=style)
        legend.append("  ")
    return legend


def _summary(seq: "SequenceView") -> str:
    counts = seq.counts()
    cut = ", cut at cutoff_len" if seq.truncated else ""
    return (
        f"{counts['tokens']} tokens: {counts['trained']} trained, {counts['masked']} masked, "
        f"{counts['special']} special{cut}"
    )


def _print_sequence(console: Console, seq: "SequenceView", show_ids: bool) -> None:
    if show_ids:
        for token in seq.tokens:
            kind = token_kind(token)
            line = Text(f"{token.index:>5}  {token.id:>7}  {kind:<15}  ")
            line.append(
                repr(token.text) if token.text else f"({token.piece!r}, part of a character)", style=STYLES[kind]
            )
            console.print(line)
        return
    text = Text()
    for token in seq.tokens:
        text.append(token.text, style=STYLES[token_kind(token)])
    console.print(text, end="" if seq.text.endswith("\n") else "\n")


def print_trap_report(console: Console, traps: "list[Trap]") -> None:
    """Each trap as ``severity code: message``, or a line saying there are none."""
    problems = [t for t in traps if t.severity != "info"]
    console.print(Text(f"traps: {len(problems)}" if problems else "traps: none found", style="bold"))
    for trap in traps:
        line = Text()
        line.append(f"{trap.severity:<7} ", style=SEVERITY_STYLES[trap.severity])
        line.append(f"{trap.code}: ", style="bold")
        line.append(trap.message)
        console.print(line)


def print_rendered(rendered: "RenderedSample", traps: "list[Trap]", model: str, show_ids: bool = False) -> None:
    """The whole report of ``template render`` on stdout."""
    console = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)
    header = f"template {rendered.template.name} · stage {rendered.stage} · model {model}"
    console.print(Text(header, style="bold"))
    if console.color_system is not None:
        console.print(_legend())
    for seq in rendered.sequences:
        title = f"{seq.name}: " if len(rendered.sequences) > 1 else ""
        console.print(Text(f"── {title}{_summary(seq)}", style="bold"))
        _print_sequence(console, seq, show_ids)
    console.print()
    print_trap_report(console, traps)

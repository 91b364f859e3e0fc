"""Tokens as coloured text: every token styled as trained on, masked or special, with its id on demand, and the runs
of media tokens an image, video or audio became folded (``<|image_pad|> × 64``) until unfolded."""

from collections.abc import Collection, Iterable, Sequence

from textual.content import Content
from textual.style import Style

from lmf_engine.data.inspect import SequenceView, TokenRun, TokenView

ROLE_STYLES = {"trained": "$token-trained", "masked": "$token-masked", "special": "$token-special"}
LEGEND = Content.assemble(
    ("trained", "bold $token-trained"),
    "  ",
    ("masked", "bold $token-masked"),
    "  ",
    ("special", "bold $token-special"),
    ("  (special and trained: underlined; a trap's tokens: reversed)", "$text-muted"),
)


def token_style(token: TokenView, odd: bool, flagged: bool) -> str:
    """A token's style: its role colour, every other token on a panel background so boundaries show."""
    style = ROLE_STYLES["special"] if token.special else ROLE_STYLES[token.role]
    if token.special and token.trained:
        style += " underline"
    if odd:
        style += " on $panel"
    if flagged:
        style += " reverse"
    return style


def _clickable(content: Content, block: int, run: TokenRun) -> Content:
    """``content`` that folds or unfolds ``run`` of ``block`` when clicked (see TokenText)."""
    return content.stylize(Style.from_meta({"token_run": (block, run.start)}))


def sequence_content(
    seq: SequenceView,
    show_ids: bool,
    flagged: Iterable[int] = (),
    runs: Sequence[TokenRun] = (),
    unfolded: Collection[int] = (),
    block: int = 0,
) -> Content:
    """One sequence: newlines shown as ``↵`` (and kept), ids after each token when ``show_ids``. Each of ``runs``
    not in ``unfolded`` (their starts) is one ``<piece> × <length>`` mark; ``block`` tells clicks which sequence."""
    marks = set(flagged)
    starts = {run.start: run for run in runs}
    inside = {i: run for run in runs if run.start in unfolded for i in range(run.start, run.end)}
    parts: list[Content] = []
    index = 0
    while index < len(seq.tokens):
        token = seq.tokens[index]
        run = starts.get(index)
        if run is not None and run.start not in unfolded:
            flag = any(i in marks for i in range(run.start, run.end))
            mark = Content.styled(f"{run.piece} × {run.length}", token_style(token, False, flag) + " italic")
            parts.append(_clickable(mark, block, run))
            if show_ids:
                parts.append(Content.styled(f"⟨{token.id}⟩", "$text-muted"))
            index = run.end
            continue
        text = token.text.replace("\n", "↵\n") if token.text else ("" if not show_ids else "·")
        piece = Content.styled(text, token_style(token, token.index % 2 == 1, token.index in marks))
        parts.append(_clickable(piece, block, inside[index]) if index in inside else piece)
        if show_ids:
            parts.append(Content.styled(f"⟨{token.id}⟩", "$text-muted"))
        index += 1
    return Content("").join(parts)


def sequence_heading(seq: SequenceView, runs: Sequence[TokenRun], fold_hint: str) -> Content:
    """``sample: N tokens, … trained, … masked, … special``; with runs, how many of the tokens are media tokens."""
    counts = seq.counts()
    cut = ", truncated at cutoff_len" if seq.truncated else ""
    head = (
        f"{seq.name}: {counts['tokens']} tokens, {counts['trained']} trained, "
        f"{counts['masked']} masked, {counts['special']} special{cut}"
    )
    if not runs:
        return Content.styled(head, "bold $secondary")
    per_piece: dict[str, int] = {}
    for run in runs:
        per_piece[run.piece] = per_piece.get(run.piece, 0) + run.length
    media = ", ".join(f"{count} {piece}" for piece, count in per_piece.items())
    return Content.assemble(
        (head, "bold $secondary"),
        (f" · of them {media} in {len(runs)} run(s)", "$secondary"),
        (fold_hint, "$text-muted"),
    )

"""Stop strings and reasoning kept apart from the answer, on whole texts and on streamed chunks."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from lmf_engine.chat.text import StopTrimmer, ThoughtSplitter, cut_at_stop, split_reasoning


def test_split_reasoning_of_a_thinking_answer() -> None:
    assert split_reasoning("<think>\nweigh it\n</think>\n\nYes.") == ("weigh it", "Yes.")
    assert split_reasoning("  <think>\nstill thinking") == ("still thinking", "")
    assert split_reasoning("No thought <think>x</think> here") == ("", "No thought <think>x</think> here")


def test_split_reasoning_close_only_templates() -> None:
    assert split_reasoning("plan</think>answer", ("<think>", "</think>"), close_only=True) == ("plan", "answer")
    assert split_reasoning("plan</think>answer", ("<think>", "</think>")) == ("", "plan</think>answer")


def _stream_split(chunks: list[str]) -> tuple[str, str]:
    splitter = ThoughtSplitter()
    pieces = [p for chunk in chunks for p in splitter.feed(chunk)] + splitter.finish()
    return (
        "".join(text for kind, text in pieces if kind == "reasoning"),
        "".join(text for kind, text in pieces if kind == "content"),
    )


def _chunked(text: str, cuts: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


TEXTS = [
    "<think>\nLet me see.\nTwo steps.\n</think>\n\nThe answer is 4.",
    "<think>\nnever closed",
    "Plain answer with </think> inside",
    "\n<think>\n\n</think>\n\nEmpty thought.",
    "<thi",
]


@given(st.sampled_from(TEXTS), st.lists(st.integers(min_value=0, max_value=80), max_size=12))
def test_streamed_split_matches_the_whole_text(text: str, cuts: list[int]) -> None:
    reasoning, answer = _stream_split(_chunked(text, cuts))
    whole_reasoning, whole_answer = split_reasoning(text)
    assert reasoning.strip("\n") == whole_reasoning
    assert answer == whole_answer


def test_cut_at_stop_takes_the_earliest_stop_string() -> None:
    assert cut_at_stop("abc STOP def END", ["END", "STOP"]) == ("abc ", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)
    assert cut_at_stop("abc", None) == ("abc", False)


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=10))
def test_stop_trimmer_holds_back_partial_stop_strings(cuts: list[int]) -> None:
    text = "one two ##END## three"
    trimmer = StopTrimmer(["##END##"])
    shown = "".join(trimmer.feed(chunk) for chunk in _chunked(text, cuts)) + trimmer.finish()
    assert shown == "one two "
    assert trimmer.stopped


def test_stop_trimmer_releases_a_partial_match_at_the_end() -> None:
    trimmer = StopTrimmer(["##END##"])
    assert trimmer.feed("tail ##EN") == "tail "
    assert trimmer.finish() == "##EN"
    assert not trimmer.stopped

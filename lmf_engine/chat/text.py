"""Post-processing of generated text: stop strings, and reasoning kept apart from the answer.

Both work on whole texts and incrementally on streamed chunks, holding back only the few characters that could be the
start of a stop string or of a thought's closing word.
"""

from collections.abc import Sequence
from typing import Literal

DEFAULT_THOUGHT_WORDS = ("<think>\n", "\n</think>\n\n")
Kind = Literal["reasoning", "content"]


def _held_suffix(text: str, words: Sequence[str]) -> int:
    """Length of the longest end of ``text`` that is a proper start of one of ``words``."""
    best = 0
    for word in words:
        for size in range(min(len(word) - 1, len(text)), best, -1):
            if text.endswith(word[:size]):
                best = size
                break
    return best


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    if not stop:
        return text, False
    found = [i for i in (text.find(word) for word in stop) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


class StopTrimmer:
    """Streams text up to (not including) the first stop string; text after it is dropped."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = list(stop or [])
        self.stopped = False
        self._held = ""

    def feed(self, chunk: str) -> str:
        """The part of ``chunk`` that can be shown now."""
        if self.stopped:
            return ""
        if not self.stop:
            return chunk
        text, found = cut_at_stop(self._held + chunk, self.stop)
        if found:
            self.stopped, self._held = True, ""
            return text
        keep = _held_suffix(text, self.stop)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def finish(self) -> str:
        """Whatever was held back (the stream ended without a stop string)."""
        held, self._held = self._held, ""
        return held


def split_reasoning(
    text: str, thought_words: tuple[str, str] = DEFAULT_THOUGHT_WORDS, close_only: bool = False
) -> tuple[str, str]:
    """``(reasoning, answer)`` of a generated text, as LLaMA-Factory's web chat splits it.

    A text that opens with the thought's start word holds reasoning up to the end word (all of it when the end word
    never came). With ``close_only`` (GLM-4.7 style templates) a text with only the end word is reasoning up to it.
    """
    start, end = (word.strip() for word in thought_words)
    body = text.lstrip()
    if start and body.startswith(start):
        body = body[len(start) :]
    elif not (close_only and end in text):
        return "", text
    reasoning, sep, answer = body.partition(end)
    if not sep:
        return reasoning.strip("\n"), ""
    return reasoning.strip("\n"), answer.lstrip("\n")


class ThoughtSplitter:
    """Sorts streamed chunks into reasoning and answer text, as :func:`split_reasoning` sorts a whole text."""

    def __init__(self, thought_words: tuple[str, str] = DEFAULT_THOUGHT_WORDS) -> None:
        self.start, self.end = (word.strip() for word in thought_words)
        self.state: Literal["undecided", "reasoning", "content"] = "undecided"
        self._buf = ""
        self._skip_newlines = False

    def _emit(self, kind: Kind, text: str, out: list[tuple[Kind, str]]) -> None:
        if self._skip_newlines:
            text = text.lstrip("\n")
            self._skip_newlines = not text
        if text:
            out.append((kind, text))

    def feed(self, chunk: str) -> list[tuple[Kind, str]]:
        """``(kind, text)`` pieces of ``chunk`` that can be shown now."""
        out: list[tuple[Kind, str]] = []
        self._buf += chunk
        if self.state == "undecided":
            body = self._buf.lstrip()
            if not body or (self.start.startswith(body) and body != self.start):
                return out
            if self.start and body.startswith(self.start):
                self.state, self._buf, self._skip_newlines = "reasoning", body[len(self.start) :], True
            else:
                self.state = "content"
        if self.state == "reasoning":
            before, sep, after = self._buf.partition(self.end)
            if not sep:
                keep = _held_suffix(self._buf, [self.end])
                self._emit("reasoning", self._buf[: len(self._buf) - keep], out)
                self._buf = self._buf[len(self._buf) - keep :] if keep else ""
                return out
            self._emit("reasoning", before.rstrip("\n"), out)
            self.state, self._buf, self._skip_newlines = "content", after, True
        self._emit("content", self._buf, out)
        self._buf = ""
        return out

    def finish(self) -> list[tuple[Kind, str]]:
        """What is still held when the stream ends."""
        out: list[tuple[Kind, str]] = []
        kind: Kind = "reasoning" if self.state == "reasoning" else "content"
        self._emit(kind, self._buf, out)
        self._buf = ""
        return out

"""The terminal chat: streamed answers, multi-line input, commands, Ctrl-C, saving and loading conversations."""

import _thread
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.scripted_engine import ScriptedEngine
from rich.console import Console

from lmf_engine.chat.conversation import load_conversation
from lmf_engine.chat.repl import ChatRepl
from lmf_engine.chat.sync import SyncEngine


class Script:
    """Input lines for the REPL; an exception instance in the list is raised instead (Ctrl-C, Ctrl-D)."""

    def __init__(self, *lines: str | BaseException) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        item = self.lines.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


@pytest.fixture
def sync_engine() -> Iterator[SyncEngine]:
    engine = SyncEngine(ScriptedEngine(["Hello", ",", " world"]))
    yield engine
    engine.close()


def _repl(engine: SyncEngine, script: Script) -> tuple[ChatRepl, io.StringIO]:
    out = io.StringIO()
    return ChatRepl(engine, Console(file=out, width=200, color_system=None), read_line=script), out


def test_answers_stream_and_the_history_grows(sync_engine: SyncEngine) -> None:
    repl, out = _repl(sync_engine, Script("Hi", "Again", "/exit"))
    repl.run()
    assert out.getvalue().count("Hello, world") == 2
    assert [m["role"] for m in repl.messages] == ["user", "assistant", "user", "assistant"]
    assert "3 tokens" in out.getvalue() and "stop" in out.getvalue()


def test_multi_line_input_with_a_backslash_or_a_fence(sync_engine: SyncEngine) -> None:
    script = Script("first \\", "second", '"""', "a", "", "b", '"""')
    repl, _ = _repl(sync_engine, script)
    repl.run()
    users = [m["content"] for m in repl.messages if m["role"] == "user"]
    assert users == ["first \nsecond", "a\n\nb"]
    assert script.prompts.count("... ") == 5


def test_commands_system_set_clear(sync_engine: SyncEngine) -> None:
    repl, out = _repl(
        sync_engine, Script("/system Be brief.", "/set temperature=0.2 max_new_tokens=2", "Hi", "/set", "/clear")
    )
    repl.run()
    request = sync_engine.engine.requests[-1]
    assert request.system == "Be brief."
    assert request.settings["temperature"] == 0.2
    assert request.settings["max_new_tokens"] == 2
    assert "temperature = 0.2 (set)" in out.getvalue()
    assert repl.messages == []


def test_bad_commands_and_settings_are_reported_not_raised(sync_engine: SyncEngine) -> None:
    repl, out = _repl(sync_engine, Script("/nope", "/set top_p=7", "/set temprature=1", "/load /no/such/file.json"))
    repl.run()
    text = out.getvalue()
    assert "unknown command /nope" in text
    assert "top_p" in text and "did you mean temperature" in text
    assert "cannot load /no/such/file.json" in text
    assert repl.overrides == {}


def test_save_and_load_round_trip(sync_engine: SyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "conversation.json"
    repl, _ = _repl(sync_engine, Script("/system S", "/set seed=4", "Hi", f"/save {path}"))
    repl.run()
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["system"] == "S" and saved["settings"] == {"seed": 4}
    loaded, _ = _repl(sync_engine, Script(f"/load {path}"))
    loaded.run()
    assert (loaded.system, loaded.messages, loaded.overrides) == ("S", repl.messages, {"seed": 4})


def test_load_accepts_a_plain_list_of_openai_messages(tmp_path: Path) -> None:
    path = tmp_path / "messages.json"
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "u"}, {"role": "tool", "content": "t"}]
    path.write_text(json.dumps(messages), encoding="utf-8")
    loaded = load_conversation(path)
    assert loaded.system == "S"
    assert loaded.messages == [{"role": "user", "content": "u"}, {"role": "observation", "content": "t"}]
    assert loaded.settings == {}


def test_ctrl_c_at_the_prompt_does_not_leave(sync_engine: SyncEngine) -> None:
    repl, out = _repl(sync_engine, Script(KeyboardInterrupt(), "Hi"))
    repl.run()
    assert "/exit or Ctrl-D" in out.getvalue()
    assert len(repl.messages) == 2


def test_ctrl_c_stops_the_answer_and_keeps_the_conversation() -> None:
    class InterruptingEngine(ScriptedEngine):
        """Sends the main thread a Ctrl-C once the answer has started."""

        async def _generate(self, request, generation, stream):  # type: ignore[no-untyped-def]
            count = 0
            async for chunk in super()._generate(request, generation, stream):
                count += 1
                if count == 2:
                    _thread.interrupt_main()
                yield chunk

    engine = SyncEngine(InterruptingEngine(["word "] * 2000, delay=0.002))
    try:
        repl, out = _repl(engine, Script("Tell me everything", "/set"))
        repl.run()
    finally:
        engine.close()
    assert "cancelled" in out.getvalue()
    assert repl.messages[-1]["role"] == "assistant"
    assert 0 < repl.messages[-1]["content"].count("word") < 2000
    assert "max_new_tokens" in out.getvalue()


def test_the_blocking_face_answers_whole(sync_engine: SyncEngine) -> None:
    response = sync_engine.chat([{"role": "user", "content": "Hi"}], max_new_tokens=2)
    assert (response.text, response.finish_reason) == ("Hello,", "length")


def test_image_goes_with_the_next_message_and_stays_in_the_conversation(
    sync_engine: SyncEngine, tmp_path: Path
) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(b"png")
    sync_engine.engine.takes_images = True
    repl, out = _repl(sync_engine, Script(f"/image {picture}", "What is it?", "/image nowhere.png", "And now?"))
    repl.run()
    first, second = sync_engine.engine.requests[-2:]
    assert first.images == second.images == [str(picture)]
    assert first.messages[0].content == "<image>What is it?" and second.messages[2].content == "And now?"
    assert "no file nowhere.png" in out.getvalue() and "goes with your next message" in out.getvalue()
    repl.command("/clear")
    assert repl.images == repl.pending == []


def test_an_image_for_a_text_model_is_refused_and_forgotten(sync_engine: SyncEngine, tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(b"png")
    repl, out = _repl(sync_engine, Script(f"/image {picture}", "What is it?", "Hi"))
    repl.run()
    assert "takes text only" in out.getvalue()
    assert repl.images == [] and [m["content"] for m in repl.messages if m["role"] == "user"] == ["Hi"]

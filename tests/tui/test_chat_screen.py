"""Chat screen with a scripted engine: streaming, escape, settings checks, tool calls, thinking, edit/regenerate,
save/load with the REPL's files, and what the screen opens on. The real model runs in test_chat_model.py."""

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from fixtures.fake_chat import FakeChatEngine
from textual.widgets import Collapsible, Input, TextArea
from tui_support import SIZE, settle, wait_until

from lmf_engine.chat.conversation import Conversation, load_conversation, save_conversation
from lmf_engine.chat.target import ChatTarget
from lmf_tui import chat_open
from lmf_tui.app import WorkbenchApp
from lmf_tui.chat_targets import opening_target, remember_target, remembered_target
from lmf_tui.screens.ask import AskScreen
from lmf_tui.screens.chat import ChatScreen
from lmf_tui.screens.choose import ChooseScreen
from lmf_tui.widgets.chat_column import ChatColumn
from lmf_tui.widgets.chat_turn import AnswerTurn, UserTurn
from lmf_tui.widgets.message_input import MessageInput
from lmf_tui.workspace import Workspace


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[FakeChatEngine]]:
    """``engines(*fakes)``: the chat screen gets these engines instead of loading models (in order, per load)."""

    def install(*fakes: FakeChatEngine) -> list[FakeChatEngine]:
        queue = list(fakes)

        def open_engines(targets: Sequence[ChatTarget], root: Path, current: dict, release: Callable) -> list:
            for engine in current.values():
                release(engine)
            return [queue.pop(0) for _ in targets]

        monkeypatch.setattr(chat_open, "open_engines", open_engines)
        return list(fakes)

    return install


async def open_chat(pilot: object) -> ChatScreen:
    await pilot.press("6")  # type: ignore[attr-defined]
    screen = await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)  # type: ignore[arg-type,attr-defined]
    await wait_until(pilot, lambda: screen.sides[0].engine is not None)  # type: ignore[arg-type]
    return screen


async def send(pilot: object, text: str) -> None:
    box = pilot.app.screen.query_one(MessageInput)  # type: ignore[attr-defined]
    box.text = text
    box.focus()
    await pilot.press("enter")  # type: ignore[attr-defined]


def answers(screen: ChatScreen, side: str = "a") -> list[AnswerTurn]:
    return list(screen.query_one(f"#side-{side}", ChatColumn).query(AnswerTurn))


async def test_streams_text_before_the_answer_ends_and_shows_figures(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]]
) -> None:
    engines(FakeChatEngine(("Hello", " there", ", friend") * 10, delay=0.05))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        assert isinstance(app.focused, MessageInput)
        await send(pilot, "Hi")
        stream = await wait_until(pilot, lambda: answers(screen) and answers(screen)[0].query_one("#answer-stream"))
        shown = await wait_until(pilot, lambda: stream.text)
        assert shown.startswith("Hello") and not answers(screen)[0].finished
        await wait_until(pilot, lambda: answers(screen)[0].finished, timeout=10)
        figures = str(answers(screen)[0].query_one("#figures").render())
        assert "30 tokens" in figures and "tokens/s" in figures and "first token" in figures and "stop" in figures
        assert screen.sides[0].messages == [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello there, friend" * 10},
        ]


async def test_escape_stops_the_answer_keeps_its_text_and_the_next_message_answers(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]]
) -> None:
    (engine,) = engines(FakeChatEngine(("word ",) * 200, delay=0.02))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        await send(pilot, "Go on")
        await wait_until(pilot, lambda: answers(screen) and answers(screen)[0].answer.count("word") >= 3)
        await pilot.press("escape")
        await wait_until(pilot, lambda: answers(screen)[0].finished)
        first = answers(screen)[0]
        assert "cancelled" in str(first.query_one("#figures").render()) and first.has_class("-cancelled")
        kept = screen.sides[0].messages[-1]["content"]
        assert kept.startswith("word word word") and kept.count("word") < 200
        engine.chunks, engine.delay = ["Fine."], 0.0
        await send(pilot, "Again")
        await wait_until(pilot, lambda: len(answers(screen)) == 2 and answers(screen)[1].finished)
        assert answers(screen)[1].answer == "Fine."
        assert [m["role"] for m in screen.sides[0].messages] == ["user", "assistant", "user", "assistant"]


async def test_a_wrong_setting_is_shown_and_keeps_the_message_unsent(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]]
) -> None:
    (engine,) = engines(FakeChatEngine(("ok",)))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        top_p = screen.query_one("#set-top_p", Input)
        top_p.value = "7"
        await pilot.pause()
        assert top_p.has_class("-invalid")
        assert "top_p" in str(screen.query_one("#setting-help").render())
        await send(pilot, "Hi")
        await settle(pilot)
        assert engine.requests == [] and screen.query_one(MessageInput).text == "Hi"
        top_p.value = "0.5"
        screen.query_one("#set-max_new_tokens", Input).value = "12"
        screen.query_one("#set-stop", Input).value = "END,###"
        await send(pilot, "Hi")
        await wait_until(pilot, lambda: engine.requests)
        settings = engine.requests[0].settings
        assert (settings["top_p"], settings["max_new_tokens"], settings["stop"]) == (0.5, 12, ["END", "###"])
        assert engine.requests[0].overrides == {"top_p", "max_new_tokens", "stop"}
        screen.query_one("#reset").press()
        await pilot.pause()
        assert top_p.value == "0.7" and screen.query_one("#set-stop", Input).value == ""


async def test_system_prompt_and_tool_calls_with_a_tool_result_typed_back(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]]
) -> None:
    tool = [{"name": "weather", "description": "Weather of a city", "parameters": {"type": "object"}}]
    (engine,) = engines(FakeChatEngine((), calls=[("weather", '{"city": "Oslo"}')]))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        screen.query_one("#system", TextArea).text = "Be brief."
        screen.query_one("#tools", TextArea).text = "[not json"
        await send(pilot, "Weather in Oslo?")
        await settle(pilot)
        assert engine.requests == []
        screen.query_one("#tools", TextArea).text = json.dumps(tool)
        await send(pilot, "Weather in Oslo?")
        await wait_until(pilot, lambda: answers(screen) and answers(screen)[0].finished)
        request = engine.requests[0]
        assert request.system == "Be brief." and json.loads(request.tools or "") == tool
        assert "⚙ weather" in str(answers(screen)[0].query_one("#calls").render())
        assert screen.sides[0].messages[-1] == {
            "role": "function",
            "content": json.dumps([{"name": "weather", "arguments": {"city": "Oslo"}}]),
        }
        box = screen.query_one(MessageInput)
        assert box.mode == "observation"
        engine.calls, engine.chunks = [], ["It is 4 C in Oslo."]
        await send(pilot, "4 C")
        await wait_until(pilot, lambda: len(answers(screen)) == 2 and answers(screen)[1].finished)
        assert engine.requests[1].messages[2].role == "observation"
        assert [t.role for t in screen.query(UserTurn)] == ["user", "observation"]
        assert box.mode == "user"


async def test_thinking_is_folded_apart_from_the_answer(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]]
) -> None:
    engines(FakeChatEngine())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        await send(pilot, "Hi")
        await wait_until(pilot, lambda: answers(screen) and answers(screen)[0].finished)
        answer = answers(screen)[0]
        assert answer.reasoning == "The user greets me."
        assert answer.answer.startswith("Hello! Here is some code") and "<think>" not in answer.answer
        assert (
            answer.query_one(Collapsible).collapsed
            and "Thinking (19 characters)" in answer.query_one(Collapsible).title
        )
        await pilot.press("ctrl+k")
        assert not answer.query_one(Collapsible).collapsed
        assert screen.sides[0].messages[-1]["content"].startswith("<think>\nThe user greets me.")


async def test_regenerate_and_edit_fork_the_conversation(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]]
) -> None:
    (engine,) = engines(FakeChatEngine(("one",)))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        await send(pilot, "first")
        await wait_until(pilot, lambda: len(screen.sides[0].messages) == 2)
        await send(pilot, "second")
        await wait_until(pilot, lambda: len(screen.sides[0].messages) == 4)
        engine.chunks = ["two"]
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(engine.requests) == 3 and len(screen.sides[0].messages) == 4)
        await settle(pilot)
        assert screen.sides[0].messages[-1]["content"] == "two" and len(answers(screen)) == 2
        await pilot.press("ctrl+e")
        chooser = await wait_until(pilot, lambda: isinstance(app.screen, ChooseScreen) and app.screen)
        assert [label for _, label in chooser.choices] == ["2. 'second'", "1. 'first'"]
        chooser.dismiss("0")
        await wait_until(pilot, lambda: screen.query_one(MessageInput).mode == "edit")
        box = screen.query_one(MessageInput)
        assert box.text == "first"
        box.text = "first, edited"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(engine.requests) == 4)
        await wait_until(pilot, lambda: len(screen.sides[0].messages) == 2)
        assert screen.sides[0].messages == [
            {"role": "user", "content": "first, edited"},
            {"role": "assistant", "content": "two"},
        ]
        assert len(screen.query(UserTurn)) == 1 and len(answers(screen)) == 1


async def test_save_and_load_round_trip_with_the_repl_files(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]], workspace: Path
) -> None:
    engines(FakeChatEngine(("Sure.",)))
    repl_file = workspace / "chats" / "from-repl.json"
    repl_file.parent.mkdir()
    messages = [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}]
    save_conversation(repl_file, Conversation("S", messages, {"temperature": 0.2}))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        await send(pilot, "Hello")
        await wait_until(pilot, lambda: len(screen.sides[0].messages) == 2)
        await pilot.press("ctrl+s")
        ask = await wait_until(pilot, lambda: isinstance(app.screen, AskScreen) and app.screen)
        ask.dismiss("chats/mine.json")
        await settle(pilot)
        saved = load_conversation(workspace / "chats" / "mine.json")
        assert saved.messages == screen.sides[0].messages
        raw = json.loads((workspace / "chats" / "mine.json").read_text(encoding="utf-8"))
        assert raw["messages"][1] == {"role": "assistant", "content": "Sure."}
        await pilot.press("ctrl+l")
        ask = await wait_until(pilot, lambda: isinstance(app.screen, AskScreen) and app.screen)
        assert any("from-repl.json" in label for label, _ in ask.choices)
        ask.dismiss(str(repl_file))
        await settle(pilot)
        assert screen.sides[0].messages == messages
        turns = screen.query_one("#side-a", ChatColumn).turns()
        assert [type(t).__name__ for t in turns] == ["UserTurn", "AnswerTurn"]
        assert screen.query_one("#system", TextArea).text == "S"
        assert screen.query_one("#set-temperature", Input).value == "0.2"


def test_the_screen_opens_on_the_last_target_else_the_newest_finished_run_else_chat_yaml(
    workspace: Path, tmp_path: Path
) -> None:
    from fixtures.fake_runs import write_fake_run

    space = Workspace(workspace)
    state = tmp_path / "state.json"
    assert opening_target(space, remembered_target(space, state)) == ChatTarget("config", "configs/chat.yaml")
    write_fake_run(workspace / "runs" / "old", 5)
    write_fake_run(workspace / "runs" / "failed", 5, state="failed")
    assert opening_target(space, None) == ChatTarget("run", "runs/old")
    server = ChatTarget("url", "http://box:8000/v1", key_env="BOX_KEY", model="m")
    remember_target(space, server, state)
    assert "BOX_KEY" in state.read_text(encoding="utf-8")
    assert opening_target(space, remembered_target(space, state)) == server
    remember_target(space, ChatTarget("run", "runs/gone"), state)
    assert opening_target(space, remembered_target(space, state)) == ChatTarget("run", "runs/old")


async def test_a_model_that_cannot_load_is_explained_in_its_column(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen)
        column = screen.query_one("#side-a", ChatColumn)
        note = await wait_until(pilot, lambda: column.query("#load-error") and column.query_one("#load-error"))
        assert "adapter_name_or_path: runs/sft_lora does not exist" in str(note.render())
        assert column.has_class("-error") and isinstance(app.screen, ChatScreen) and screen.loading is None
        await send(pilot, "Hi")
        await settle(pilot)
        assert screen.sides[0].messages == [] and screen.query_one(MessageInput).text == "Hi"


async def test_a_server_target_reads_its_key_from_the_named_variable_and_never_stores_it(
    make_app: Callable[..., WorkbenchApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmf_engine.api.app import create_app
    from lmf_engine.api.server import ServerThread
    from lmf_tui.chat_targets import state_path
    from lmf_tui.screens.chat_target import TargetScreen

    monkeypatch.setenv("LMF_TEST_KEY", "sk-secret-123")
    engine = FakeChatEngine(("Served", " answer."))
    with ServerThread(create_app(engine, api_key="sk-secret-123", model_name="served")) as server:
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            screen = await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen)
            await settle(pilot)
            await pilot.press("ctrl+o")
            picker = await wait_until(pilot, lambda: isinstance(app.screen, TargetScreen) and app.screen)
            picker.query_one("#url", Input).value = server.url + "/v1"
            picker.query_one("#key-env", Input).value = "LMF_TEST_KEY"
            picker.query_one("#connect").press()
            side = screen.sides[0]
            await wait_until(pilot, lambda: side.engine is not None and side.target.kind == "url")
            await send(pilot, "Hi")
            await wait_until(pilot, lambda: answers(screen) and answers(screen)[-1].finished)
            assert answers(screen)[-1].answer == "Served answer."
            await pilot.press("ctrl+w")
            await settle(pilot)
            assert isinstance(app.screen, ChatScreen)
        stored = state_path().read_text(encoding="utf-8")
        assert "LMF_TEST_KEY" in stored and "sk-secret" not in stored


async def test_a_picture_goes_with_the_next_message_and_stays_in_the_conversation(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]], workspace: Path
) -> None:
    (engine,) = engines(FakeChatEngine(("A red circle.",)))
    engine.takes_images = True
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)

        async def attach(path: str) -> None:
            await pilot.press("ctrl+u")
            ask = await wait_until(pilot, lambda: isinstance(app.screen, AskScreen) and app.screen)
            ask.query_one(Input).value = path
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is screen)

        await attach("data/nowhere.png")
        assert screen.pending_images == []
        await attach("data/demo_images/red_circle.png")
        picture = str(workspace / "data" / "demo_images" / "red_circle.png")
        assert screen.pending_images == [picture]
        assert "red_circle.png" in str(screen.query_one(MessageInput).border_subtitle)
        await send(pilot, "What is this?")
        await wait_until(pilot, lambda: screen.sides[0].last_is_answer(), timeout=10)
        assert engine.requests[-1].images == [picture] and screen.pending_images == []
        assert screen.sides[0].messages[0] == {"role": "user", "content": "<image>What is this?"}
        (turn,) = screen.query_one("#side-a", ChatColumn).query(UserTurn)
        assert "[picture red_circle.png] What is this?" in turn.text
        await send(pilot, "And its colour?")
        await wait_until(pilot, lambda: len(screen.sides[0].messages) == 4, timeout=10)
        assert engine.requests[-1].images == [picture]  # the conversation's pictures go with every request
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert screen.sides[0].images == [] and screen.sides[0].messages == []


async def test_a_text_model_refuses_the_picture_and_gives_it_back(
    make_app: Callable[..., WorkbenchApp], engines: Callable[..., list[FakeChatEngine]], workspace: Path
) -> None:
    engines(FakeChatEngine(("fine",)))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot)
        screen.pending_images = [str(workspace / "data" / "demo_images" / "red_circle.png")]
        await send(pilot, "What is this?")
        box = screen.query_one(MessageInput)
        await wait_until(pilot, lambda: box.text == "What is this?", timeout=10)
        assert screen.sides[0].messages == [] and screen.sides[0].images == []
        assert len(screen.pending_images) == 1  # back, to send to a model that takes pictures

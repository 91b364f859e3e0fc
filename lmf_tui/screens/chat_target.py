"""The dialog that chooses what a chat side talks to: a finished run (or its base model), a config, or a server.

A server is an OpenAI-compatible URL; its API key is read from the environment variable named in the form when the
chat connects (the key is never typed here, shown or written anywhere).
"""

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from lmf_engine.chat.target import ChatTarget

from ..chat_targets import TargetChoice

BACKEND_DEFAULT = "config"


class TargetScreen(ModalScreen[ChatTarget | None]):
    """Answers the chosen target, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="chat_target.cancel")]
    DEFAULT_CSS = """
    TargetScreen { align: center middle; }
    TargetScreen > Vertical {
        width: 90; max-width: 98%; height: auto; max-height: 95%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    TargetScreen .title { text-style: bold; color: $primary; }
    TargetScreen .hint { color: $text-muted; }
    TargetScreen OptionList { height: auto; max-height: 12; }
    TargetScreen Horizontal { height: auto; }
    TargetScreen Horizontal Input { width: 1fr; }
    TargetScreen #problem { color: $error; }
    """

    def __init__(self, title: str, choices: list[TargetChoice], vllm: bool, current: ChatTarget | None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.vllm = vllm
        self.current = current

    def compose(self) -> ComposeResult:
        backends = [("as the config says", BACKEND_DEFAULT), ("transformers (in this process)", "huggingface")]
        if self.vllm:
            backends.append(("vLLM", "vllm"))
        server = self.current if self.current is not None and self.current.kind == "url" else None
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            if self.choices:
                options = [Option(Content(choice.label), id=str(i)) for i, choice in enumerate(self.choices)]
                yield OptionList(*options, id="targets")
            else:
                yield Static("No finished run and no config in this workspace.", classes="hint")
            yield Label("back end for a run or config" + ("" if self.vllm else " (vLLM is not installed here)"))
            yield Select(backends, value=BACKEND_DEFAULT, allow_blank=False, id="backend", compact=True)
            yield Label("or an OpenAI-compatible server (Enter in a field connects)")
            with Horizontal():
                yield Input(server.where if server else "", placeholder="http://host:8000/v1", id="url")
                model = server.model or "" if server else ""
                yield Input(model, placeholder="model (default: first listed)", id="model")
            yield Input(
                server.key_env or "" if server else "",
                placeholder="name of the environment variable holding the API key (e.g. OPENAI_API_KEY)",
                id="key-env",
            )
            yield Static("", id="problem")
            yield Button("Connect to the server", id="connect", compact=True)

    def on_mount(self) -> None:
        if self.choices:
            self.query_one(OptionList).focus()
        else:
            self.query_one("#url", Input).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        target = self.choices[int(event.option.id or 0)].target
        backend = self.query_one("#backend", Select).value
        if backend != BACKEND_DEFAULT:
            target = ChatTarget(target.kind, target.where, backend=str(backend), base_only=target.base_only)
        self.dismiss(target)

    @on(Input.Submitted)
    @on(Button.Pressed, "#connect")
    def _connect(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        url = self.query_one("#url", Input).value.strip()
        problem = self.query_one("#problem", Static)
        if not url.startswith(("http://", "https://")):
            problem.update(Content("the server URL must start with http:// or https://"))
            self.query_one("#url", Input).focus()
            return
        key_env = self.query_one("#key-env", Input).value.strip() or None
        model = self.query_one("#model", Input).value.strip() or None
        try:
            self.dismiss(ChatTarget("url", url, key_env=key_env, model=model))
        except ValueError as exc:
            problem.update(Content(str(exc)))

    def action_cancel(self) -> None:
        self.dismiss(None)

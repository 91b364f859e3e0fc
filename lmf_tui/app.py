"""The workbench app: numbered screens (modes), themes from files, user key bindings, palette, error panel."""

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from lmf_engine.chat.target import ChatTarget
from lmf_engine.monitor.sampler import Sampler, open_sampler

from .bindings import bindings_for
from .palette import PaletteCommand, WorkbenchCommands
from .screens.datasets import DatasetsScreen
from .screens.error import ErrorPanel
from .screens.keys import KeysScreen
from .settings import DEFAULT_THEME, Settings, remember_theme
from .theme_files import REQUIRED_VARIABLES, ThemeFileError, builtin_themes_dir, load_theme
from .workspace import Workspace

THEMES_DIR = builtin_themes_dir()
SCREENS: tuple[tuple[str, str], ...] = (
    ("datasets", "Datasets"),
    ("template", "Template"),
    ("config", "Config"),
    ("train", "Train"),
    ("runs", "Runs"),
    ("chat", "Chat"),
)
"""Mode name and title of each screen, in number-key order."""


def template_screen() -> Screen[None]:
    """Screen 2, imported when first shown (it brings in the template machinery)."""
    from .screens.template import TemplateScreen

    return TemplateScreen()


def config_screen() -> Screen[None]:
    """Screen 3, imported when first shown."""
    from .screens.config import ConfigScreen

    return ConfigScreen()


def train_screen() -> Screen[None]:
    """Screen 4, imported when first shown."""
    from .screens.train import TrainScreen

    return TrainScreen()


def runs_screen() -> Screen[None]:
    """Screen 5, imported when first shown."""
    from .screens.runs import RunsScreen

    return RunsScreen()


def chat_screen() -> Screen[None]:
    """Screen 6, imported when first shown."""
    from .screens.chat import ChatScreen

    return ChatScreen()


def read_themes(folders: list[Path]) -> tuple[list[Theme], list[str]]:
    """Themes of every ``*.toml`` in ``folders`` (later folders win on a name), and one problem line per bad file."""
    themes: dict[str, Theme] = {}
    problems = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme(path)
            except ThemeFileError as exc:
                problems.append(str(exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), problems


class WorkbenchApp(App[None]):
    """``lmf-tui``. ``workspace`` is the open folder; ``settings`` the user's settings (theme, keys, page size)."""

    TITLE = "lmf workbench"
    MODES: ClassVar = {
        "datasets": DatasetsScreen,
        "template": template_screen,
        "config": config_screen,
        "train": train_screen,
        "runs": runs_screen,
        "chat": chat_screen,
    }
    DEFAULT_MODE = "datasets"
    COMMANDS: ClassVar = {WorkbenchCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("app")
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"

    def __init__(self, workspace: Workspace, settings: Settings | None = None, sampler: Sampler | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.sampler = sampler or open_sampler(disk_path=workspace.root)
        self.settings = settings or Settings()
        self.config_path: Path | None = workspace.default_config()
        self.sub_title = workspace.title
        themes, self.theme_problems = read_themes([THEMES_DIR, self.settings.themes_dir])
        self.lmf_themes = [theme.name for theme in themes]
        for theme in themes:
            self.register_theme(theme)
        wanted = self.settings.theme if self.settings.theme in self.lmf_themes else DEFAULT_THEME
        if wanted not in self.lmf_themes:
            self.theme_problems.append(f"theme {self.settings.theme!r} not found in {THEMES_DIR}")
        else:
            self.theme = wanted
            if wanted != self.settings.theme:
                self.theme_problems.append(f"theme {self.settings.theme!r} not found; using {wanted}")
        self.set_keymap(self.settings.keys)
        self.unsaved_work: Callable[[], str | None] = lambda: None
        self.recover_work: Callable[[], Path | None] = lambda: None
        self.chat_request: ChatTarget | None = None
        self.quit_armed = False

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Token colours for a theme that lacks them (textual's own): its success, muted text and accent colours."""
        colors = self.current_theme.to_color_system().generate()
        return dict(
            zip(REQUIRED_VARIABLES, (colors["success"], colors["foreground-muted"], colors["accent"]), strict=True)
        )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain text: messages quote file names, dataset values and errors, which may hold
        markup characters (``markup`` is accepted and ignored)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_unmount(self) -> None:
        self.sampler.stop()

    def on_mount(self) -> None:
        for problem in self.theme_problems:
            self.notify(problem, title="Theme", severity="warning", timeout=8)

    def palette_commands(self) -> list[PaletteCommand]:
        commands = [
            PaletteCommand(f"Go to {title}", f"Screen {number}", partial(self.switch_mode, name))
            for number, (name, title) in enumerate(SCREENS, start=1)
        ]
        commands += [
            PaletteCommand(
                f"Theme: {name}", "Use this theme from now on (remembered)", partial(self.choose_theme, name)
            )
            for name in self.lmf_themes
        ]
        commands.append(
            PaletteCommand("Keys: show all bindings", "Every key, with its id for rebinding", self.action_show_keys)
        )
        commands.append(PaletteCommand("Quit", "Leave the workbench", self.action_quit))
        return commands

    def choose_theme(self, name: str) -> None:
        """Switch to theme ``name`` and remember it in the settings file."""
        self.theme = name
        self.settings.theme = name
        if self.settings.path is None:
            return
        try:
            remember_theme(self.settings.path, name)
        except OSError as exc:
            self.notify(f"cannot remember the theme in {self.settings.path}: {exc}", severity="warning")

    async def action_quit(self) -> None:
        """Quit; with unsaved work (a modified config), only when asked twice."""
        unsaved = self.unsaved_work()
        if unsaved and not self.quit_armed:
            self.quit_armed = True
            self.notify(f"There are {unsaved}: save them (ctrl+s), or quit again to drop them.", severity="warning")
            return
        self.exit()

    def action_show_keys(self) -> None:
        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.settings.keys))

    def show_error(self, task: str, message: str, details: str | None = None) -> None:
        """Show the error panel for a failed task; the app keeps running."""
        self.push_screen(ErrorPanel(task, message, details))

    def chat_with(self, target: ChatTarget) -> None:
        """Open the chat screen on ``target`` (it loads the model unless an answer is being written)."""
        self.chat_request = target
        self.switch_mode("chat")  # the chat screen takes the request when it mounts or resumes

    def set_config(self, path: Path | None) -> None:
        """Make ``path`` the config the screens use for tokenizer, template and cutoff_len."""
        self.config_path = path

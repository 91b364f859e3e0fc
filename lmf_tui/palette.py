"""The command palette: the app's commands plus those of the screen it was opened from."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class PaletteCommand:
    """One palette entry: its title, a line of help and what it does."""

    title: str
    help: str
    callback: Callable[[], Any]


class WorkbenchCommands(Provider):
    """App-wide commands (screens, themes, keys, quit) followed by the current screen's own commands."""

    def commands(self) -> list[PaletteCommand]:
        found: list[PaletteCommand] = []
        for source in (self.app, self.screen):
            if hasattr(source, "palette_commands"):
                found.extend(source.palette_commands())
        return found

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback, help=command.help)

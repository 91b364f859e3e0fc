"""StreamText: streamed text repaints alone, takes rows a few at a time, and is exact once set whole."""

from typing import Any

from textual.app import App, ComposeResult

from lmf_tui.widgets.stream_text import ROWS_AHEAD, StreamText


class Holder(App[None]):
    def compose(self) -> ComposeResult:
        yield StreamText(id="text")


async def test_rows_grow_a_few_at_a_time_and_become_exact() -> None:
    app = Holder()
    async with app.run_test(size=(20, 40)) as pilot:
        widget = app.query_one(StreamText)
        layouts: list[bool] = []
        original = widget.refresh

        def counting(*args: Any, **kwargs: Any) -> Any:
            layouts.append(bool(kwargs.get("layout")))
            return original(*args, **kwargs)

        widget.refresh = counting  # type: ignore[method-assign]
        widget.append("short")
        await pilot.pause()
        assert widget.size.height == ROWS_AHEAD
        for _ in range(40):
            widget.append("word ")
        await pilot.pause()
        rows = len(widget.render().wrap(20))
        assert rows <= widget.size.height < rows + ROWS_AHEAD
        assert len(layouts) >= 41 and sum(layouts) <= rows // ROWS_AHEAD + 3  # not one layout per piece
        widget.replace(widget.text)
        await pilot.pause()
        assert widget.size.height == rows
        widget.replace("[b]not markup[/x]")
        await pilot.pause()
        assert widget.render().plain == "[b]not markup[/x]" and widget.size.height == 1

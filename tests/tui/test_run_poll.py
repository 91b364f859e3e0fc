"""The poll behind the run view: what it reads, which logs lines are new, which charts it builds and when."""

from pathlib import Path

from fixtures.fake_runs import append_steps, write_fake_run

from lmf_tui.charts import Palette
from lmf_tui.run_poll import ChartRequest, RunPoller, metric_order, poll_safely

PALETTE = Palette((0, 0, 0), (255, 255, 255), ((0, 0, 255), (255, 0, 0)))


def request(sizes: dict[str, tuple[int, int]] | None = None, **kwargs: object) -> ChartRequest:
    values: dict = {"new_size": None, "new_count": 0, "smoothing": 0.0, "log_y": False, "palette": PALETTE}
    return ChartRequest(sizes=sizes or {}, **{**values, **kwargs})


def test_logs_get_only_their_new_lines(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "live", 20, total_steps=100, state="running", eval_every=10)
    poller = RunPoller(run, generation=1)
    first = poller.poll(request())
    assert first.events is not None and first.events.replace
    assert any("eval" in line for line in first.events.lines)
    assert first.stdout is not None and first.stdout.replace and first.stdout.lines
    assert poller.poll(request()).stdout is None
    append_steps(run, 21, 10)
    later = poller.poll(request())
    assert later.stdout is not None and not later.stdout.replace
    assert later.stdout.lines and all(line not in first.stdout.lines[-3:] for line in later.stdout.lines[-3:])
    assert later.events is not None and not later.events.replace and len(later.events.lines) == 1
    assert later.progress is not None and later.progress.step == 30


def test_charts_are_built_for_what_is_in_view_and_rebuilt_when_data_or_options_change(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "done", 50, eval_every=25)
    poller = RunPoller(run, generation=1)
    result = poller.poll(request(new_size=(40, 12), new_count=3))
    assert result.metrics[:3] == ["loss", "eval_loss", "lr"] and set(result.charts) == {"loss", "eval_loss", "lr"}
    text, size, _ = result.charts["loss"]
    assert size == (40, 12) and "loss" in text.plain and len(text.plain.splitlines()) == 12
    assert poller.poll(request({"loss": (40, 12)})).charts == {}
    assert set(poller.poll(request({"loss": (40, 12)}, log_y=True)).charts) == {"loss"}
    assert set(poller.poll(request({"loss": (50, 12)}, log_y=True)).charts) == {"loss"}
    assert "smooth 0.9" in poller.poll(request({"loss": (50, 12)}, smoothing=0.9)).charts["loss"][0].plain


def test_metric_order_and_a_vanished_folder(tmp_path: Path) -> None:
    names = ["zeta", "lr", "loss", "train_loss", "epoch", "eval_loss", "rewards/margins"]
    assert metric_order(names) == ["loss", "eval_loss", "lr", "rewards/margins", "zeta"]
    run = write_fake_run(tmp_path / "gone", 5)
    poller = RunPoller(run, generation=7)
    for child in run.iterdir():
        if child.is_file():
            child.unlink()
        else:
            child.rmdir()
    run.rmdir()
    result = poll_safely(poller, request())
    assert result.generation == 7 and result.error is not None and str(run) in result.error

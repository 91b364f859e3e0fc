"""The media of a dataset row in the Datasets screen: pictures, video frames, audio waveforms, sizes and paths, and
one-line problems for media that cannot be read."""

import json
from collections.abc import Callable
from pathlib import Path

from fixtures.media_files import write_audio, write_video
from textual.pilot import Pilot
from textual_image.widget import HalfcellImage
from tui_support import SIZE, settle

from lmf_engine.data.media_info import LEVELS
from lmf_tui.app import WorkbenchApp
from lmf_tui.dataset_entries import human_size
from lmf_tui.widgets.dataset_list import DatasetList
from lmf_tui.widgets.media_panel import MediaPanel
from lmf_tui.widgets.rows_table import RowsTable
from lmf_tui.widgets.waveform import Waveform


async def open_dataset(pilot: Pilot, name: str) -> RowsTable:
    """Highlight dataset ``name`` and put the focus on its rows."""
    await settle(pilot)
    datasets = pilot.app.screen.query_one(DatasetList)
    datasets.move_cursor(row=datasets.get_row_index(name))
    await settle(pilot)
    table = pilot.app.screen.query_one(RowsTable)
    table.focus()
    return table


def captions(panel: MediaPanel) -> list[str]:
    return [str(caption.render()) for caption in panel.query(".media-caption")]


async def test_a_row_with_an_image_shows_the_picture_with_its_size_mode_bytes_and_path(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    rows = json.loads((workspace / "data" / "demo_mllm.json").read_text())
    index = next(i for i, row in enumerate(rows) if row["images"] == ["demo_images/red_circle.png"])
    size = human_size((workspace / "data" / "demo_images" / "red_circle.png").stat().st_size)
    app = make_app(images="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_dataset(pilot, "demo_mllm")
        table.move_to(index)
        await settle(pilot)
        panel = app.screen.query_one(MediaPanel)
        assert panel.has_class("-shown") and panel.display
        assert captions(panel) == [f"image 1 · 96×64 px · RGB · PNG · {size}\ndata/demo_images/red_circle.png"]
        (picture,) = panel.query(HalfcellImage)
        assert picture.size.height == 4  # 64 pixels: its own height in rows (20 pixels a row), not stretched
        assert 0 < picture.size.width <= panel.size.width
        assert "<image>" in str(app.screen.query_one("#detail-messages").render())
        await open_dataset(pilot, "demo_sft")  # text only: no media panel
        assert not panel.has_class("-shown") and not list(panel.query(".media-caption"))


async def test_video_frames_audio_waveform_and_unreadable_media(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    media = workspace / "data" / "media"
    media.mkdir()
    write_video(media / "clip.mp4")
    write_audio(media / "tone.flac", "flac")
    (media / "notes.txt").write_text("not a picture")
    row = {
        "messages": [
            {"from": "human", "value": "<image><image><video><audio>What happens?"},
            {"from": "gpt", "value": "A tone, and the screen turns red."},
        ],
        "images": ["media/missing.png", "media/notes.txt"],
        "videos": ["media/clip.mp4"],
        "audios": ["media/tone.flac"],
    }
    (workspace / "data" / "clips.json").write_text(json.dumps([row]))
    info = json.loads((workspace / "data" / "dataset_info.json").read_text())
    columns = {"messages": "messages", "images": "images", "videos": "videos", "audios": "audios"}
    info["clips"] = {"file_name": "clips.json", "formatting": "sharegpt", "columns": columns}
    (workspace / "data" / "dataset_info.json").write_text(json.dumps(info))
    app = make_app(images="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_dataset(pilot, "clips")
        shown = table.current()
        assert shown is not None and "no file 'media/missing.png'" in (shown.reason or "")
        await settle(pilot)
        panel = app.screen.query_one(MediaPanel)
        missing, unreadable, video, audio = captions(panel)
        assert missing.startswith("image 1 · field 'images': no file 'media/missing.png' under media_dir")
        assert "\n" not in missing
        assert unreadable == "image 2 · data/media/notes.txt is not an image PIL can read"
        assert video.startswith("video 1 · 64×48 px · 0:02.00 · 10 fps · 20 frames · ")
        assert video.endswith("\ndata/media/clip.mp4")
        assert str(panel.query_one(".media-times").render()) == "frames at 0:00.30, 0:00.80, 0:01.30, 0:01.80"
        assert len(panel.query_one(".media-frames").query(HalfcellImage)) == 4
        assert audio.startswith("audio 1 · 0:01.00 · 16,000 Hz · mono · flac · ")
        assert audio.endswith(" · peak -6.0 dBFS\ndata/media/tone.flac")
        wave = str(panel.query_one(Waveform).render())
        assert len(wave) == panel.query_one(Waveform).size.width and set(wave) <= set(LEVELS)
        assert wave[0] == "▁" and wave[-1] in "▄▅"  # the tone rises to half of full scale

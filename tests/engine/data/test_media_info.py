"""What the Datasets screen shows of a row's media: image size and mode, video duration and frames, audio duration,
rate and waveform, and a one-line problem for a medium that cannot be read (files written here with PIL and av)."""

import json
import math
from pathlib import Path

import pytest
from fixtures.media_files import VIDEO_CODECS, write_audio, write_video
from PIL import Image

from lmf_engine.data.media_info import (
    LEVELS,
    AudioInfo,
    MediaInfoError,
    read_audio,
    read_image,
    read_media,
    read_video,
    row_media,
    waveform,
)
from lmf_engine.data.registry import read_dataset_info


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    Image.new("RGB", (96, 64), (200, 30, 30)).save(folder / "rgb.png")
    Image.new("L", (24, 24), 128).save(folder / "grey.png")
    Image.new("P", (1000, 700)).save(folder / "palette.png")
    Image.new("RGBA", (40, 20), (0, 0, 255, 128)).save(folder / "alpha.png")
    (folder / "notes.txt").write_text("not a picture")
    write_video(folder / "clip.mp4")
    write_audio(folder / "tone.flac", "flac")
    write_audio(folder / "tone.wav", "pcm_s16le", rate=8000, seconds=0.5, channels=2)
    return folder


@pytest.mark.parametrize(
    ("name", "size", "mode", "preview_mode"),
    [
        ("rgb.png", (96, 64), "RGB", "RGB"),
        ("grey.png", (24, 24), "L", "RGB"),
        ("palette.png", (1000, 700), "P", "RGB"),
        ("alpha.png", (40, 20), "RGBA", "RGBA"),
    ],
)
def test_an_image_has_its_size_mode_bytes_and_a_bounded_rgb_preview(
    media: Path, name: str, size: tuple[int, int], mode: str, preview_mode: str
) -> None:
    info = read_image(str(media / name))
    assert (info.width, info.height, info.mode, info.format) == (*size, mode, "PNG")
    assert info.file_size == (media / name).stat().st_size
    assert info.preview.mode == preview_mode
    assert max(info.preview.size) <= 640
    assert info.preview.size[0] / info.preview.size[1] == pytest.approx(size[0] / size[1], rel=0.01)


def test_a_file_that_is_not_an_image_or_is_missing_is_a_one_line_problem(media: Path) -> None:
    with pytest.raises(MediaInfoError, match=r"notes\.txt is not an image PIL can read") as caught:
        read_image(str(media / "notes.txt"))
    assert "\n" not in str(caught.value)
    with pytest.raises(MediaInfoError, match=r"cannot read .*gone\.png: No such file"):
        read_image(str(media / "gone.png"))


def test_a_video_has_its_duration_rate_codec_and_four_evenly_spaced_frames(media: Path) -> None:
    info = read_video(str(media / "clip.mp4"))
    assert (info.width, info.height) == (64, 48)
    assert info.duration == pytest.approx(2.0, abs=0.11)
    assert info.fps == pytest.approx(10)
    assert info.codec in VIDEO_CODECS and info.file_size > 0
    times = [frame.time for frame in info.frames]
    assert len(times) == 4
    for got, want in zip(times, (0.25, 0.75, 1.25, 1.75), strict=True):
        assert got is not None and want <= got < want + 0.11  # the first frame at or after each quarter's middle
    reds = [frame.image.getpixel((32, 24))[0] for frame in info.frames]  # type: ignore[index]
    for red, time in zip(reds, times, strict=True):
        assert red == pytest.approx(10 * round(time * 10), abs=12)  # the frame shown is the frame at that time


def test_a_video_given_as_frame_files_shows_some_of_them(media: Path) -> None:
    frames = [str(media / "rgb.png")] * 9
    info = read_video("\n".join(frames), frames=3)
    assert (info.frame_files, info.width, info.height, info.codec, info.duration) == (9, 96, 64, None, None)
    assert len(info.frames) == 3 and all(frame.time is None for frame in info.frames)


@pytest.mark.parametrize(
    ("name", "rate", "channels", "codec", "seconds"),
    [("tone.flac", 16000, 1, "flac", 1.0), ("tone.wav", 8000, 2, "pcm_s16le", 0.5)],
)
def test_audio_has_its_exact_duration_rate_channels_and_a_rising_envelope(
    media: Path, name: str, rate: int, channels: int, codec: str, seconds: float
) -> None:
    info = read_audio(str(media / name), buckets=50)
    assert (info.sample_rate, info.channels, info.codec) == (rate, channels, codec)
    assert info.duration == pytest.approx(seconds)
    assert info.peak == pytest.approx(0.5, abs=0.01)  # the louder channel counts
    assert info.peak_dbfs == pytest.approx(-6.0, abs=0.2)
    assert len(info.envelope) == 50
    assert info.envelope[0] < 0.05 and info.envelope[-1] == pytest.approx(0.5, abs=0.02)
    assert list(info.envelope) == sorted(info.envelope)


def test_reading_audio_stops_when_asked(media: Path) -> None:
    info = read_audio(str(media / "tone.flac"), stop=lambda: True)
    assert info.duration < 0.2


def test_a_file_without_the_stream_of_its_kind_is_a_one_line_problem(media: Path) -> None:
    with pytest.raises(MediaInfoError, match=r"^.*clip\.mp4 has no audio stream$"):
        read_audio(str(media / "clip.mp4"))
    with pytest.raises(MediaInfoError, match=r"^.*tone\.flac has no video stream$"):
        read_video(str(media / "tone.flac"))
    with pytest.raises(MediaInfoError, match=r"cannot read audio .*notes\.txt"):
        read_audio(str(media / "notes.txt"))


def test_waveform_folds_the_envelope_to_any_width() -> None:
    rising = [i / 99 for i in range(100)]
    line = waveform(rising, 8)
    assert line == LEVELS
    assert waveform(rising, 200)[0] == "▁" and waveform(rising, 200)[-1] == "█"
    assert len(waveform(rising, 200)) == 200
    assert waveform([0.0, 1.0, 0.0, 0.0], 2) == "█▁"  # each column shows the loudest peak it covers
    assert waveform([], 10) == "" and waveform(rising, 0) == ""


def test_row_media_resolves_each_medium_on_its_own(media: Path) -> None:
    (media / "dataset_info.json").write_text(
        json.dumps(
            {
                "mm": {
                    "file_name": "mm.json",
                    "formatting": "sharegpt",
                    "columns": {"messages": "messages", "images": "images", "videos": "videos", "audios": "audios"},
                }
            }
        )
    )
    spec = read_dataset_info(media).spec("mm")
    row = {
        "images": ["rgb.png", "missing.png", "https://example.com/a.png"],
        "videos": [["rgb.png", "grey.png"], "clip.mp4"],
        "audios": "tone.flac",
    }
    refs = row_media(row, spec, str(media))
    assert [(ref.kind, ref.value) for ref in refs] == [
        ("images", "rgb.png"),
        ("images", "missing.png"),
        ("images", "https://example.com/a.png"),
        ("videos", "2 frames: rgb.png, …"),
        ("videos", "clip.mp4"),
        ("audios", "tone.flac"),
    ]
    assert refs[0].path == str(media / "rgb.png") and refs[0].problem is None
    assert refs[1].path is None and "no file 'missing.png' under media_dir" in (refs[1].problem or "")
    assert refs[2].path is None and "is a URL" in (refs[2].problem or "")
    assert refs[3].path == f"{media / 'rgb.png'}\n{media / 'grey.png'}"
    kinds = [type(read_media(ref)).__name__ for ref in refs if ref.path is not None]
    assert kinds == ["ImageInfo", "VideoInfo", "VideoInfo", "AudioInfo"]
    with pytest.raises(MediaInfoError, match=r"no file 'missing\.png'"):
        read_media(refs[1])
    assert row_media({"images": None}, spec, str(media)) == []


def test_silence_has_no_peak_level() -> None:
    silent = AudioInfo("x.wav", 1.0, 16000, 1, "pcm_s16le", 32044, (0.0,) * 4, 0.0)
    assert silent.peak_dbfs == -math.inf
    assert waveform(silent.envelope, 4) == "▁▁▁▁"

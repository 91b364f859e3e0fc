"""The demo's sounds and the dataset about them: tones that swell from silence, asked about in LLaMA-Factory's
``mllm_audio_demo`` form (sharegpt ``messages`` + ``audios``).

The sounds are 16-bit PCM WAV files written with the standard library, so every decoder reads the same samples.
Their rates and channels cover the audio path: one at the models' 16 kHz, one at 22.05 kHz and a stereo one at
44.1 kHz (averaged to mono and resampled, as LLaMA-Factory does).
"""

import math
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOUND_DIR = "demo_sounds"


@dataclass(frozen=True)
class Sound:
    """One demo sound: a ``pitch`` Hz tone for ``seconds``, swelling from silence."""

    name: str
    pitch: int
    seconds: float
    rate: int
    channels: int = 1

    @property
    def path(self) -> str:
        """The path a dataset row gives, relative to the dataset folder."""
        return f"{SOUND_DIR}/{self.name}.wav"

    @property
    def caption(self) -> str:
        return f"a {self.pitch} Hz tone that swells from silence for {self.seconds:g} seconds"


SOUNDS: tuple[Sound, ...] = (
    Sound("tone_440", 440, 1.0, 16000),
    Sound("tone_660", 660, 1.3, 22050),
    Sound("tone_880_stereo", 880, 0.7, 44100, channels=2),
)


def write_sound(sound: Sound, path: Path) -> None:
    """``sound`` as a 16-bit WAV file at ``path`` (later channels louder, in proportion)."""
    import numpy as np

    count = int(sound.rate * sound.seconds)
    steps = np.arange(count)
    tone = 0.5 * np.sin(2 * math.pi * sound.pitch * steps / sound.rate) * (steps / count)
    channels = [tone * (c + 1) / sound.channels for c in range(sound.channels)]
    samples = (np.stack(channels, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(sound.channels)
        out.setsampwidth(2)
        out.setframerate(sound.rate)
        out.writeframes(samples.tobytes())


def sound_files(folder: Path) -> list[Path]:
    """The files :func:`write_sounds` writes under ``folder`` (the dataset folder)."""
    return [folder / sound.path for sound in SOUNDS]


def write_sounds(folder: Path) -> list[Path]:
    """Write every demo sound under ``folder``; returns their paths."""
    (folder / SOUND_DIR).mkdir(parents=True, exist_ok=True)
    for sound in SOUNDS:
        write_sound(sound, folder / sound.path)
    return sound_files(folder)


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def audio_rows() -> list[dict[str, Any]]:
    """Questions about each sound (the placeholder before or after the text) and about two sounds (10 rows)."""
    rows: list[dict[str, Any]] = []
    for sound in SOUNDS:
        for question, answer in (
            ("<audio>What do you hear?", f"I hear {sound.caption}."),
            ("What is the pitch of this tone?<audio>", f"It is {sound.pitch} Hz."),
            ("<audio>How long does it last?", f"It lasts {sound.seconds:g} seconds."),
        ):
            rows.append({"messages": [_turn("user", question), _turn("assistant", answer)], "audios": [sound.path]})
    low, high = SOUNDS[0], SOUNDS[2]
    rows.append({
        "messages": [_turn("user", "<audio><audio>Which tone is higher, the first or the second?"),
                     _turn("assistant", f"The second: {high.pitch} Hz against {low.pitch} Hz.")],
        "audios": [low.path, high.path],
    })  # fmt: skip
    return rows


AUDIO_INFO = {
    "file_name": "demo_audio.json",
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "audios": "audios"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}

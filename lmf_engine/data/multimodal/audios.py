"""Audio as LLaMA-Factory's plugins see it: the samples of a file, mixed to mono and resampled to the model's rate.

LLaMA-Factory 0.9.5 reads audio with ``torchaudio.load`` (float samples, channels first), averages the channels and
resamples with ``torchaudio.functional.resample`` (windowed-sinc interpolation, a Hann window six zero crossings
wide, cut-off at 99% of the lower Nyquist frequency). torchaudio has no build for the CPU torch this project pins:
files are decoded with PyAV here (PCM samples scaled as torchaudio scales them) and resampled by
:func:`resample`, the same filter written in torch.
"""

import math
from functools import lru_cache
from typing import Any

from ..media_paths import MediaError
from .containers import first_stream

LOWPASS_WIDTH = 6
ROLLOFF = 0.99


def _decode(path: str) -> tuple[Any, int]:
    """(samples as float32 (channels, n), sample rate) of the first audio stream of ``path``."""
    import numpy as np

    with first_stream(path, "audio") as (container, stream):
        rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
        chunks = []
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            if not frame.format.is_planar:
                array = array.reshape(-1, channels).T
            if array.dtype.kind in "iu":
                array = array.astype(np.float32) / float(2 ** (8 * array.dtype.itemsize - 1))
            chunks.append(array.astype(np.float32, copy=False))
    if not chunks:
        raise MediaError(f"{path} has no audio samples")
    return np.concatenate(chunks, axis=1), rate


def audio_length(path: str, sampling_rate: int) -> int:
    """How many samples the audio at ``path`` has at ``sampling_rate`` (after resampling), as LLaMA-Factory counts
    them to size its features."""
    samples, rate = _decode(path)
    return _resampled_length(samples.shape[1], rate, sampling_rate)


def _resampled_length(length: int, orig: int, new: int) -> int:
    if orig == new:
        return length
    divisor = math.gcd(orig, new)
    return math.ceil(new // divisor * length / (orig // divisor))


def load_audio(path: str, sampling_rate: int) -> Any:
    """The audio at ``path`` as float32 mono samples at ``sampling_rate``."""
    import torch

    samples, rate = _decode(path)
    waveform = torch.from_numpy(samples)
    if waveform.shape[0] > 1:
        waveform = waveform.mean(dim=0, keepdim=True)
    if rate != sampling_rate:
        waveform = resample(waveform, rate, sampling_rate)
    return waveform.squeeze(0).numpy()


@lru_cache(maxsize=8)
def _kernel(orig: int, new: int) -> tuple[Any, int]:
    """The polyphase filter bank from ``orig`` to ``new`` (reduced rates): one windowed-sinc filter per output
    phase, and its half width in input samples."""
    import torch

    cutoff = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_WIDTH * orig / cutoff)
    offsets = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    phases = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new
    times = ((phases + offsets) * cutoff).clamp_(-LOWPASS_WIDTH, LOWPASS_WIDTH)
    window = torch.cos(times * math.pi / LOWPASS_WIDTH / 2) ** 2
    times *= math.pi
    sinc = torch.where(times == 0, torch.tensor(1.0, dtype=torch.float64), torch.sin(times) / times)
    return (sinc * window * (cutoff / orig)).to(torch.float32), width


def resample(waveform: Any, orig: int, new: int) -> Any:
    """``waveform`` (channels, n) from ``orig`` Hz to ``new`` Hz, as ``torchaudio.functional.resample`` does."""
    import torch

    divisor = math.gcd(orig, new)
    orig, new = orig // divisor, new // divisor
    kernel, width = _kernel(orig, new)
    channels, length = waveform.shape
    padded = torch.nn.functional.pad(waveform, (width, width + orig))
    out = torch.nn.functional.conv1d(padded[:, None], kernel, stride=orig)
    out = out.transpose(1, 2).reshape(channels, -1)
    return out[..., : math.ceil(new * length / orig)]

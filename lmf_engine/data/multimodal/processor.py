"""A multimodal model's processor, as the plugins need it, and the run's media options.

LLaMA-Factory loads ``AutoProcessor``; with transformers 5 that fails for Qwen2-VL-like models when torchvision is
missing (their processor class insists on a video processor, which needs it), even for images alone. Here the
parts are loaded one by one: the image processor (transformers picks the torchvision back end when it is installed
and PIL otherwise, as it does for LLaMA-Factory), the audio feature extractor where the model has one and it can
load, the video processor's settings (its work is done in torch by :mod:`.videos`, torchvision or not), and the
processor's own settings from ``processor_config.json``.
"""

import json
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .videos import video_settings

if TYPE_CHECKING:
    from lmf_engine.config import Config


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaOptions:
    """The config's media keys, with LLaMA-Factory's defaults."""

    image_max_pixels: int = 768 * 768
    image_min_pixels: int = 32 * 32
    image_do_pan_and_scan: bool = False
    crop_to_patches: bool = False
    video_max_pixels: int = 256 * 256
    video_min_pixels: int = 16 * 16
    video_fps: float = 2.0
    video_maxlen: int = 128
    use_audio_in_video: bool = False
    audio_sampling_rate: int = 16000

    @classmethod
    def from_config(cls, config: "Config") -> "MediaOptions":
        return cls(**{f.name: getattr(config.model, f.name) for f in fields(cls)})


@dataclass
class MediaProcessor:
    """The image processor and audio feature extractor of a model (None where it has none, or where one cannot load:
    ``missing`` says why), ``settings``, its ``processor_config.json``, and ``video``, its video processor's
    settings (see :func:`.videos.video_settings`)."""

    image_processor: Any = None
    feature_extractor: Any = None
    settings: dict[str, Any] = field(default_factory=dict)
    options: MediaOptions = MediaOptions()
    missing: dict[str, str] = field(default_factory=dict)
    path: str = ""
    video: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str, default: Any = None) -> Any:
        """A processor setting (``patch_size``, ``num_additional_image_tokens`` ...)."""
        return self.settings.get(name, default)


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _load(kind: str, loader: Any, path: str, kwargs: dict[str, Any], missing: dict[str, str]) -> Any:
    try:
        return loader.from_pretrained(path, **kwargs)
    except (ImportError, OSError, ValueError, KeyError, TypeError) as exc:
        missing[kind] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
        return None


def load_media_processor(
    path: str, options: MediaOptions | None = None, trust_remote_code: bool = False
) -> MediaProcessor:
    """The processor parts of the model at ``path`` (a local folder)."""
    from transformers import AutoFeatureExtractor, AutoImageProcessor

    folder = Path(path)
    settings = _json(folder / "processor_config.json")
    preprocessor = _json(folder / "preprocessor_config.json")
    kwargs = {"trust_remote_code": trust_remote_code}
    missing: dict[str, str] = {}
    image_processor = feature_extractor = None
    if "image_processor_type" in preprocessor or "image_processor" in settings:
        image_processor = _load("image processor", AutoImageProcessor, path, kwargs, missing)
    if "feature_extractor_type" in preprocessor or "feature_extractor" in settings:
        feature_extractor = _load("audio feature extractor", AutoFeatureExtractor, path, kwargs, missing)
    for kind, reason in missing.items():
        log.warning("The model's %s could not be loaded from %s: %s", kind, path, reason)
    video = video_settings(folder, settings) if image_processor is not None else {}
    return MediaProcessor(
        image_processor, feature_extractor, settings, options or MediaOptions(), missing, path, video
    )

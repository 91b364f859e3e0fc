"""Multimodal rows: the template's plugin turns each placeholder into the model's media tokens while encoding.

processor = load_media_processor(model_dir, MediaOptions.from_config(config))
media = MediaEncoder(get_plugin(template.multimodal, template.media_tokens), processor, template.name)
columns = encode("sft", template, tokenizer, examples, EncodeOptions(media=media))
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..example import Example, Message
from .plugins import PLUGINS, Media, MediaBatch, MediaPlugin, MediaUnsupported, get_plugin
from .processor import MediaOptions, MediaProcessor, load_media_processor


@dataclass(frozen=True)
class MediaEncoder:
    """A template's plugin with the model's processor: expands a row's placeholders into media tokens."""

    plugin: MediaPlugin | None
    processor: MediaProcessor
    template: str

    def expand(self, messages: Sequence[Message], example: Example) -> list[Message]:
        """``messages`` (of ``example``) with the row's media placeholders expanded."""
        media = Media(example.images, example.videos, example.audios)
        if not (media.images or media.videos or media.audios):
            return list(messages)
        if self.plugin is None:
            raise MediaUnsupported(f"template {self.template} takes text only; use a multimodal template")
        return self.plugin.expand(messages, media, self.processor)

    def prefix_ids(self, example: Example, tokenizer: Any) -> list[int]:
        """The ids the plugin puts before ``example``'s sequences (PaliGemma's image tokens), usually none."""
        if self.plugin is None or not example.images:
            return []
        tokens = self.plugin.prefix(Media(example.images, example.videos, example.audios), self.processor)
        return tokenizer.convert_tokens_to_ids(tokens) if tokens else []


__all__ = [
    "PLUGINS",
    "Media",
    "MediaBatch",
    "MediaEncoder",
    "MediaOptions",
    "MediaPlugin",
    "MediaProcessor",
    "MediaUnsupported",
    "get_plugin",
    "load_media_processor",
]

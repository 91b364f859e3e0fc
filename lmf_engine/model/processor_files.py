"""The processor files of a multimodal model folder, which trained and exported models carry along."""

from pathlib import Path

PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")
"""The files of a model's processor (besides the tokenizer's): what a trained or exported model must carry."""


def copy_processor_files(source: str | Path, target: str | Path) -> list[str]:
    """Copy the processor files of the model folder ``source`` into ``target``; returns the names copied."""
    import shutil

    copied = []
    for name in PROCESSOR_FILES:
        if (Path(source) / name).is_file():
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(source) / name, Path(target) / name)
            copied.append(name)
    return copied

"""Errors of the model layer."""


class ModelLoadError(Exception):
    """A model, adapter or tokenizer a config names cannot be loaded; the message says which and why."""

"""The ``generating`` group: decoding settings for chat, the API and predictions."""

from dataclasses import dataclass

from .fields import opt


@dataclass
class GeneratingConfig:
    """How text is sampled."""

    do_sample: bool = opt(True, "Sample; greedy decoding when false.")
    temperature: float = opt(0.95, "Sampling temperature.", ge=0)
    top_p: float = opt(0.7, "Nucleus sampling: keep the smallest token set with this much probability.", gt=0, le=1)
    top_k: int = opt(50, "Keep the k most likely tokens (0: no limit).", ge=0)
    num_beams: int = opt(1, "Beams for beam search (1: none).", ge=1, advanced=True)
    max_length: int = opt(1024, "Longest prompt + answer (max_new_tokens takes precedence).", ge=1, advanced=True)
    max_new_tokens: int = opt(1024, "Most tokens generated per answer.", ge=1)
    repetition_penalty: float = opt(1.0, "Penalty on repeated tokens (1.0: none).", gt=0)
    length_penalty: float = opt(1.0, "Length penalty of beam search.", advanced=True)
    skip_special_tokens: bool = opt(True, "Drop special tokens from decoded text.")

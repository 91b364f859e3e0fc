"""Judging a model by its outputs: BLEU/ROUGE of predictions, multiple-choice benchmarks (MMLU style)."""

"""System monitoring: GPUs through NVML, the host through psutil, one sampler per process, recorded samples.

- ``samples``: the plain data of one reading and its JSON form (a line of ``system.jsonl``); summaries of a run.
- ``nvml``, ``host``: the readers; ``marking``: which GPU processes are a watched run's.
- ``sources``: this machine (``LiveSource``) or a recorded file replayed (``ReplaySource``).
- ``sampler``: ``Sampler`` (one per process, shared by every panel) and ``open_sampler``.
- ``recorder``: sample files, and the training child's own ``system.jsonl``; ``records``: reading them back.
- ``panel``, ``summary_text``, ``units``: the panel as a rich renderable, a summary as text rows, figures as text.

Nothing here imports torch or textual.
"""

"""System monitoring: GPUs through NVML, the host through psutil, one sampler per process, recorded samples.

Nothing here imports torch or textual; ``samples`` is plain data shared by the sampler, the run's recorder, the CLI
panel and the workbench.
"""

"""lmf workbench engine: headless config, data, training, inference and run records."""

__version__ = "0.1.0"

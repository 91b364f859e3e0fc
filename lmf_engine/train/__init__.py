"""Training: the child entry point (``python -m lmf_engine.train RUN_DIR``), one module per stage, the callbacks that
write the run's events, and what every stage shares. Importing this package imports no torch."""

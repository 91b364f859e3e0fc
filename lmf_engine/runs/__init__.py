"""Run directories: the record (run.json), the event stream, the launcher and the store of runs.

See the run directory protocol in DESIGN.md. Nothing here imports torch: the parent process stays light and the child
(``python -m lmf_engine.train RUN_DIR``) does the heavy work.
"""

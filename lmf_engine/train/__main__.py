"""``python -m lmf_engine.train RUN_DIR [--resume]``: the training child process."""

import sys

from . import gc_phases
from .entry import main

if __name__ == "__main__":
    gc_phases.start_setup()
    code = main()
    gc_phases.before_exit()
    sys.exit(code)

"""``python -m lmf_engine.train RUN_DIR [--resume]``: the training child process."""

import sys

from .entry import main

if __name__ == "__main__":
    sys.exit(main())

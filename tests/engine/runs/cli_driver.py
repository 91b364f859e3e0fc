"""``lmf-engine`` with the fake trainer as the child's entry point; the CLI tests copy it into the workspace.

When ``HEAVY_MODULES_FILE`` is set, the heavy libraries this process imported are written there at exit.
"""

import functools
import json
import os
import sys

import lmf_engine.runs.launcher as launcher
import lmf_engine.runs.store as store

fake_start = functools.partial(launcher.start_run, entry_module="fake_trainer")
launcher.start_run = fake_start
store.start_run = fake_start

HEAVY = ("torch", "transformers", "datasets", "peft", "trl", "accelerate")

if __name__ == "__main__":
    from lmf_engine.cli.main import app

    try:
        app(prog_name="lmf-engine")
    finally:
        if os.environ.get("HEAVY_MODULES_FILE"):
            with open(os.environ["HEAVY_MODULES_FILE"], "w") as handle:
                json.dump(sorted(name for name in HEAVY if name in sys.modules), handle)

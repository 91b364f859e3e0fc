"""``python -m lmf_engine`` runs the ``lmf-engine`` command line."""

from lmf_engine.cli.main import main

main()

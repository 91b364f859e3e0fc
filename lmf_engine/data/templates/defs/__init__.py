"""Built-in chat template definitions, one TOML file per model family (a package so the files ship in wheels).

Each table is one template named as LLaMA-Factory 0.9.5 names it; see ``lmf_engine.data.templates.loader`` for
the keys and defaults, and ``generic.toml`` for the slot syntax.
"""

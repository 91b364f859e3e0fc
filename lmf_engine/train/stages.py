"""Which module trains each ``stage``. A stage module has ``run(ctx: StageContext) -> None``; add a stage with one
line here."""

STAGES: dict[str, str] = {
    "pt": "lmf_engine.train.pt",
    "sft": "lmf_engine.train.sft",
    "rm": "lmf_engine.train.rm",
    "dpo": "lmf_engine.train.dpo",
    "kto": "lmf_engine.train.kto",
    "ppo": "lmf_engine.train.ppo",
}

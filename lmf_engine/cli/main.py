"""Entry point of ``lmf-engine``."""

import typer

from . import (
    api_cmd,
    chat_cmd,
    config_cmd,
    data_cmd,
    demo_cmd,
    env_cmd,
    eval_cmd,
    export_cmd,
    llama_pro_cmd,
    monitor_cmd,
    runs_cmd,
    template_cmd,
    train_cmd,
)

app = typer.Typer(
    name="lmf-engine",
    help="Headless engine of lmf workbench: configs, data, training runs, evaluation, chat and export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("version")(env_cmd.version)
app.command("env")(env_cmd.env)
app.add_typer(config_cmd.app, name="config")
app.add_typer(demo_cmd.app, name="demo")
app.add_typer(data_cmd.app, name="data")
app.add_typer(template_cmd.app, name="template")
app.command("train")(train_cmd.train)
app.command("predict")(eval_cmd.predict)
app.command("eval")(eval_cmd.evaluate)
app.command("score")(eval_cmd.score)
app.add_typer(runs_cmd.app, name="runs")
app.command("chat")(chat_cmd.chat)
app.command("api")(api_cmd.api)
app.command("export")(export_cmd.export)
app.command("llama-pro")(llama_pro_cmd.llama_pro)
app.command("monitor")(monitor_cmd.monitor)


def main() -> None:
    app()

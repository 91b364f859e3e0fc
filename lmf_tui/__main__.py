"""Entry point of ``lmf-tui``: choose the workspace, read the settings, start the app."""

import argparse
import os
import sys
from pathlib import Path

from .settings import SettingsError, load_settings
from .workspace import Workspace, ensure_demo, has_workspace

DESCRIPTION = """Terminal workbench for fine-tuning: datasets, templates and configs of a workspace.

With no DIR, opens the current directory when it is a workspace (data/dataset_info.json or configs/*.yaml),
otherwise the demo workspace, created on first use without any download in $XDG_DATA_HOME/lmf-workbench/demo
(~/.local/share/lmf-workbench/demo; the settings file or LMF_TUI_DEMO_DIR may name another folder).
Settings: $XDG_CONFIG_HOME/lmf-workbench/tui.toml, then LMF_TUI_* environment variables."""


def _fail(message: str) -> None:
    sys.stderr.write(f"lmf-tui: error: {message}\n")
    raise SystemExit(2)


def choose_workspace(directory: str | None, demo: bool, demo_dir: Path, cwd: Path) -> Workspace:
    """The folder to open: ``directory``, else the current one when it is a workspace, else the demo."""
    if directory is not None and not demo:
        root = Path(directory).expanduser().resolve()
        if not root.is_dir():
            _fail(f"{directory}: no such folder")
        return Workspace(root)
    if not demo and has_workspace(cwd):
        return Workspace(cwd.resolve())
    root = demo_dir.expanduser().resolve()
    if not has_workspace(root):
        sys.stderr.write(f"lmf-tui: creating the demo workspace in {root} (first use, no download)…\n")
        try:
            ensure_demo(root)
        except (RuntimeError, OSError) as exc:
            _fail(str(exc))
    return Workspace(root, is_demo=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lmf-tui", description=DESCRIPTION)
    parser.add_argument("directory", nargs="?", metavar="DIR", help="workspace folder to open")
    parser.add_argument("--demo", action="store_true", help="open the demo workspace")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
    workspace = choose_workspace(args.directory, args.demo, settings.demo_dir, Path(os.getcwd()))
    from .app import WorkbenchApp

    app = WorkbenchApp(workspace, settings)
    app.run()
    if app.return_code:  # a crash: textual has printed the traceback
        try:
            kept = app.recover_work()
        except OSError as exc:
            sys.stderr.write(f"lmf-tui: could not keep the unsaved config: {exc}\n")
        else:
            if kept is not None:
                sys.stderr.write(f"lmf-tui: the unsaved config edits were kept in {kept}; the next open offers them\n")
        raise SystemExit(app.return_code)


if __name__ == "__main__":
    main()

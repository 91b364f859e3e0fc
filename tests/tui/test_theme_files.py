"""The shipped themes load into textual and define lmf's token colours."""

from pathlib import Path

import pytest
from textual.color import Color

from lmf_tui.theme_files import REQUIRED_VARIABLES, ThemeFileError, load_theme

THEMES = Path(__file__).resolve().parents[2] / "lmf_tui" / "themes"


def test_shipped_themes_load() -> None:
    themes = {t.name: t for t in map(load_theme, sorted(THEMES.glob("*.toml")))}
    assert {"lmf-dark", "lmf-light", "lmf-high-contrast"} <= set(themes)
    assert themes["lmf-light"].dark is False
    for theme in themes.values():
        for colour in (theme.primary, theme.background, theme.foreground, *theme.variables.values()):
            Color.parse(colour)
        assert set(REQUIRED_VARIABLES) <= set(theme.variables)


def test_bad_theme_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\nprimary = "#fff"\ncolour = "red"\n[variables]\ntoken-trained="#0f0"\n')
    with pytest.raises(ThemeFileError, match=r"x\.toml"):
        load_theme(path)
    path.write_text("name = \n")
    with pytest.raises(ThemeFileError, match=r"x\.toml"):
        load_theme(path)


def test_shipped_themes_are_package_data() -> None:
    import lmf_tui
    from lmf_tui.theme_files import builtin_themes_dir

    folder = builtin_themes_dir()
    assert folder.parent == Path(lmf_tui.__file__).resolve().parent
    assert {p.stem for p in folder.glob("*.toml")} >= {"lmf-dark", "lmf-light", "lmf-high-contrast"}

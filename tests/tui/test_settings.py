"""Settings: defaults < file < LMF_TUI_* variables, clear errors, and the remembered theme written back safely."""

from pathlib import Path

import pytest

from lmf_tui.settings import SettingsError, load_settings, remember_theme, settings_path


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data"), **extra}


def write_settings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg" / "lmf-workbench" / "tui.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_follow_xdg(tmp_path: Path) -> None:
    settings = load_settings(env_for(tmp_path))
    assert settings.theme == "lmf-dark"
    assert settings.page_size == 100
    assert settings.demo_dir == tmp_path / "data" / "lmf-workbench" / "demo"
    assert settings.themes_dir == tmp_path / "cfg" / "lmf-workbench" / "themes"
    assert settings.path == tmp_path / "cfg" / "lmf-workbench" / "tui.toml"
    assert settings.keys == {}


def test_file_then_environment(tmp_path: Path) -> None:
    write_settings(
        tmp_path,
        'theme = "lmf-light"\npage_size = 50\ndemo_dir = "/x/demo"\n[keys]\n"datasets.stats" = "t"\n',
    )
    settings = load_settings(env_for(tmp_path))
    assert (settings.theme, settings.page_size, settings.demo_dir) == ("lmf-light", 50, Path("/x/demo"))
    assert settings.keys == {"datasets.stats": "t"}
    env = env_for(
        tmp_path, LMF_TUI_THEME="lmf-high-contrast", LMF_TUI_PAGE_SIZE="20", LMF_TUI_KEYS="app.quit=ctrl+x; "
    )
    settings = load_settings(env)
    assert (settings.theme, settings.page_size) == ("lmf-high-contrast", 20)
    assert settings.keys == {"datasets.stats": "t", "app.quit": "ctrl+x"}


def test_settings_file_can_be_named(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('theme = "lmf-light"\n')
    env = env_for(tmp_path, LMF_TUI_SETTINGS=str(other))
    assert settings_path(env) == other
    assert load_settings(env).theme == "lmf-light"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("page_sise = 10\n", r"tui\.toml: unknown setting 'page_sise'; did you mean page_size\?"),
        ("page_size = 3\n", r"tui\.toml: page_size: expected a whole number from 10 to 10000, not 3"),
        ('theme = ""\n', r"tui\.toml: theme: expected a non-empty text"),
        ('[keys]\n"datasets.stat" = "t"\n', r"keys: 'datasets.stat' is not a binding id; did you mean datasets.stats"),
        ('[keys]\n"app.quit" = ""\n', r"keys: app.quit: keys must be a non-empty text"),
        ("theme = \n", r"tui\.toml: "),
    ],
)
def test_bad_file_names_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    write_settings(tmp_path, text)
    with pytest.raises(SettingsError, match=match):
        load_settings(env_for(tmp_path))


def test_bad_environment_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"environment \(LMF_TUI_\*\): page_size"):
        load_settings(env_for(tmp_path, LMF_TUI_PAGE_SIZE="many"))
    with pytest.raises(SettingsError, match="LMF_TUI_KEYS: expected id=keys"):
        load_settings(env_for(tmp_path, LMF_TUI_KEYS="app.quit"))


def test_remember_theme_keeps_other_lines(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '# my settings\npage_size = 50  # small pages\n\n[keys]\ntheme = "not me"\n')
    remember_theme(path, "lmf-light")
    text = path.read_text()
    assert text.startswith('theme = "lmf-light"\n# my settings\npage_size = 50  # small pages\n')
    assert text.endswith('[keys]\ntheme = "not me"\n')
    remember_theme(path, "lmf-dark")
    assert path.read_text().count("theme = ") == 2
    assert 'theme = "lmf-dark"' in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["tui.toml"]  # no temp file left behind


def test_remember_theme_creates_the_file_and_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "lmf-workbench" / "tui.toml"
    remember_theme(path, "lmf-light")
    assert path.read_text() == 'theme = "lmf-light"\n'
    assert load_settings(env_for(tmp_path)).theme == "lmf-light"

"""Settings: defaults < file < LMF_TUI_* variables, clear errors, and the remembered theme written back safely."""

import sys
import tomllib
from pathlib import Path

import platformdirs
import pytest

from lmf_tui.settings import SettingsError, config_home, data_home, load_settings, remember_theme, settings_path


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
    assert settings.images == "auto"


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
        (
            'images = "iterm"\n',
            r"tui\.toml: images: expected one of auto, sixel, kitty, halfcell, unicode, not 'iterm'",
        ),
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
    original = '# my settings\npage_size = 50  # small pages\n\n[keys]  # rebinds\ntheme = "not me"\n'
    path = write_settings(tmp_path, original)
    remember_theme(path, "lmf-light")
    text = path.read_text()
    assert (
        text
        == '# my settings\npage_size = 50  # small pages\ntheme = "lmf-light"\n\n[keys]  # rebinds\ntheme = "not me"\n'
    )
    remember_theme(path, "lmf-dark")
    assert path.read_text() == text.replace("lmf-light", "lmf-dark")  # replaced in place, not added again
    assert tomllib.loads(path.read_text()) == {"page_size": 50, "theme": "lmf-dark", "keys": {"theme": "not me"}}
    assert [p.name for p in path.parent.iterdir()] == ["tui.toml"]  # no temp file left behind


def test_remember_theme_replaces_the_value_only(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '# top\ntheme   =   "lmf-light"   # my pick\n\npage_size = 50\n')
    remember_theme(path, 'odd "name" \\ here')
    assert path.read_text() == '# top\ntheme   =   "odd \\"name\\" \\\\ here"   # my pick\n\npage_size = 50\n'
    assert load_settings(env_for(tmp_path)).theme == 'odd "name" \\ here'


def test_remember_theme_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "theme = \n# half-written by hand\n")
    with pytest.raises(OSError, match="not valid TOML"):
        remember_theme(path, "lmf-light")
    assert path.read_text() == "theme = \n# half-written by hand\n"


def test_remember_theme_creates_the_file_and_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "lmf-workbench" / "tui.toml"
    remember_theme(path, "lmf-light")
    assert path.read_text() == 'theme = "lmf-light"\n'
    assert load_settings(env_for(tmp_path)).theme == "lmf-light"


def test_xdg_variables_win(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert config_home(env) == tmp_path / "cfg" / "lmf-workbench"
    assert data_home(env) == tmp_path / "data" / "lmf-workbench"


def test_without_xdg_variables_the_platform_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": " "}  # empty counts as unset, as the XDG spec says
    assert config_home(env) == platformdirs.user_config_path("lmf-workbench", appauthor=False)
    assert data_home(env) == platformdirs.user_data_path("lmf-workbench", appauthor=False)
    if sys.platform.startswith("linux"):
        assert config_home(env) == tmp_path / ".config" / "lmf-workbench"
        assert data_home({}) == tmp_path / ".local" / "share" / "lmf-workbench"
        assert load_settings({}).path == tmp_path / ".config" / "lmf-workbench" / "tui.toml"


def test_the_image_renderer_is_chosen_in_the_file_or_the_environment(tmp_path: Path) -> None:
    write_settings(tmp_path, 'images = "halfcell"\n')
    assert load_settings(env_for(tmp_path)).images == "halfcell"
    assert load_settings(env_for(tmp_path, LMF_TUI_IMAGES="sixel")).images == "sixel"

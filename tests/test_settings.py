"""Settings: declared once, read from the environment, with clear errors; the pseudonym secret persists."""
import stat

import pytest

from civicties import settings


def test_environment_overrides_default(monkeypatch):
    monkeypatch.delenv("CIVICTIES_MIN_COUNT", raising=False)
    assert settings.get_int("CIVICTIES_MIN_COUNT") == 10
    monkeypatch.setenv("CIVICTIES_MIN_COUNT", "5")
    assert settings.get_int("CIVICTIES_MIN_COUNT") == 5


def test_bad_number_and_unknown_setting(monkeypatch):
    monkeypatch.setenv("CIVICTIES_MIN_COUNT", "ten")
    with pytest.raises(ValueError, match="CIVICTIES_MIN_COUNT must be a whole number"):
        settings.get_int("CIVICTIES_MIN_COUNT")
    with pytest.raises(KeyError):
        settings.get("CIVICTIES_NOPE")


def test_pseudonym_secret_is_made_once_and_kept_private(monkeypatch, tmp_path):
    monkeypatch.delenv("CIVICTIES_PSEUDONYM_SALT", raising=False)
    monkeypatch.setenv("CIVICTIES_DATA_DIR", str(tmp_path))
    first = settings.pseudonym_secret()
    assert len(first) == 64 and settings.pseudonym_secret() == first
    assert stat.S_IMODE((tmp_path / "pseudonym.key").stat().st_mode) == 0o600
    monkeypatch.setenv("CIVICTIES_PSEUDONYM_SALT", "given")
    assert settings.pseudonym_secret() == "given"


def test_every_setting_is_in_the_readme():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert [n for n in settings.SETTINGS if f"`{n}`" not in readme] == []

"""Texts people read, from translation catalogs: one TOML file per language, keys as gettext-style ids.

The catalogs that ship are ``dashboard/locales/en.toml`` and ``es.toml``. A program extends them, or adds a
language, with its own files in ``CIVICTIES_DATA_DIR/locales/<language>.toml`` (same keys; any key it leaves
out keeps the shipped text, and any key a language lacks falls back to English). Nested tables give dotted
keys: ``[survey.consent] agree = "I agree"`` is ``survey.consent.agree``.

    >>> t("survey.next", "es")
    'Siguiente'
    >>> t("survey.step", "en", n=2, total=5)
    'Step 2 of 5'
    >>> long_date("2026-12-14", "es"), long_date("2026-12-14", "en")
    ('14 de diciembre de 2026', 'December 14, 2026')
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from civicties import settings

__all__ = ["t", "long_date", "catalog", "languages", "BUILTIN", "DEFAULT_LANGUAGE", "program_folder", "reload"]

BUILTIN = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"


def program_folder() -> Path:
    """Where a program keeps its own translation files (CIVICTIES_DATA_DIR/locales)."""
    return Path(settings.get("CIVICTIES_DATA_DIR") or "data") / "locales"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


def _read(path: Path) -> dict[str, str]:
    try:
        with open(path, "rb") as f:
            return _flatten(tomllib.load(f))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"the translation file {path} is not valid TOML: {e}") from e


@lru_cache(maxsize=32)
def _catalog(lang: str, folder: str) -> dict[str, str]:
    texts = dict(_read(BUILTIN / f"{DEFAULT_LANGUAGE}.toml"))
    texts.update(_read(Path(folder) / f"{DEFAULT_LANGUAGE}.toml"))
    if lang != DEFAULT_LANGUAGE:
        texts.update(_read(BUILTIN / f"{lang}.toml"))
        texts.update(_read(Path(folder) / f"{lang}.toml"))
    return texts


def catalog(lang: str) -> dict[str, str]:
    """Every text of a language: English, overlaid with the language's shipped and program files."""
    return _catalog(_lang(lang), str(program_folder()))


def reload() -> None:
    """Forget the catalogs read so far (after a program changed its files)."""
    _catalog.cache_clear()


def _lang(lang: str | None) -> str:
    lang = (lang or DEFAULT_LANGUAGE).strip().lower()
    return lang if lang.isalpha() and len(lang) <= 8 else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = DEFAULT_LANGUAGE, /, **params) -> str:
    """The text `key` in `lang` with {placeholders} filled in; the key itself when no catalog has it."""
    text = catalog(_lang(lang)).get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def languages() -> dict[str, str]:
    """Languages with a catalog (shipped or the program's): code -> its own name ('es' -> 'Español')."""
    codes = {p.stem for p in BUILTIN.glob("*.toml")}
    if program_folder().is_dir():
        codes |= {p.stem for p in program_folder().glob("*.toml")}
    return {c: t("language.name", c) for c in sorted(codes, key=lambda c: (c != DEFAULT_LANGUAGE, c))}


def long_date(iso: str, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """A date (YYYY-MM-DD) as people of a language write it; the text as given when it is not a date."""
    try:
        year, month, day = (int(x) for x in str(iso)[:10].split("-"))
        months = t("date.months", lang).split(",")
        return t("date.format", lang, day=day, month=months[month - 1].strip(), year=year)
    except (ValueError, IndexError):
        return str(iso)

"""The dashboard's upload: a source name and replace mode, with a preview of what a load would do, as
`civicties ingest --source NAME --replace --dry-run` (docs/data-format.md)."""
from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import analyses
from dashboard.accounts import Principal
from graph.store import SQLiteStore

TINY = Path(__file__).parent / "data" / "tiny"
ADMIN = Principal(username="a", role="admin")


def _files(drop_person: str | None = None) -> list[tuple[str, bytes]]:
    out = []
    for f in sorted(TINY.glob("*.csv")):
        data = f.read_bytes()
        if drop_person and f.name == "people.csv":
            data = b"\n".join(line for line in data.split(b"\n") if not line.startswith(drop_person.encode() + b","))
        out.append((f.name, data))
    return out


@pytest.fixture
def store(tmp_path, monkeypatch):
    s = SQLiteStore(tmp_path / "store.sqlite")
    monkeypatch.setenv("CIVICTIES_STORE", s.uri)
    monkeypatch.setenv("CIVICTIES_BACKGROUND_ANALYSES", "0")
    analyses._memo.clear()
    from dashboard import data
    data.load_upload(ADMIN, _files(), source_name="roster")
    yield s
    s.close()


def test_a_replacing_upload_removes_who_left_the_roster_and_a_plain_one_keeps_them(store):
    from dashboard import data
    assert "F" in set(store.read().people["person_id"])
    data.load_upload(ADMIN, _files(drop_person="F"), source_name="roster")        # plain: F stays
    assert "F" in set(store.read().people["person_id"])
    preview = data.preview_upload(ADMIN, _files(drop_person="F"), "roster", True)
    person = preview.set_index("kind").loc["Person"]
    assert person["removed"] == 1 and person["added"] == 0
    assert "F" in set(store.read().people["person_id"])                           # a preview writes nothing
    report = data.load_upload(ADMIN, _files(drop_person="F"), source_name="roster", replace=True)
    assert report.source == "roster"
    assert "F" not in set(store.read().people["person_id"])


def test_another_sources_replace_does_not_remove_this_ones_rows(store):
    from dashboard import data
    data.load_upload(ADMIN, _files(drop_person="F"), source_name="visits-log", replace=True)
    assert "F" in set(store.read().people["person_id"])


def test_only_admins_preview_or_load(store):
    from dashboard import data
    coordinator = Principal(username="c", role="coordinator", sites=("S1",))
    with pytest.raises(PermissionError):
        data.preview_upload(coordinator, _files(), "roster", True)
    with pytest.raises(PermissionError):
        data.load_upload(coordinator, _files(), source_name="roster", replace=True)

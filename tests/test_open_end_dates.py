"""9999-12-31, the usual "no end" date, and other dates beyond pandas' nanosecond range (years after 2262):
ingest accepts them as written, and every analysis reads such an end date as open, exactly as a blank one."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from civicties.cli import main

TINY = Path(__file__).parent / "data" / "tiny"


def _package(tmp_path: Path, end: str) -> Path:
    out = tmp_path / f"pkg-{end or 'blank'}"
    shutil.copytree(TINY, out)
    app = (out / "appointments.csv").read_text().splitlines()
    app = [line + end if line.endswith(",") else line for line in app]     # open seats get `end`
    (out / "appointments.csv").write_text("\n".join(app) + "\n")
    return out


@pytest.mark.parametrize("end", ["9999-12-31", "2300-01-01"])
def test_a_far_end_date_reads_as_an_open_seat_everywhere(tmp_path, capsys, end):
    results = {}
    for value in ("", end):
        pkg = _package(tmp_path, value)
        store = tmp_path / f"{value or 'blank'}.sqlite"
        assert main(["ingest", str(pkg), "--store", str(store), "--json"]) == 0
        capsys.readouterr()
        assert main(["report", "--json", "--store", str(store)]) == 0
        report = json.loads(capsys.readouterr().out)
        report.pop("generated_at", None)
        results[value] = report
        if value:
            from graph.store import SQLiteStore
            with SQLiteStore(store) as s:
                assert end in set(s.read().appointments["end_date"].dropna())      # stored as written
    assert json.dumps(results[""], sort_keys=True, default=str) == json.dumps(results[end], sort_keys=True,
                                                                                  default=str)

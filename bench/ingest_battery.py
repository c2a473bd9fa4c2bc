"""The hostile-package battery of issue 12: build every faulty or hostile package in a temporary folder, run
`civicties` on it in a subprocess (with a timeout), and check the outcome: refused with a message that says what and
where (exit code, words in the message, no traceback), or loaded without losing or changing anything. Prints one
line per case (seconds, peak MB of the subprocess) and "N of M handled". Takes a minute or two.

    .venv/bin/python bench/ingest_battery.py [-k WORD] [--timeout 60]

The limits' cases also show what refusing costs (issue 12 asks for under 2 s and 300 MB; the figures include
starting Python and importing pandas, about 1 s here).
"""
from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from spreadsheets import row, workbook, write_xlsx  # noqa: E402  (the hand-made files the tests use too)


@dataclass
class Case:
    name: str
    build: Callable[[Path], list]             # folder -> the civicties arguments (a store is added for ingest)
    code: int                                 # the exit code expected
    words: tuple = ()                         # words the output must contain
    check: Callable[[Path], str | None] | None = None     # folder -> None when the store is right, else why not
    env: dict = field(default_factory=dict)
    interrupt_after: float | None = None      # send Ctrl-C (SIGINT) after this many seconds
    absent: tuple = ("Traceback",)            # words the output must not contain


# --- builders -----------------------------------------------------------------------------------------------

def csvs(folder: Path, **tables: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / f"{name}.csv").write_bytes(data)
    return folder


def big_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def ingest(pkg: Path) -> list:
    return ["ingest", str(pkg)]


# --- checks on the store (run in this process) ------------------------------------------------------------------

def store_of(folder: Path):
    from graph.store import SQLiteStore
    return SQLiteStore(folder / "store.sqlite", create=False)


def people_are(expected: dict[str, dict]):
    def check(folder: Path) -> str | None:
        with store_of(folder) as s:
            people = s.read().people.set_index("person_id")
        for pid, cols in expected.items():
            if pid not in people.index:
                return f"{pid!r} missing"
            for c, v in cols.items():
                if people.at[pid, c] != v:
                    return f"{pid!r}.{c} is {people.at[pid, c]!r}, not {v!r}"
        return None
    return check


def counts_are(**expected):
    def check(folder: Path) -> str | None:
        with store_of(folder) as s:
            counts = s.counts()
        wrong = {k: counts.get(k, 0) for k, v in expected.items() if counts.get(k, 0) != v}
        return f"counts {wrong}, expected {expected}" if wrong else None
    return check


def nothing_created(*names: str):
    def check(folder: Path) -> str | None:
        made = [n for n in names if (folder / n).exists()]
        return f"created {made}" if made else None
    return check


def store_empty_or_absent(folder: Path) -> str | None:
    if not (folder / "store.sqlite").exists():
        return None
    with store_of(folder) as s:
        return None if not s.counts() else f"the store holds {s.counts()}"


def output_small(limit_kb: int):
    def check(folder: Path) -> str | None:
        size = (folder / "output.txt").stat().st_size
        return None if size < limit_kb * 1024 else f"printed {size // 1024} KB"
    return check


# --- the cases ----------------------------------------------------------------------------------------------

def _replace_two_steps(d: Path) -> list:
    pkg = csvs(d / "roster", people="person_id\nP1\nP2\n")
    subprocess.run([sys.executable, "-m", "civicties.cli", "ingest", str(pkg), "--store", str(d / "store.sqlite")],
                   check=True, capture_output=True, cwd=ROOT)
    csvs(d / "roster", people="person_id\nP1\n")
    return ["ingest", str(pkg), "--replace"]


def _interrupted_load(d: Path) -> list:
    big_csv(csvs(d / "pkg") / "people.csv", ["person_id", "name", "role"],
            ((f"P{i:07d}", f"Person {i}", "parent") for i in range(600_000)))
    return ingest(d / "pkg")


def _zip_bomb(d: Path) -> list:
    chunk = b"<row/>" * 100_000

    def body():
        for _ in range(500):                              # 300 MB of XML, about 0.3 MB compressed
            yield chunk
    return ingest(write_xlsx(d / "bomb.xlsx", {"people": body}))


def cases() -> list[Case]:
    us = "\x1f"
    return [
        # 1. keys unambiguous
        Case("unit separator in ids (refused: invisible)", lambda d: ingest(csvs(
            d / "p", people=f"person_id\nP1{us}X\nP1\n", events=f"event_id\nE1\nX{us}E1\n",
            attendance=f"person_id,event_id\nP1{us}X,E1\nP1,X{us}E1\n")), 1, ("invisible character", "U+001F")),
        Case("unit separator in tie text (both kept)", lambda d: ingest(csvs(
            d / "p", people="person_id\nP1\nP2\n",
            ties=f"from_person_id,to_person_id,tie_type,wave\nP1,P2,a{us}b,c\nP1,P2,a,b{us}c\n")), 0,
             ("invisible control character",), counts_are(REPORTED_TIE=2)),
        # 2-6. nothing lost or changed
        Case("NUL byte in a cell", lambda d: ingest(csvs(d / "p", people=b"person_id,name\nP1,Ana\0Smith\n")), 1,
             ("NUL byte", "row 2")),
        Case("a column named twice", lambda d: ingest(csvs(d / "p", people="person_id,name,name\nP1,A,B\n")), 1,
             ("appears twice",)),
        Case("an extra column named id", lambda d: ingest(csvs(d / "p", people="person_id,id\nP1,legacy-7\n")), 0,
             (), people_are({"P1": {"id": "legacy-7"}})),
        Case("formula without saved result", lambda d: ingest(write_xlsx(d / "b.xlsx", {"people": row(
            1, "person_id", "name") + '<row r="2"><c r="A2" t="inlineStr"><is><t>P1</t></is></c>'
            '<c r="B2"><f>UPPER("ana")</f></c></row>'})), 1, ("formula", "never saved", "row 2, column name")),
        Case("formula in an id", lambda d: ingest(write_xlsx(d / "b.xlsx", {"people": row(1, "person_id")
                                                   + '<row r="2"><c r="A2"><f>"P"&amp;1</f></c></row>'})), 1,
             ("formula",), absent=("Traceback", "required value is empty")),
        Case("formula with saved result", lambda d: ingest(write_xlsx(d / "b.xlsx", {"people": row(1, "person_id", "name")
             + '<row r="2"><c r="A2" t="inlineStr"><is><t>P1</t></is></c><c r="B2" t="str"><f>UPPER("ana")</f>'
               '<v>ANA</v></c></row>'})), 0, (), people_are({"P1": {"name": "ANA"}})),
        Case("two sheets for one table", lambda d: ingest(workbook(d / "b.xlsx", {
            "people": [["person_id"], ["P1"]], "People ": [["person_id"], ["P2"]]})), 1, ("two sheets",)),
        Case("control character in text (note)", lambda d: ingest(csvs(d / "p", people="person_id,name\nP1,A\x07na\n")),
             0, ("invisible control character",), people_are({"P1": {"name": "A\x07na"}})),
        Case("look-alike id (note)", lambda d: ingest(csvs(d / "p", people="person_id\nP000001\n\u0420000001\n")), 0,
             ("looks like 'P000001'",), counts_are(Person=2)),
        # 7-8. valid data accepted
        Case("Excel date cells", lambda d: ingest(workbook(d / "b.xlsx", {
            "people": [["person_id"], ["P1"]],
            "cohorts": [["cohort_id", "start_date", "end_date"], ["C1", _dt(2024, 9, 15), _dt(2025, 6, 1)]]})),
             0, (), _cohort_dates("2024-09-15", "2025-06-01")),
        Case("open end date 9999-12-31", lambda d: ingest(csvs(d / "p", people="person_id\nP1\n",
                                                               bodies="body_id\nB1\n",
                                                               appointments="person_id,body_id,start_date,end_date\n"
                                                                            "P1,B1,2024-01-01,9999-12-31\n")),
             0, (), counts_are(APPOINTED_TO=1)),
        # 9. memory and time
        Case("one cell at XFD1048576 (declared range)", lambda d: ingest(write_xlsx(
            d / "b.xlsx", {"people": row(1, "person_id") + row(2, "P1")}, dimensions={"people": "A1:XFD1048576"})), 1,
             ("CIVICTIES_MAX_COLUMNS",)),
        Case("one cell at XFD1048576 (no declared range)", lambda d: ingest(write_xlsx(d / "b.xlsx", {
            "people": row(1, "person_id") + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is>'
                                           '</c></row>'})), 1, ("CIVICTIES_MAX_COLUMNS",)),
        Case("a sheet expanding to 300 MB (zip bomb)", _zip_bomb, 1, ("CIVICTIES_MAX_XLSX",)),
        Case("a 20 MB cell", lambda d: ingest(csvs(d / "p", people="person_id,name\nP1," + "x" * 20_000_000 + "\n")),
             1, ("CIVICTIES_MAX_CELL_CHARS",)),
        Case("people.csv linked to /dev/zero", lambda d: (csvs(d / "p"), (d / "p" / "people.csv").symlink_to(
            "/dev/zero"), ingest(d / "p"))[-1], 1, ("link",)),
        Case("people.csv is a pipe", lambda d: (csvs(d / "p"), os.mkfifo(d / "p" / "people.csv"), ingest(d / "p"))[-1],
             1, ("not a regular file",)),
        Case("a file over the size limit", lambda d: ingest(csvs(d / "p", people="person_id\n" + "P1\n" * 600_000)),
             1, ("CIVICTIES_MAX_FILE_MB",), env={"CIVICTIES_MAX_FILE_MB": "1"}),
        Case("301 columns", lambda d: ingest(csvs(d / "p", people=",".join(["person_id"] + [f"c{i}" for i in range(300)])
                                                  + "\nP1\n")), 1, ("CIVICTIES_MAX_COLUMNS",)),
        # 10. many problems
        Case("200k duplicate ids (report capped)", lambda d: (big_csv(csvs(d / "p") / "people.csv", ["person_id"],
                                                                      ((f"P{i // 2}",) for i in range(200_000))),
                                                              ingest(d / "p"))[-1], 1,
             ("100,000 problem(s)", "more rows like this"), output_small(50)),
        Case("200k + 200k garbage rows (report capped)", lambda d: (
            big_csv(csvs(d / "p") / "people.csv", ["person_id", "role", "site_id"],
                    ((f"P{i}", "wizard", f"S{i}") for i in range(200_000))),
            big_csv(d / "p" / "ties.csv", ["from_person_id", "to_person_id", "observed_on"],
                    ((f"Q{i}", f"R{i}", "2024-13-45") for i in range(200_000))), ingest(d / "p"))[-1], 1,
             ("more rows like this",), output_small(50)),
        # 11. messages
        Case("people.csv is a folder", lambda d: ((d / "p" / "people.csv").mkdir(parents=True), ingest(d / "p"))[-1],
             1, ("is a folder",)),
        Case("Ctrl-C during a load", _interrupted_load, 130, ("interrupted",), store_empty_or_absent,
             interrupt_after=5),
        # 12. row numbers
        Case("blank lines before a bad value", lambda d: ingest(csvs(d / "p", people="person_id,role\n\nP1,parent\n\n"
                                                                                     "\nP2,wizard\n")), 1,
             ("row 6, column role",)),
        Case("an unbalanced quote", lambda d: ingest(csvs(d / "p", people='person_id,name\nP1,Ana\nP2,"Bo\nP3,Cy\n')),
             1, ("row 3", "never closed")),
        Case("a Latin-1 byte", lambda d: ingest(csvs(d / "p", people="person_id,name\nP1,Caf\xe9\n".encode("latin-1"))),
             1, ("row 2", "0xE9", "UTF-8")),
        # 13. messages that say what is wrong
        Case("a workbook without a people sheet", lambda d: ingest(workbook(d / "b.xlsx", {
            "ties": [["from_person_id"], ["P1"]]})), 1, ("no sheet named 'people'",), absent=("people.csv",)),
        Case("a password-protected workbook", lambda d: ingest(_write(d / "b.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
                                                                      + bytes(4000))), 1, ("password-protected",)),
        Case("check does not claim a write", lambda d: ["check", str(csvs(d / "p", people="person_id,role\nP1,x\n"))],
             1, ("not an allowed value",), absent=("Traceback", "nothing was written")),
        # 14-15. stores created by mistake
        Case("a rejected ingest into a new store", lambda d: ["ingest", str(csvs(d / "p", people="person_id,role\nP1,x"
                                                                                 "\n")), "--store",
                                                              f"sqlite:///{d}/new/store.sqlite"], 1, (),
             nothing_created("new")),
        Case("metrics on a mistyped store", lambda d: ["metrics", "--store", f"sqlite:///{d}/typo/store.sqlite"], 3,
             ("no SQLite store at",), nothing_created("typo")),
        # updates that also remove
        Case("--replace drops a withdrawn parent", _replace_two_steps, 0, ("removed",), counts_are(Person=1)),
        # other hostile input
        Case("injection values stored verbatim", lambda d: ingest(csvs(
            d / "p", people="person_id,name\nP1,\"'); DROP TABLE nodes; --\"\nP2,\"}) DETACH DELETE n //\"\n")), 0, (),
             people_are({"P1": {"name": "'); DROP TABLE nodes; --"}, "P2": {"name": "}) DETACH DELETE n //"}})),
        Case("an empty people.csv", lambda d: ingest(csvs(d / "p", people="")), 1, ("empty",)),
        Case("a header only", lambda d: ingest(csvs(d / "p", people="person_id,name\n")), 0, (), counts_are(Person=0)),
        Case("CRLF line ends and a BOM", lambda d: ingest(csvs(d / "p", people="\ufeffperson_id,name\r\nP1,Ana\r\n")),
             0, (), people_are({"P1": {"name": "Ana"}})),
        Case("text renamed .xlsx", lambda d: ingest(_write(d / "b.xlsx", b"person_id\nP1\n")), 1,
             ("not an .xlsx workbook",)),
        Case("a package that does not exist", lambda d: ingest(d / "nowhere"), 1, ("does not exist",)),
    ]


def _dt(*args):
    from datetime import datetime
    return datetime(*args)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _cohort_dates(start: str, end: str):
    def check(folder: Path) -> str | None:
        with store_of(folder) as s:
            got = s.read().cohorts[["start_date", "end_date"]].values.tolist()
        return None if got == [[start, end]] else f"dates {got}"
    return check


# --- running -------------------------------------------------------------------------------------------------

def run_case(case: Case, folder: Path, timeout: float) -> tuple[bool, str, float, int]:
    args = case.build(folder)
    if args[0] == "ingest" and "--store" not in args:
        args += ["--store", str(folder / "store.sqlite")]
    env = dict(os.environ, **case.env)
    env.pop("CIVICTIES_STORE", None)
    env["CIVICTIES_DATA_DIR"] = str(folder / "data")
    out_path = folder / "output.txt"
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "civicties.cli", *args], stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env, cwd=folder)
        deadline, interrupted = time.monotonic() + timeout, False
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if case.interrupt_after and not interrupted and time.perf_counter() - t0 > case.interrupt_after:
                p.send_signal(signal.SIGINT)
                interrupted = True
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                return False, f"timed out after {timeout} s", time.perf_counter() - t0, usage.ru_maxrss // 1024
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(encoding="utf-8", errors="replace")
    why = []
    if code != case.code:
        why.append(f"exit {code}, expected {case.code}")
    why += [f"no {w!r} in the output" for w in case.words if w not in text]
    why += [f"{w!r} in the output" for w in case.absent if w in text]
    if not why and case.check:
        problem = case.check(folder)
        if problem:
            why.append(problem)
    if why:
        why.append("output: " + " | ".join(text.strip().splitlines()[:3])[:300])
    return not why, "; ".join(why), seconds, usage.ru_maxrss // 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", default="", help="only the cases whose name contains this")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    chosen = [c for c in cases() if args.k.lower() in c.name.lower()]
    handled = 0
    with tempfile.TemporaryDirectory(prefix="civicties-battery-") as tmp:
        for i, case in enumerate(chosen, 1):
            folder = Path(tmp) / f"case{i:02d}"
            folder.mkdir()
            try:
                ok, why, seconds, peak = run_case(case, folder, args.timeout)
            except Exception as e:  # noqa: BLE001 - a battery reports a broken case and goes on
                ok, why, seconds, peak = False, f"the case itself failed: {type(e).__name__}: {e}", 0.0, 0
            handled += ok
            print(f"{'ok  ' if ok else 'FAIL'} {case.name:<44} {seconds:6.2f} s {peak:6d} MB"
                  + ("" if ok else f"  {why}"), flush=True)
    print(f"{handled} of {len(chosen)} handled")
    return 0 if handled == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())

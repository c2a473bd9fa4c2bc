"""Time and peak memory of `civicties check` on two large faulty packages (issue 12, item 10).

* dup:     people.csv with ROWS rows in which every person_id appears twice (ROWS/2 duplicate-id problems);
* garbage: people.csv and ties.csv with ROWS rows each, every row wrong in several ways (an unknown role and
           consent, a reference to a site that does not exist, an impossible date, a tie from nobody known).

Each check runs in a fresh subprocess; ``peak MB`` is that process's ru_maxrss (os.wait4), ``output KB`` what it
printed. Point PYTHONPATH at another checkout to measure other code (e.g. the code before a change):

    .venv/bin/python bench/bench_ingest_validate.py [--rows 200000] [--pythonpath DIR]
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_dup(folder: Path, rows: int) -> None:
    folder.mkdir(parents=True)
    with open(folder / "people.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "name", "role"])
        for i in range(rows):
            w.writerow([f"P{i // 2:07d}", f"Person {i}", "parent"])


def write_garbage(folder: Path, rows: int) -> None:
    folder.mkdir(parents=True)
    with open(folder / "people.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "name", "role", "consent", "site_id"])
        for i in range(rows):
            w.writerow([f"P{i:07d}", f"x{i}", "wizard", "maybe", f"NOSITE{i}"])
    with open(folder / "ties.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["from_person_id", "to_person_id", "to_name", "tie_type", "wave", "observed_on"])
        for i in range(rows):
            w.writerow([f"Q{i:07d}", f"R{i:07d}", "", "friend", "pre", "2024-13-45"])


def run_check(package: Path, pythonpath: str, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    code = f"import sys; sys.path.insert(0, {pythonpath!r}); from civicties.cli import main; sys.exit(main())"
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-c", code, "check", str(package)], stdout=out, stderr=out, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        size = out.tell()
        out.seek(max(0, size - 300))
        tail = out.read().decode("utf-8", "replace").strip().splitlines()[-1:]
    return {"seconds": round(seconds, 1), "peak_mb": round(usage.ru_maxrss / 1024), "output_kb": round(size / 1024),
            "exit": p.returncode, "last_line": tail[0][:100] if tail else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--pythonpath", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, writer in (("dup", write_dup), ("garbage", write_garbage)):
            pkg = Path(tmp) / name
            writer(pkg, args.rows)
            r = run_check(pkg, args.pythonpath, args.timeout)
            print(f"{name:8} rows {args.rows:>8,}  {r['seconds']:>6} s  peak {r['peak_mb']:>5} MB  "
                  f"output {r['output_kb']:>7,} KB  exit {r['exit']}  | {r['last_line']}", flush=True)


if __name__ == "__main__":
    main()

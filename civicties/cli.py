"""The `civicties` command line: demo, check, ingest, metrics, report, export, reset, erase, users, audit.

Whoever can run it against a store (read the SQLite file, hold the Neo4j credentials) can read every record
anyway, so the command line acts as an admin; what it changes or exports goes to the audit log as `cli:<user>`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from dashboard.accounts import AccountError
from graph.errors import StoreError
from graph.store import SQLiteStore, open_store
from ingest.problems import IngestError
from queries.errors import QueryError

__all__ = ["main"]


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None, metavar="URI",
                   help="sqlite:///path.sqlite (or just the path) or neo4j://host:port (default: CIVICTIES_STORE, NEO4J_URI, "
                        "else a SQLite file in CIVICTIES_DATA_DIR)")


def _cmd_ingest(args) -> int:
    from dashboard import accounts
    from graph.store import NoStoreError
    from ingest.load import check_package, default_source_name, load_package
    if args.replace and not args.source and not args.json:
        print(f"note: replacing what came from the source {default_source_name(args.package)!r} (the package's "
              f"name; --source NAME names another)", file=sys.stderr)
    t0 = time.perf_counter()
    pkg = check_package(args.package)           # before the store is opened: a bad package creates nothing
    if not pkg.ok:
        raise IngestError(pkg.problems, pkg.problem_count)
    source = args.source or default_source_name(args.package)
    if args.dry_run:
        try:
            with open_store(args.store, create=False) as store:
                report = load_package(pkg, store, source_name=source, replace=args.replace, dry_run=True)
                label = store.label
        except NoStoreError as e:               # nothing there yet: everything would be added
            report, label = _dry_run_on_nothing(pkg, source), f"a store that does not exist yet ({e})"
        return _print_load(args, report, label, t0)
    with open_store(args.store) as store:
        report = load_package(pkg, store, source_name=source, replace=args.replace)
        accounts.sync_demo_accounts(store)          # real data: demo sign-in off, demo accounts disabled
        accounts.audit(store, accounts.cli_actor(), "data_load", role="admin", rows=sum(report.rows.values()),
                       detail=f"civicties ingest (source {source}{', replace' if args.replace else ''})")
        from civicties.analyse_cli import data_changed, run_for
        data_changed(store)                         # every app process recomputes its pages' analyses
        if args.analyse:
            run_for(store, quiet=args.json, out=sys.stderr if args.json else sys.stdout)
        first_admin = not accounts.has_admin(store)
        if first_admin and sys.stdin.isatty() and not args.json:
            print("This store has data but no admin account yet: create the first one now.")
            _prompt_first_admin(store)
            first_admin = False
        label = store.label
    _print_load(args, report, label, t0)
    if first_admin:
        print("note: no admin account yet; create one with `civicties users add NAME --role admin` "
              "before opening the dashboard", file=sys.stderr)
    return 0


def _dry_run_on_nothing(pkg, source: str):
    from graph.model import to_graph_records
    from ingest.load import LoadReport
    records = to_graph_records(pkg.tables)
    counts = {label: len(nodes) for label, nodes in records.nodes.items()}
    for e in records.edges:
        counts[e.rel_type] = counts.get(e.rel_type, 0) + 1
    changes = {kind: {"added": n, "changed": 0, "unchanged": 0, "removed": 0, "kept": 0}
               for kind, n in sorted(counts.items()) if n}
    return LoadReport(rows=pkg.row_counts(), written={"nodes": 0, "relationships": 0}, warnings=pkg.warnings,
                      unmatched_names=pkg.unmatched_names, source=source, changes=changes, dry_run=True,
                      warning_count=pkg.warning_count)


def _print_load(args, report, label: str, t0: float) -> int:
    out = report.as_dict() | {"store": label, "seconds": round(time.perf_counter() - t0, 2)}
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if report.dry_run:
        print(f"Dry run: loading {sum(report.rows.values())} rows as source {report.source!r} into {label} "
              f"would change (nothing was written):")
    else:
        print(f"Loaded {sum(report.rows.values())} rows as source {report.source!r} into {label} "
              f"({report.written['nodes']} nodes, {report.written['relationships']} relationships) "
              f"in {out['seconds']} s.")
    if report.changes is not None:
        if not report.changes:
            print("  nothing: the store already holds exactly this")
        for kind, c in report.changes.items():
            print(f"  {kind:<14} {c['added']:>8,} added {c['changed']:>8,} changed {c['unchanged']:>8,} unchanged "
                  f"{c['removed']:>8,} removed" + (f" {c['kept']:>6,} kept (still used by other sources' rows)"
                                                  if c["kept"] else ""))
    for w in report.warnings[:20]:
        print(f"  note: {w}")
    if report.warning_count > 20:
        print(f"  ... and {report.warning_count - 20} more notes")
    return 0


def _read_password(args, prompt: str = "Password") -> str:
    """A password from standard input (--password-stdin, for scripts) or typed twice at a hidden prompt;
    never from the command line, where other users and the shell history would see it."""
    import getpass
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise _UsageError("no terminal to type a password at: pipe it in with --password-stdin, or use "
                          "--generate-password")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise _UsageError("the two passwords differ; nothing was changed")
    return first


class _UsageError(Exception):
    """A command used the wrong way (exit code 2)."""


def _prompt_first_admin(store) -> None:
    from dashboard import accounts
    while True:
        name = input("Admin username: ").strip()
        try:
            password = _read_password(argparse.Namespace(), "Password for " + name)
            accounts.add_account(store, name, "admin", password=password, actor=accounts.cli_actor())
        except (accounts.AccountError, _UsageError) as e:
            print(f"error: {e}", file=sys.stderr)
            continue
        print(f"Created the admin account {name.lower()}.")
        return


def _sites(text: str | None) -> list[str] | None:
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def _cmd_users(args) -> int:
    from dashboard import accounts
    actor = accounts.cli_actor()
    # only adding an account may make a store (the first admin before any data); the rest need one
    with open_store(args.store, create=args.action == "add") as store:
        if args.action == "list":
            rows = [{k: a.get(k) for k in ("username", "role", "sites", "email", "disabled", "demo", "updated_at")}
                    | {"password": bool(a.get("password_hash"))} for a in store.list_accounts()]
            if args.json:
                print(json.dumps(rows, indent=2, ensure_ascii=False))
            elif not rows:
                print("No accounts yet: civicties users add NAME --role admin")
            for r in ([] if args.json else rows):
                flags = ", ".join(f for f in ("disabled" if r["disabled"] else "", "demo" if r["demo"] else "",
                                              "" if r["password"] else "no password") if f)
                print(f"{r['username']:<24} {r['role']:<12} sites {','.join(r['sites'] or []):<16}"
                      f"{r['email'] or '':<28} {flags}")
            return 0
        if args.action == "add":
            password = None
            if args.generate_password:
                password = accounts.new_password()
            elif not args.sso_only:
                password = _read_password(args)
            accounts.add_account(store, args.username, args.role, sites=_sites(args.sites) or [],
                                 password=password, email=args.email, actor=actor)
            print(f"Added {args.username.strip().lower()} ({args.role}).")
            if args.generate_password:
                print(f"Password (shown once, give it to them privately): {password}")
            return 0
        if args.action in ("disable", "enable"):
            accounts.update_account(store, args.username, actor=actor, disabled=args.action == "disable")
        elif args.action == "set-role":
            accounts.update_account(store, args.username, actor=actor, role=args.role,
                                    sites=_sites(args.sites))
        elif args.action == "set-sites":
            accounts.update_account(store, args.username, actor=actor, sites=_sites(args.sites))
        elif args.action == "set-email":
            accounts.update_account(store, args.username, actor=actor, email=args.email)
        elif args.action == "reset-password":
            password = accounts.new_password() if args.generate_password else _read_password(args)
            accounts.set_password(store, args.username, password, actor=actor)
            if args.generate_password:
                print(f"New password (shown once): {password}")
        print(f"Done: {args.action} {args.username.strip().lower()}.")
    return 0


def _cmd_audit(args) -> int:
    from dashboard import accounts
    with open_store(args.store, create=False) as store:
        entries = accounts.read_audit(store, since=args.since, action=args.action, actor=args.user, limit=args.limit)
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0
    for e in entries:
        print(f"{e['at'][:19].replace('T', ' ')}  {e.get('actor') or '':<24} {e['action']:<16} "
              f"{e.get('target') or '':<20} {'' if e.get('rows') is None else e['rows']:>7}  "
              f"{e.get('source') or '':<15} {e.get('detail') or ''}")
    return 0


def _cmd_check(args) -> int:
    from ingest.load import check_package
    pkg = check_package(args.package)
    if args.json:
        print(json.dumps({"ok": pkg.ok, "rows": pkg.row_counts(), "problem_count": pkg.problem_count,
                          "problems": [p.as_dict() for p in pkg.problems],
                          "warnings": [w.as_dict() for w in pkg.warnings]}, indent=2, ensure_ascii=False))
    else:
        for p in pkg.problems:
            print(f"problem: {p}")
        for w in pkg.warnings:
            print(f"note: {w}")
        print("valid" if pkg.ok else f"{pkg.problem_count:,} problem(s)")
    return 0 if pkg.ok else 1


def _read(args):
    """The whole dataset in the store the command names (never creates one)."""
    with open_store(args.store, create=False) as store:
        return store.read()


def _cmd_metrics(args) -> int:
    from queries.summary import summary_metrics
    ds = _read(args)
    result = summary_metrics(ds, network=args.network, attributes=tuple(args.attribute), directed=args.directed)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False, sort_keys=True))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


def _cmd_report(args) -> int:
    from queries.report import full_report
    ds = _read(args)
    from pathlib import Path

    from civicties import settings
    from queries.ladders import available_ladders
    result = full_report(ds, attributes=tuple(args.attribute), n_permutations=args.permutations, seed=args.seed,
                         inactive_days=args.inactive_days,    # programs' own ladders beside the default store
                         ladder_set=available_ladders(Path(settings.get("CIVICTIES_DATA_DIR") or "data") / "ladders"))
    text = json.dumps(result, indent=2 if args.json else None, ensure_ascii=False, sort_keys=True)
    _audit_export(args, "report", len(ds.people))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"Wrote the report to {args.out}")
    else:
        print(text)
    return 0


def _cmd_export(args) -> int:
    from queries import export
    from queries.network import coattendance_network, tie_network
    ds = _read(args)
    if args.format == "csv":
        export.person_metrics_csv(ds, args.out)
    else:
        G = coattendance_network(ds) if args.network == "co-attendance" else tie_network(ds)
        (export.to_graphml if args.format == "graphml" else export.to_gexf)(G, args.out)
    _audit_export(args, f"export {args.format}", len(ds.people))
    print(f"Wrote {args.out}")
    return 0


def _audit_export(args, what: str, rows: int) -> None:
    from dashboard import accounts
    with open_store(args.store, create=False) as store:
        accounts.audit(store, accounts.cli_actor(), "export", role="admin", target=what, rows=rows)


def _cmd_demo(args) -> int:
    from ingest.demo import write_demo
    counts = write_demo(args.out, parents=args.parents, seed=args.seed)
    print(f"Wrote a synthetic demo package to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _cmd_reset(args) -> int:
    if not args.yes:
        print("reset deletes everything in the store; add --yes to confirm", file=sys.stderr)
        return 2
    with open_store(args.store, create=False) as store:
        store.reset()
        from civicties.analyse_cli import forget_results
        forget_results(store)
        print(f"Emptied {store.label}")
    return 0


def _cmd_erase(args) -> int:
    from dashboard import accounts
    from graph.store import UnknownIdError
    people = [i for i in args.person if i.strip()]
    families = [i for i in args.family if i.strip()]
    if not people and not families:
        raise _UsageError("name whom to erase: --person ID or --family ID (each repeatable); nothing was changed")
    if not args.yes and not args.dry_run:
        raise _UsageError("erase removes these people for good, with everything of theirs; add --yes to confirm "
                          "(or --dry-run to see what it would remove); nothing was changed")
    with open_store(args.store, create=False) as store:
        members = list(people)
        if families and not args.dry_run:          # whom a family's erasure takes, for what is kept beside it
            ds = store.read()
            members += [str(p) for p in ds.people.loc[ds.people["family_id"].isin(families), "person_id"]]
        try:
            removed = store.erase(people, families, dry_run=args.dry_run)
        except UnknownIdError as e:
            raise _UsageError(str(e)) from e
        rows = sum(removed.values())
        if not args.dry_run:
            from civicties.analyse_cli import forget_results
            from dashboard.survey import erase_people as forget_survey
            from graph.matches import forget_people as forget_matches
            forget_results(store)            # stored analyses may hold the erased people's names
            forget_matches(store, members)   # match candidates and decisions about them
            forget_survey(store, members)    # their survey invitations and drafts
            # that an erasure happened and how big it was: never whom (no id, no name)
            target = " and ".join(kind for kind, ids in (("person", people), ("family", families)) if ids)
            accounts.audit(store, accounts.cli_actor(), "erasure", role="admin", target=target, rows=rows,
                           detail="civicties erase")
        label = store.label
        sqlite = isinstance(store, SQLiteStore)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "store": label, "rows": rows, "removed": removed}, indent=2))
        return 0
    kinds = ", ".join(f"{kind} {n}" for kind, n in removed.items())
    if args.dry_run:
        print(f"Dry run: erasing would remove {rows} rows from {label} ({kinds}). Nothing was changed.")
        return 0
    people_n, families_n = removed.get("Person", 0), removed.get("Family", 0)
    print(f"Erased {people_n} {'person' if people_n == 1 else 'people'} and {families_n} "
          f"{'family' if families_n == 1 else 'families'} from {label}: {rows} rows removed ({kinds}).")
    if sqlite:
        print("The space they took in the SQLite file and its WAL was overwritten (secure_delete, VACUUM).")
    else:
        print("Neo4j keeps its transaction logs for a while (db.tx_log.rotation.retention_policy): see "
              "docs/erasure.md.")
    print("Open dashboards show the change on their next page run. Exports already downloaded and backups still "
          "hold them (docs/erasure.md).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicties", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="validate a package and load it into the store (all or nothing)")
    p.add_argument("package", help="a folder of CSV files or an .xlsx workbook")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="print the load report as JSON")
    p.add_argument("--source", metavar="NAME", help="the source the rows are marked with (default: the folder or "
                                                    "workbook name); --replace replaces what this source loaded")
    p.add_argument("--analyse", action="store_true", help="then compute and store the dashboard's analyses "
                   "(as `civicties analyse`), so that pages open without computing")
    p.add_argument("--replace", action="store_true", help="also remove what this source loaded before and the "
                                                          "package no longer holds (same transaction)")
    p.add_argument("--dry-run", action="store_true", help="print what would be added, changed and removed per "
                                                          "label and relationship type; write nothing")
    p.set_defaults(func=_cmd_ingest)
    p = sub.add_parser("check", help="validate a package without loading it")
    p.add_argument("package")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("metrics", help="headline network metrics of the loaded data")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (docs/metrics.md)")
    p.add_argument("--network", choices=["ties", "co-attendance"], default="ties")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME",
                   help="also compute the E-I index for this people column (repeatable)")
    p.add_argument("--directed", action="store_true", help="E-I on the directed tie network")
    p.set_defaults(func=_cmd_metrics)
    p = sub.add_parser("report", help="the full analysis: homophily with significance, tie formation, brokerage, "
                                      "communities, outreach, pipeline to seats, home visits (docs/report.md)")
    _store_arg(p)
    p.add_argument("--json", action="store_true", help="pretty-print the JSON (it is JSON either way)")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME",
                   help="also analyse homophily on this people column (repeatable)")
    p.add_argument("--permutations", type=int, default=1000, help="label permutations per significance test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inactive-days", type=int, default=180, help="outreach: days without activity to flag")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("export", help="export the network for Gephi (GraphML, GEXF) or per-person metrics (CSV)")
    _store_arg(p)
    p.add_argument("format", choices=["graphml", "gexf", "csv"])
    p.add_argument("out", help="file to write")
    p.add_argument("--network", choices=["ties", "co-attendance"], default="ties")
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("demo", help="write the synthetic demo package")
    p.add_argument("out", help="folder to write the CSV files into")
    p.add_argument("--parents", type=int, default=600)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("reset", help="delete everything in a store")
    _store_arg(p)
    p.add_argument("--yes", action="store_true", help="confirm")
    p.set_defaults(func=_cmd_reset)
    p = sub.add_parser("erase", help="remove people, or whole families, with everything of theirs, on request "
                                     "(docs/erasure.md)")
    _store_arg(p)
    p.add_argument("--person", action="append", default=[], metavar="ID",
                   help="people.person_id of someone to erase (repeatable)")
    p.add_argument("--family", action="append", default=[], metavar="ID",
                   help="people.family_id of a family to erase with all its members (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="count what would be removed; change nothing")
    p.add_argument("--yes", action="store_true", help="confirm: erase for good")
    p.add_argument("--json", action="store_true", help="print what was removed as JSON")
    p.set_defaults(func=_cmd_erase)
    p = sub.add_parser("users", help="dashboard accounts: add, list, disable, enable, set-role, set-sites, "
                                     "set-email, reset-password (docs/accounts.md)")
    users = p.add_subparsers(dest="action", required=True)
    q = users.add_parser("list", help="every account, its role and sites")
    _store_arg(q)
    q.add_argument("--json", action="store_true")
    q = users.add_parser("add", help="create an account (asks for its password twice)")
    q.add_argument("username")
    q.add_argument("--role", required=True, choices=["admin", "coordinator", "evaluator", "funder"])
    q.add_argument("--sites", help="comma-separated site ids a coordinator may see ('*': every site)")
    q.add_argument("--email", help="the email single sign-on maps to this account")
    how = q.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    how.add_argument("--generate-password", action="store_true", help="make a strong password and print it once")
    how.add_argument("--sso-only", action="store_true", help="no password: single sign-on only")
    _store_arg(q)
    for name, helptext in (("disable", "stop an account from signing in (its sessions end at their next click)"),
                           ("enable", "let a disabled account sign in again")):
        q = users.add_parser(name, help=helptext)
        q.add_argument("username")
        _store_arg(q)
    q = users.add_parser("set-role", help="change an account's role")
    q.add_argument("username")
    q.add_argument("role", choices=["admin", "coordinator", "evaluator", "funder"])
    q.add_argument("--sites", help="comma-separated site ids (needed when the role becomes coordinator)")
    _store_arg(q)
    q = users.add_parser("set-sites", help="change the sites an account may see")
    q.add_argument("username")
    q.add_argument("sites", help="comma-separated site ids ('*': every site)")
    _store_arg(q)
    q = users.add_parser("set-email", help="change the email single sign-on maps to the account")
    q.add_argument("username")
    q.add_argument("email")
    _store_arg(q)
    q = users.add_parser("reset-password", help="set a new password (also lifts a sign-in lockout)")
    q.add_argument("username")
    how = q.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    how.add_argument("--generate-password", action="store_true", help="make a strong password and print it once")
    _store_arg(q)
    p.set_defaults(func=_cmd_users)
    from civicties import analyse_cli
    analyse_cli.register(sub, _store_arg)
    from civicties import brief_cli
    brief_cli.register(sub, _store_arg)
    p = sub.add_parser("audit", help="the audit log: sign-ins, loads, downloads, account changes (newest first)")
    _store_arg(p)
    p.add_argument("--since", help="only entries at or after this UTC time (ISO, e.g. 2026-11-30)")
    p.add_argument("--action", help="only this action (signin, signin_failed, download, account_changed, ...)")
    p.add_argument("--user", help="only this user")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_audit)
    from civicties import match_cli
    match_cli.add_parser(sub, _store_arg)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IngestError as e:
        print(f"error: {e.describe(nothing_written=args.command == 'ingest')}", file=sys.stderr)
        return 1
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except QueryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 4
    except (_UsageError, AccountError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # a write is one transaction: stopped before its commit, it left the store as it was
        print("\ninterrupted" + ("; nothing was written" if args.command == "ingest" else ""), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `civicties report | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:     # e.g. --out in a folder that does not exist, a full disk
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return 5


if __name__ == "__main__":
    sys.exit(main())

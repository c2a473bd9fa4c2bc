"""`civicties match`: propose matches between people of different sources, list the review queue, apply
decisions from a CSV file, undo a decision (docs/matching.md).

    civicties match propose                 # score, accept the clear matches, queue the uncertain ones
    civicties match queue [--json]          # the pairs waiting for review, with the evidence
    civicties match apply decisions.csv     # left_id,right_id,decision[,note]: accept | reject | different
    civicties match undo LEFT_ID RIGHT_ID   # the pair's last decision is undone (kept, marked undone)
    civicties match history [--json]        # every decision: who, when, how

The command line acts as an admin (civicties/cli.py); every decision goes to the audit log as `cli:<user>`.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys

from graph import matches
from graph.store import open_store
from ingest import match
from ingest.problems import IngestError

__all__ = ["add_parser", "run"]

_SHOWN = ("name", "source", "role", "site_id", "neighborhood", "family_id", "school_id", "email", "phone")


def add_parser(sub, store_arg) -> None:
    """Register `match` and its actions on the CLI's subparsers."""
    p = sub.add_parser("match", help="match people across sources: propose, queue, apply FILE.csv, undo, history "
                                     "(docs/matching.md)")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("propose", help="score candidate pairs; accept the clear ones, queue the uncertain ones")
    store_arg(q)
    q.add_argument("--upper", type=float, default=None, help="accept at or above this probability "
                                                             "(default: CIVICTIES_MATCH_AUTO)")
    q.add_argument("--lower", type=float, default=None, help="queue from this probability (default: "
                                                             "CIVICTIES_MATCH_REVIEW)")
    q.add_argument("--json", action="store_true")
    q = actions.add_parser("queue", help="the pairs waiting for review, with the evidence")
    store_arg(q)
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.add_argument("--csv", metavar="FILE", help="write the queue as a CSV to fill in and `apply` (column decision)")
    q = actions.add_parser("apply", help="apply decisions from a CSV file (left_id, right_id, decision, note): all "
                                         "or nothing")
    q.add_argument("file")
    store_arg(q)
    q = actions.add_parser("undo", help="undo a pair's current decision")
    q.add_argument("left_id")
    q.add_argument("right_id")
    store_arg(q)
    q = actions.add_parser("history", help="every decision: who, when, how, undone or not")
    store_arg(q)
    q.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        return _run(args)
    except IngestError:
        raise
    except ValueError as e:          # thresholds out of range, a bad decision
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from dashboard import accounts
    actor = accounts.cli_actor()
    with open_store(args.store) as store:
        if args.action == "propose":
            upper, lower = match.thresholds()
            upper = args.upper if args.upper is not None else upper
            lower = args.lower if args.lower is not None else lower
            proposal = match.run(store, upper=upper, lower=lower, actor=actor, role="admin")
            accounts.audit(store, actor, "match_propose", role="admin", rows=len(proposal.review),
                           detail=f"{len(proposal.auto)} accepted automatically, {len(proposal.review)} to review")
            out = proposal.summary()
            if args.json:
                print(json.dumps(out, indent=2))
            else:
                print(f"Compared {out['pairs_compared']} pairs of {out['records']} records ({out['people']} people, "
                      f"{out['survey_names']} survey names) in {out['seconds']} s: {out['accepted_automatically']} "
                      f"accepted automatically (probability >= {upper}), {out['to_review']} to review "
                      f"(from {lower}). See them with `civicties match queue`.")
            return 0
        if args.action == "queue":
            queue = match.review_queue(store)
            if args.csv:
                _write_queue_csv(args.csv, queue)
                print(f"Wrote {len(queue)} pairs to {args.csv}: fill in the decision column (accept, reject or "
                      f"different) and run `civicties match apply {args.csv}`.")
                return 0
            shown = queue[:args.limit]
            if args.json:
                print(json.dumps([_plain(c) for c in shown], indent=2, ensure_ascii=False, default=str))
                return 0
            if not queue:
                print("Nothing to review. (`civicties match propose` looks for candidates.)")
            for c in shown:
                print(_describe(c))
            if len(queue) > len(shown):
                print(f"... and {len(queue) - len(shown)} more (--limit)")
            return 0
        if args.action == "apply":
            known = set(match.build_records(matches.read_raw(store))["rid"])
            rows, problems = match.read_decisions_csv(args.file, known)
            if problems:
                raise IngestError(problems)
            scored = {(c["left"], c["right"]): c for c in matches.read_candidates(store)}
            for row in rows:                # the score and evidence the reviewer saw, where the pair was queued
                seen = scored.get(matches.pair_key(row["left"], row["right"]))
                if seen:
                    row.update(score=seen.get("score"), evidence=seen.get("evidence"))
            stored = matches.record_decisions(store, rows, actor=actor, role="admin", method="csv")
            print(f"Recorded {len(stored)} decision(s) from {args.file}.")
            return 0
        if args.action == "undo":
            undone = matches.undo_decision(store, args.left_id, args.right_id, actor=actor, role="admin")
            if undone is None:
                print(f"error: the pair {args.left_id} / {args.right_id} has no decision to undo", file=sys.stderr)
                return 2
            print(f"Undid the decision '{undone['decision']}' ({undone['method']}, by {undone['actor']} at "
                  f"{undone['at']}).")
            return 0
        if args.action == "history":
            history = matches.decision_history(store)
            if args.json:
                print(json.dumps(history, indent=2, ensure_ascii=False, default=str))
                return 0
            for d in history:
                state = f"undone by {d['undone_by']} at {d['undone_at'][:19]}" if d.get("undone_at") else "current"
                print(f"{d['at'][:19].replace('T', ' ')}  {d['decision']:<9} {d['method']:<6} {d['actor'] or '':<20} "
                      f"{d['left']}  {d['right']}  score {d.get('score')}  {state}")
            return 0
    raise argparse.ArgumentTypeError(f"unknown action {args.action}")


def _describe(c: dict) -> str:
    a, b = c["left_record"], c["right_record"]
    agreed = ", ".join(f"{f} {v}" for f, v in c["evidence"].items() if v not in ("missing", "no", "ok"))
    return (f"{c['left']}  {a.get('name')!r} ({a.get('source')}, site {a.get('site_id')})\n"
            f"{c['right']}  {b.get('name')!r} ({b.get('source')}, site {b.get('site_id')})\n"
            f"  score {c['score']:.3f}: {agreed}" + (f"; {'; '.join(c['reasons'])}" if c.get("reasons") else "") + "\n")


def _plain(c: dict) -> dict:
    return {k: v for k, v in c.items()}


def _write_queue_csv(path: str, queue: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["left_id", "right_id", "decision", "note", "score", "left_name", "right_name", "left_site",
                    "right_site", "evidence"])
        for c in queue:
            a, b = c["left_record"], c["right_record"]
            w.writerow([c["left"], c["right"], "", "", c["score"], a.get("name"), b.get("name"), a.get("site_id"),
                        b.get("site_id"), "; ".join(f"{k} {v}" for k, v in c["evidence"].items()
                                                   if v not in ("missing", "no", "ok"))])

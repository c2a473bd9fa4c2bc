"""`civicties brief --out FILE.pdf`: the funder's one-page brief (dashboard/brief.py), built from the funder
release only (the dashboard's loaders called as a funder), as a PDF or, for a FILE.png, a picture."""
from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub, store_arg) -> None:
    p = sub.add_parser("brief", help="write the funder's one-page brief (PDF, or PNG by the file's extension): "
                       "headline numbers, the before/after finding, training-to-seat flows, where alumni sit")
    store_arg(p)
    p.add_argument("--out", required=True, help="the file to write: FILE.pdf or FILE.png")
    p.add_argument("--sites", default="*", help="comma-separated site ids the brief covers (default: every site)")
    p.set_defaults(func=_cmd_brief)


def _cmd_brief(args) -> int:
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        print(f"error: --out must end in .pdf or .png, got {args.out!r}", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"error: the folder {str(out.parent)!r} does not exist", file=sys.stderr)
        return 2
    from dashboard import accounts, brief
    from dashboard.accounts import Principal
    from graph.store import open_store
    sites = tuple(s.strip() for s in args.sites.split(",") if s.strip()) or ("*",)
    funder = Principal(username=accounts.cli_actor(), role="funder", sites=sites)
    with open_store(args.store, create=False) as store:
        if store.is_empty():
            print("error: the store holds no data; load a package first (civicties ingest)", file=sys.stderr)
            return 1
        os.environ["CIVICTIES_STORE"] = store.uri       # the dashboard's loaders read the store from here
    os.environ.setdefault("CIVICTIES_BACKGROUND_ANALYSES", "0")
    content = brief.build_brief(funder, fmt)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(content)
    tmp.replace(out)                                        # never a half-written brief
    with open_store(args.store, create=False) as store:
        accounts.audit(store, funder.username, "export", role="admin", target=f"funder brief ({fmt})")
    print(f"Wrote the funder brief to {out} ({len(content) / 1024:,.0f} KB).")
    return 0

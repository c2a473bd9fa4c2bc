"""The funder's one-page brief: a PDF (and the same page as a PNG) a funder can forward.

Built from the funder release only: :func:`funder_release` calls the dashboard's loaders (load_overview,
load_bridging, load_pipeline) with a funder principal, so every number on the page is one the funder's
pages show, protected the same way (counts from 1 to CIVICTIES_MIN_COUNT - 1 as "<N", some larger ones
"suppressed" so that a small one cannot be worked out; no person, family or id). :func:`render_brief` is a
pure function of that release: headline numbers, the before/after bridging finding with its 95% interval,
the training-to-seat flows with their numbers, where alumni sit by level, and a footnote on methods and
small numbers. A suppressed value is written as its label ("<10", "suppressed"), never drawn as zero.

Drawn with matplotlib (its PDF and PNG back ends), so it needs no browser and no network.
"""
from __future__ import annotations

import io
import math
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import PathPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from dashboard import figures  # noqa: E402
from dashboard.accounts import Principal  # noqa: E402

__all__ = ["funder_release", "render_brief", "build_brief", "may_download"]

_INK, _MUTED, _RACE, _CLASS = "#1d2330", "#5b6472", "#1f77b4", "#ff7f0e"
_FLOW = ("#4E79A7", "#59A14F", "#F28E2B", "#B07AA1", "#76B7B2", "#EDC948", "#E15759", "#9C755F")
PAGE = (8.5, 11.0)     # US letter, inches


def may_download(principal: Principal) -> bool:
    """Funders and admins get the brief (it holds the funder release only)."""
    return isinstance(principal, Principal) and principal.role in ("funder", "admin")


def funder_release(principal: Principal) -> dict:
    """The funder pages' data for the brief: {overview, bridging, pipeline, k, demo}. Always loaded as a
    funder of the principal's sites, whoever asks (an admin gets what a funder would)."""
    from dashboard import data
    if not may_download(principal):
        raise PermissionError("the funder brief is for funders and admins")
    funder = principal if principal.role == "funder" else principal.view_as("funder")
    if funder.audience != "funder":
        raise PermissionError("the brief is built from the funder release only")
    info = data.store_info()
    return {"overview": data.load_overview(funder), "bridging": data.load_bridging(funder),
            "pipeline": data.load_pipeline(funder), "k": data.min_count(), "demo": bool(info.get("demo"))}


def build_brief(principal: Principal, fmt: str = "pdf") -> bytes:
    """The brief of the principal's funder release as PDF or PNG bytes."""
    return render_brief(funder_release(principal), fmt=fmt)[0]


def render_brief(release: dict, *, fmt: str = "pdf", today: date | None = None) -> tuple[bytes, list[str]]:
    """(the page as PDF or PNG bytes, every text written on it), from a funder release."""
    if fmt not in ("pdf", "png"):
        raise ValueError(f"the brief is a pdf or a png, not {fmt!r}")
    page = _Page(release.get("k", 10))
    ov, br, pl = release["overview"], release["bridging"], release["pipeline"]
    fig = page.fig
    page.text(0.06, 0.962, "Civic Ties · program brief", size=19, weight="bold")
    page.text(0.06, 0.940, _wrap("Parent leadership: ties across race and class, and pathways to decision-making seats. "
              f"{(today or date.today()):%d %B %Y}." + (" Demo network: invented people." if release.get("demo")
                                                         else ""), 125), size=8.5, color=_MUTED)
    _headlines(page, ov, pl)
    _bridging(page, br, ov)
    _flows(page, pl)
    _bodies(page, pl)
    _footnote(page, br, pl)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else None,
                metadata={"Title": "Civic Ties program brief", "Creator": "Civic Ties"} if fmt == "pdf" else None)
    plt.close(fig)
    return buf.getvalue(), page.texts


# -- the page's parts -----------------------------------------------------------------------------------


class _Page:
    """A letter page and the record of every text written on it (what tests read back)."""

    def __init__(self, k: int):
        self.k = k
        self.fig = plt.figure(figsize=PAGE)
        self.texts: list[str] = []

    def text(self, x, y, s, *, ax=None, size=9.5, color=_INK, **kw):
        self.texts.append(str(s))
        target = ax if ax is not None else self.fig
        return target.text(x, y, s, fontsize=size, color=color, va=kw.pop("va", "top"), **kw)


def _value(v) -> str:
    """A count as written on the page: 1,234, or its suppression label ("<10", "suppressed")."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return v if isinstance(v, str) else f"{int(v):,}"


def _headlines(page: _Page, ov: dict, pl: dict) -> None:
    head, funnel = ov["headline"], ov["funnel"]
    days = head.get("median_days_to_seat")
    items = [("trained", funnel.get("enrolled"), "enrolled in a training cohort"),
             ("graduated", funnel.get("graduated"), "completed the training"),
             ("seated", funnel.get("appointed"), "hold or held a seat on a public body"),
             ("median time to a seat", "not reached yet" if days is None else f"{days:,.0f} days",
              "half of the graduates seated by then")]
    page.text(0.06, 0.905, "Headline numbers", size=12, weight="bold")
    for i, (name, v, what) in enumerate(items):
        x = 0.06 + i * 0.225
        page.fig.add_artist(Rectangle((x - 0.008, 0.815), 0.21, 0.078, transform=page.fig.transFigure,
                                      facecolor="#f2f4f7", edgecolor="none"))
        shown = _value(v) if not isinstance(v, str) or v.startswith("<") or v == "suppressed" else v
        page.text(x, 0.888, name.upper(), size=7.5, color=_MUTED, weight="bold")
        page.text(x, 0.872, shown, size=17 if len(shown) < 10 else 12, weight="bold")
        page.text(x, 0.832, what, size=7, color=_MUTED, wrap=True)
    page.text(0.06, 0.805, f"The network: {_value(head.get('parents'))} parents in {_value(head.get('families'))} "
              f"families, {_value(head.get('ties'))} ties (pairs where either named the other); "
              f"{_value(head.get('isolated_families'))} families have no parent with any tie.", size=8.5, color=_MUTED)


def _bridging(page: _Page, br: dict, ov: dict) -> None:
    page.text(0.06, 0.775, "Before and after: ties across race and class", size=12, weight="bold")
    c = br.get("comparison") or ov.get("comparison")
    ax = page.fig.add_axes([0.09, 0.565, 0.36, 0.175])
    rows = []
    if c is not None and not c.get("too_few"):
        for attr, name, color, dy in (("race_ethnicity", "cross-race", _RACE, -0.04),
                                      ("income_band", "cross-class", _CLASS, 0.04)):
            r = (c.get("by_attribute") or {}).get(attr, {}).get("panel")
            if not r or r["before"]["share"] is None or r["after"]["share"] is None:
                continue
            xs = [0 + dy, 1 + dy]
            ys = [r["before"]["share"], r["after"]["share"]]
            lo = [y - (r[s]["share_ci"] or [y, y])[0] for y, s in zip(ys, ("before", "after"))]
            hi = [(r[s]["share_ci"] or [y, y])[1] - y for y, s in zip(ys, ("before", "after"))]
            ax.errorbar(xs, ys, yerr=[lo, hi], color=color, marker="o", capsize=3, lw=2, label=name)
            for x, y in zip(xs, ys):       # race labelled on the left of its points, class on the right
                ax.annotate(f"{y:.0%}", (x, y), textcoords="offset points", xytext=(-26 if dy < 0 else 8, -3),
                            fontsize=8, color=color)
                page.texts.append(f"{y:.0%}")
            rows.append((name, r))
    if rows:
        ax.set_xticks([0, 1], [f"{c['before']} survey", f"{c['after']} survey"], fontsize=8)
        ax.set_xlim(-0.45, 1.45)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.tick_params(labelsize=7.5)
        ax.set_ylabel("share of the people named\nacross group lines", fontsize=7.5)
        ax.legend(fontsize=7.5, frameon=False, loc="upper left")
        ax.spines[["top", "right"]].set_visible(False)
        page.texts += [f"{c['before']} survey", f"{c['after']} survey", "cross-race", "cross-class"]
        n = _value(c["respondents"]["both"])
        lines = [f"Among the {n} parents who answered both the {c['before']} and the {c['after']} survey:"]
        for name, r in rows:
            ch, ci = r["change"]["share"], r["change"]["share_ci"] or [None, None]
            interval = (f"95% interval {100 * ci[0]:+.0f} to {100 * ci[1]:+.0f} points" if ci[0] is not None
                        else "no interval")
            lines.append(f"• the share of people named {name.replace('cross-', 'across ')} lines went from "
                         f"{r['before']['share']:.0%} to {r['after']['share']:.0%} ({100 * ch:+.0f} points; "
                         f"{interval}).")
        lines.append("Bars: 95% intervals (bootstrap over respondents). These are associations in survey answers; "
                     "on their own they do not show that the program caused the change.")
        page.text(0.52, 0.745, "\n".join(_wrap(t, 58) for t in lines), size=8.5, linespacing=1.35)
    else:
        ax.axis("off")
        page.text(0.06, 0.745, "Too few people answered both surveys for a before/after comparison to be shared.",
                  size=9)


def _flows(page: _Page, pl: dict) -> None:
    page.text(0.06, 0.535, "From training to a seat", size=12, weight="bold")
    flows = [(s, t, c) for s, t, c in pl.get("flows", []) if isinstance(c, (int, float)) and c > 0]
    ax = page.fig.add_axes([0.06, 0.30, 0.88, 0.21])
    ax.axis("off")
    if not flows:
        page.text(0.06, 0.505, "No flow from enrollment to a seat can be shown yet.", size=9)
        return
    nodes = list(dict.fromkeys(n for s, t, _ in flows for n in (s, t)))
    depth = {n: 0 for n in nodes}
    for _ in nodes:                                         # longest path from a first stage
        for s, t, _c in flows:
            depth[t] = max(depth[t], depth[s] + 1)
    into = {n: sum(c for _s, t, c in flows if t == n) for n in nodes}
    out = {n: sum(c for s, _t, c in flows if s == n) for n in nodes}
    size = {n: max(into[n], out[n]) for n in nodes}
    columns = max(depth.values()) + 1
    per_col = {d: [n for n in nodes if depth[n] == d] for d in range(columns)}
    total = max(sum(size[n] for n in col) for col in per_col.values())
    gap, width = 0.06, 0.018
    scale = (1 - gap * (max(len(c) for c in per_col.values()) - 1)) / total
    pos = {}
    for d, col in per_col.items():
        x = d / max(columns - 1, 1) * (1 - width - 0.16)
        y = 1.0
        for n in col:
            h = size[n] * scale
            pos[n] = [x, y - h, h, y - h, y - h]              # x, bottom, height, next out, next in (from bottom)
            y -= h + gap
    color = {n: _FLOW[i % len(_FLOW)] for i, n in enumerate(nodes)}
    for s, t, c in sorted(flows, key=lambda f: (depth[f[0]], -f[2])):
        h = c * scale
        xs, ys0 = pos[s][0] + width, pos[s][3]
        xt, yt0 = pos[t][0], pos[t][4]
        pos[s][3] += h
        pos[t][4] += h
        mid = (xs + xt) / 2
        verts = [(xs, ys0), (mid, ys0), (mid, yt0), (xt, yt0), (xt, yt0 + h), (mid, yt0 + h), (mid, ys0 + h),
                 (xs, ys0 + h), (xs, ys0)]
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO, MplPath.CURVE4,
                 MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
        ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=color[s], alpha=0.28, edgecolor="none"))
        if h > 0.03:                         # the count where the path arrives (paths never overlap there)
            ax.text(xt - 0.006, yt0 + h / 2, f"{int(c):,}", fontsize=7, ha="right", va="center", color=_INK)
            page.texts.append(f"{int(c):,}")
    for n, (x, y, h, *_r) in pos.items():
        ax.add_patch(Rectangle((x, y), width, h, facecolor=color[n], edgecolor="none"))
        ax.text(x + width + 0.006, y + h / 2, f"{n}\n{int(size[n]):,}", fontsize=7.5, va="center", color=_INK,
                weight="bold")
        page.texts.append(f"{n} {int(size[n]):,}")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    hidden = pl.get("hidden_flows") or 0
    said = " ".join(f.text for f in pl.get("findings") or [] if getattr(f, "text", None))
    note = said + "\n" + (f"People at each stage and along each path. {hidden} path{'s are' if hidden != 1 else ' is'} not drawn: "
            f"fewer than {page.k} people, or a count that would give such a small one away." if hidden else
            "People at each stage and along each path.")
    page.text(0.06, 0.283, "\n".join(_wrap(t, 140) for t in note.split("\n")), size=7.5, color=_MUTED,
              linespacing=1.35)


def _bodies(page: _Page, pl: dict) -> None:
    page.text(0.06, 0.235, "Where alumni sit", size=12, weight="bold")
    bodies = pl.get("bodies")
    if bodies is None or bodies.empty:
        page.text(0.06, 0.212, "No graduate holds a seat on record yet.", size=9)
        return
    sentence = figures.bodies_sentence(bodies, k=page.k)
    roll = figures.rollup_by_level(bodies)
    lines = [sentence] if sentence else []
    lines += [f"• {r.level}: {r.bodies:,} bod{'y' if r.bodies == 1 else 'ies'}"
              + (f", {r.graduates} graduates seated" if r.graduates != "some hidden" else "") for r in roll.itertuples()]
    if not sentence:
        shown = [(str(n or b), g) for n, b, g in zip(bodies["name"], bodies["body_id"], bodies["graduates"])]
        top = sorted([x for x in shown if not isinstance(x[1], str)], key=lambda x: -x[1])[:4]
        if top:
            lines.append("Most seated: " + "; ".join(f"{n} ({g:,})" for n, g in top) + ".")
    page.text(0.06, 0.212, "\n".join(_wrap(t, 110) for t in lines), size=8.5, linespacing=1.35)


def _footnote(page: _Page, br: dict, pl: dict) -> None:
    c = br.get("comparison") or {}
    method = c.get("method") or "percentile bootstrap over respondents"
    k = page.k
    text = (f"Methods and small numbers. Every count from 1 to {k - 1} is shown as '<{k}', and some larger counts "
            f"as 'suppressed', so that a small count cannot be worked out from totals shown elsewhere (checked as "
            "one release with the dashboard's funder pages); a hidden count is never drawn as zero. No person, "
            "family or identifier appears. A tie: one person named another in a survey wave. Cross-group shares: "
            "of the people named whose group is recorded, the share of a different race/ethnicity (or income "
            f"band). Before/after: the same respondents in both waves; intervals: {method}. Seats: appointments to "
            "public bodies recorded by the program; time to a seat: Kaplan–Meier, graduates not yet seated counted "
            "for as long as they have been followed. Source: Civic Ties (civicties brief).")
    page.fig.add_artist(matplotlib.lines.Line2D([0.06, 0.94], [0.085, 0.085], color="#d0d4da", lw=0.8,
                                                transform=page.fig.transFigure))
    page.text(0.06, 0.078, _wrap(text, 150), size=6.6, color=_MUTED, linespacing=1.3)


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(text, width, break_long_words=False)) or text

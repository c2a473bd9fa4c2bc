"""Exports: networks for Gephi (GraphML, GEXF) and per-person metrics as CSV, safe to open in a spreadsheet.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or carriage
return) as a formula, so a name like ``=HYPERLINK(...)`` typed into an intake form could run when a
coordinator opens a download ("CSV injection", OWASP). Every CSV this project hands out goes through
:func:`safe_frame`, which prefixes such text cells with a single quote: spreadsheets then show the text
as typed. Numbers stay numbers (a negative E-I index is data, not a formula).

Each export can carry a ``note``: the report of :func:`queries.kanon.k_anonymize` for a k-anonymous
evaluator's dataset (docs/k-anonymity.md), so that whoever opens the file can see what was coarsened
and the k reached. GraphML keeps it as the graph attribute ``k_anonymity`` (JSON text), GEXF as the
file's ``<meta><description>`` ("k_anonymity: " + the JSON; Gephi's format has no graph attributes),
the CSV as leading lines that begin with "# " (:func:`person_metrics_csv`).
"""
from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import SubElement

import networkx as nx
import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.errors import QueryError
from queries.kanon import summary as _kanon_summary

__all__ = ["to_graphml", "to_gexf", "person_metrics", "person_metrics_csv", "safe_csv_cell", "safe_frame",
           "FORMULA_PREFIXES", "PERSON_METRIC_COLUMNS"]

#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PERSON_METRIC_COLUMNS = ["person_id", "role", "family_id", "site_id", "race_ethnicity", "income_band",
                         "primary_language", "degree", "betweenness", "constraint", "effective_size",
                         "ei_race_ethnicity", "ei_income_band", "isolated", "community"]


def to_graphml(G: nx.Graph | Dataset, path: str | Path | None = None, *, note: Mapping | None = None) -> Path | bytes:
    """Write ``G`` as GraphML (Gephi, Cytoscape, yEd) and return the path; with no path, return the
    file's bytes (for a download button). A Dataset stands for its union tie network.

    GraphML holds only text, numbers and booleans, so attribute values are made plain first: sets are
    written as their sorted members joined by "; " (``{"post", "pre"}`` -> ``"post; pre"``), lists and
    tuples joined in order, dicts as JSON, dates as ISO text; None and NaN are left out (the attribute
    is simply absent on that node). An attribute holding different types on different nodes is
    written as text throughout. ``note`` (a k-anonymity report) becomes the graph attribute
    ``k_anonymity``, JSON text.

    >>> import tempfile, os
    >>> G = nx.Graph([("a", "b", {"waves": {"pre", "post"}})]); G.nodes["a"]["race"] = None
    >>> p = to_graphml(G, os.path.join(tempfile.mkdtemp(), "g.graphml"))
    >>> nx.read_graphml(p).edges["a", "b"]["waves"]
    'post; pre'
    >>> H = nx.read_graphml(to_graphml(G, os.path.join(tempfile.mkdtemp(), "n.graphml"), note={"k": 5}))
    >>> H.graph["k_anonymity"]
    '{"k": 5}'
    """
    return _write(nx.write_graphml, G, path, note)


def to_gexf(G: nx.Graph | Dataset, path: str | Path | None = None, *, note: Mapping | None = None) -> Path | bytes:
    """Write ``G`` as GEXF 1.2 (Gephi's own format) and return the path (no path: the bytes); values
    made plain as in :func:`to_graphml`. ``note`` (a k-anonymity report) goes into the file's
    ``<meta><description>`` as "k_anonymity: " + JSON text (GEXF has no graph attributes).

    >>> import tempfile, os
    >>> G = nx.Graph([("a", "b", {"tie_types": {"friend"}})])
    >>> p = to_gexf(G, os.path.join(tempfile.mkdtemp(), "g.gexf"))
    >>> nx.read_gexf(p).edges["a", "b"]["tie_types"]
    'friend'
    >>> b'<description>k_anonymity: {"k": 5}</description>' in to_gexf(G, note={"k": 5})
    True
    """
    return _write(nx.write_gexf, G, path, note)


def person_metrics(ds: Dataset, *, G: nx.Graph | None = None, seed: int = 0,
                   note: Mapping | None = None) -> pd.DataFrame:
    """One row per person of the tie network with their network position, for analysis elsewhere.

    Columns: the person's id and attributes (no names or contact details; ``cohort_id`` too, after
    ``primary_language``, when the people table has one, as a k-anonymous dataset's does: see
    ``queries.kanon``), ``degree`` (number of people they are tied to), ``betweenness`` (normalized;
    how often they lie on shortest paths between others: brokers; Freeman 1977, via
    ``queries.kernels``, which samples on very large networks), ``constraint`` (Burt 1992: high = their
    contacts all know each other; NaN for isolates), ``effective_size`` (Burt 1992: how many of their
    contacts are non-redundant, i.e. not tied to their other contacts; Borgatti's ``n - 2t/n`` for n
    contacts with t ties among them, so a parent whose contacts are strangers to each other scores n
    and one whose contacts all know each other scores near 1; NaN for isolates, as
    ``nx.effective_size``), ``ei_race_ethnicity`` and ``ei_income_band`` (Krackhardt & Stern's E-I
    over their own ties, -1 all inside their group, +1 all across; NaN when undefined), ``isolated``
    (no tie), ``community`` (1 = largest modularity community; Louvain/Leiden, seeded; None for
    isolates). ``G`` defaults to ``tie_network(ds)``. ``df.attrs["methods"]`` says how betweenness,
    constraint and communities were computed (effective size is exact: networkx, or igraph's local
    clustering on large networks). ``note`` (a k-anonymity report) is kept as
    ``df.attrs["k_anonymity"]``.

    >>> from queries.export import _doc_dataset
    >>> person_metrics(_doc_dataset())[["person_id", "degree", "betweenness", "effective_size", "community"]]
      person_id  degree  betweenness  effective_size community
    0         a       1     0.000000             1.0         1
    1         b       2     0.333333             2.0         1
    2         c       1     0.000000             1.0         1
    3         d       0     0.000000             NaN      None
    """
    from queries import brokerage, homophily, kernels
    from queries.network import tie_network

    if G is None:
        G = tie_network(ds)
    elif not isinstance(G, nx.Graph):
        raise QueryError("G must be a networkx graph (e.g. tie_network(ds)) or None")
    note = _check_note(note)
    attrs = ["role", "family_id", "site_id", "race_ethnicity", "income_band", "primary_language"]
    columns = list(PERSON_METRIC_COLUMNS)
    if "cohort_id" in ds.people.columns:
        attrs.append("cohort_id")
        columns.insert(columns.index("primary_language") + 1, "cohort_id")
    nodes = list(G.nodes())
    if not nodes:
        df = pd.DataFrame(columns=columns)
        if note is not None:
            df.attrs["k_anonymity"] = note
        return df
    people = ds.people.set_index("person_id")
    df = pd.DataFrame({"person_id": nodes})
    for a in attrs:
        df[a] = df["person_id"].map(people[a]) if a in people else None
    U = G.to_undirected(as_view=True) if G.is_directed() else G
    degree = dict(U.degree())
    btw = kernels.betweenness(G, seed=seed)
    con = kernels.constraint(U)
    eff = brokerage.effective_size(U)
    com = kernels.communities(U, seed=seed)
    df["degree"] = [int(degree[n]) for n in nodes]
    df["betweenness"] = [float(btw.values.get(n, 0.0)) for n in nodes]
    df["constraint"] = [float(con.values.get(n, float("nan"))) for n in nodes]
    df["effective_size"] = [float(eff.get(n, float("nan"))) for n in nodes]
    for a in ("race_ethnicity", "income_band"):
        ei = homophily.ei_by_node(G, a)
        df[f"ei_{a}"] = [ei.get(n) for n in nodes]
    df["isolated"] = df["degree"] == 0
    label = {}
    for i, part in enumerate(sorted(com.values, key=lambda c: (-len(c), min(map(str, c))) if c else (0, "")), 1):
        for n in part:
            label[n] = i
    df["community"] = pd.Series([None if degree[n] == 0 else label.get(n) for n in nodes], dtype=object)
    df = df.sort_values("person_id", kind="stable").reset_index(drop=True)[columns]
    df = df.astype({c: object for c in attrs})
    df[attrs] = df[attrs].where(df[attrs].notna(), None)
    df.attrs["methods"] = {"betweenness": btw.detail, "constraint": con.detail, "communities": com.detail}
    if note is not None:
        df.attrs["k_anonymity"] = note
    return df


def person_metrics_csv(ds: Dataset, path: str | Path | None = None, *, G: nx.Graph | None = None,
                       note: Mapping | None = None) -> str:
    """The :func:`person_metrics` table as CSV text, made safe for spreadsheets (:func:`safe_frame`);
    also written to ``path`` (UTF-8) when one is given.

    With a ``note`` (a k-anonymity report, :func:`queries.kanon.k_anonymize`) the text begins with lines
    that start with "# " and say the k asked for and reached, what was coarsened and how many people
    were suppressed (:func:`queries.kanon.summary`; no commas, so a spreadsheet shows each in one cell).
    To read the table back skip them: ``pd.read_csv(path, skiprows=n)`` with n the number of such lines.

    >>> from queries.export import _doc_dataset
    >>> person_metrics_csv(_doc_dataset()).splitlines()[0]
    'person_id,role,family_id,site_id,race_ethnicity,income_band,primary_language,degree,betweenness,constraint,effective_size,ei_race_ethnicity,ei_income_band,isolated,community'
    >>> person_metrics_csv(_doc_dataset(), note={"k": 2, "k_reached": 2, "columns": ["role"]}).splitlines()[:2]
    ['# k-anonymity: k=2 reached 2 on role', '# generalized: nothing']
    """
    note = _check_note(note)
    text = safe_frame(person_metrics(ds, G=G)).to_csv(index=False, lineterminator="\n")
    if note is not None:
        text = "".join(f"# {line}\n" for line in _kanon_summary(note)) + text
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def safe_csv_cell(value):
    """A cell value that a spreadsheet will not run as a formula.

    Text beginning with ``= + - @``, a tab or a carriage return gets a leading single quote; lists,
    tuples and sets become text joined by "; " (sets sorted) and dicts JSON text, then the same check;
    anything else (numbers, booleans, None, dates) comes back unchanged.

    >>> safe_csv_cell("=HYPERLINK(\\"http://x\\")"), safe_csv_cell("-1"), safe_csv_cell(-1), safe_csv_cell("Ana")
    ('\\'=HYPERLINK("http://x")', "'-1", -1, 'Ana')
    >>> safe_csv_cell(["@b", "a"])
    "'@b; a"
    """
    if isinstance(value, (set, frozenset)):
        value = "; ".join(sorted(map(str, value)))
    elif isinstance(value, (list, tuple)):
        value = "; ".join(map(str, value))
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are passed through :func:`safe_csv_cell`
    (numeric columns untouched). Use it on every table offered for download.

    >>> safe_frame(pd.DataFrame({"name": ["=1+1", "Bo"], "ei": [-0.5, 1.0]})).to_dict("list")
    {'name': ["'=1+1", 'Bo'], 'ei': [-0.5, 1.0]}
    """
    if not isinstance(df, pd.DataFrame):
        raise QueryError(f"safe_frame needs a pandas DataFrame; got {type(df).__name__}")
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(safe_csv_cell).astype(object)
    out.columns = [safe_csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


# -- private helpers ---------------------------------------------------------------------


def _write(writer, G, path, note=None) -> Path | bytes:
    note = _check_note(note)
    if isinstance(G, Dataset):
        from queries.network import tie_network
        G = tie_network(G)
    H = _plain_graph(G)
    if note is not None:
        H.graph["k_anonymity"] = _note_json(note)
        if writer is nx.write_gexf:
            writer = _gexf_writer_with_note(H.graph["k_anonymity"])
    if path is None:
        buffer = io.BytesIO()
        writer(H, buffer)
        return buffer.getvalue()
    path = Path(path)
    writer(H, path)
    return path


def _check_note(note) -> dict | None:
    if note is None:
        return None
    if not isinstance(note, Mapping):
        raise QueryError(f"note must be a k-anonymity report (a dict) or None; got {type(note).__name__}")
    return dict(note)


def _note_json(note: Mapping) -> str:
    return json.dumps(note, ensure_ascii=False, default=str, sort_keys=True)


def _gexf_writer_with_note(text: str):
    """nx.write_gexf, with ``text`` as the ``<meta><description>`` (networkx writes no graph attributes)."""
    from networkx.readwrite.gexf import GEXFWriter

    def write(H, target):
        writer = GEXFWriter(encoding="utf-8", prettyprint=True, version="1.2draft")
        SubElement(writer.xml.find("meta"), "description").text = "k_anonymity: " + text
        writer.add_graph(H)
        writer.write(target if not isinstance(target, Path) else str(target))
    return write


def _plain_value(value):
    """A GraphML/GEXF-safe scalar for an attribute value, or None to leave it out."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (set, frozenset)):
        return "; ".join(sorted(str(v) for v in value if v is not None))
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value if v is not None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _plain_attrs(items) -> list[tuple]:
    """(key, attrs) pairs with plain values; an attribute of mixed types becomes text everywhere."""
    items = [(k, {a: p for a, v in d.items() if (p := _plain_value(v)) is not None}) for k, d in items]
    kinds: dict[str, set] = {}
    for _, d in items:
        for a, v in d.items():
            kinds.setdefault(a, set()).add(bool if isinstance(v, bool) else (float if isinstance(v, (int, float))
                                                                             else str))
    mixed = {a for a, k in kinds.items() if len(k) > 1}
    numeric_float = set()
    for _, d in items:
        for a, v in d.items():
            if isinstance(v, float) and not isinstance(v, bool):
                numeric_float.add(a)
    for _, d in items:
        for a in list(d):
            if a in mixed:
                d[a] = str(d[a])
            elif a in numeric_float and isinstance(d[a], int) and not isinstance(d[a], bool):
                d[a] = float(d[a])  # one type per attribute: ints and floats mixed -> floats
    return items


def _plain_graph(G: nx.Graph) -> nx.Graph:
    if not isinstance(G, nx.Graph):
        raise QueryError(f"need a networkx graph to export; got {type(G).__name__}")
    if G.is_multigraph():
        raise QueryError("multigraphs cannot be exported here; collapse parallel edges into one first")
    H = G.__class__()
    H.graph.update({k: p for k, v in G.graph.items() if (p := _plain_value(v)) is not None})
    H.add_nodes_from(_plain_attrs(G.nodes(data=True)))
    edges = _plain_attrs(((u, v), d) for u, v, d in G.edges(data=True))
    H.add_edges_from((u, v, d) for (u, v), d in edges)
    return H


def _doc_dataset() -> Dataset:
    """A path a - b - c and an isolate d."""
    from graph.model import TABLES

    def frame(table, rows):
        df = pd.DataFrame(rows, columns=list(TABLES[table].columns), dtype=object)
        return df.where(df.notna(), None)

    tables = {t: frame(t, []) for t in TABLES}
    tables["people"] = frame("people", [{"person_id": p, "role": "parent", "family_id": f"F{p}",
                                         "race_ethnicity": r} for p, r in zip("abcd", ["x", "x", "y", "y"])])
    tables["ties"] = frame("ties", [{"from_person_id": "a", "to_person_id": "b"},
                                    {"from_person_id": "b", "to_person_id": "c"}])
    return Dataset(tables=tables)

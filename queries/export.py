"""Exports: networks for Gephi (GraphML, GEXF) and per-person metrics as CSV, safe to open in a spreadsheet.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or carriage
return) as a formula, so a name like ``=HYPERLINK(...)`` typed into an intake form could run when a
coordinator opens a download ("CSV injection", OWASP). Every CSV this project hands out goes through
:func:`safe_frame`, which prefixes such text cells with a single quote: spreadsheets then show the text
as typed. Numbers stay numbers (a negative E-I index is data, not a formula).
"""
from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from graph.dataset import Dataset
from queries.errors import QueryError

__all__ = ["to_graphml", "to_gexf", "person_metrics", "person_metrics_csv", "safe_csv_cell", "safe_frame",
           "FORMULA_PREFIXES", "PERSON_METRIC_COLUMNS"]

#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PERSON_METRIC_COLUMNS = ["person_id", "role", "family_id", "site_id", "race_ethnicity", "income_band",
                         "primary_language", "degree", "betweenness", "constraint", "effective_size",
                         "ei_race_ethnicity", "ei_income_band", "isolated", "community"]


def to_graphml(G: nx.Graph | Dataset, path: str | Path | None = None) -> Path | bytes:
    """Write ``G`` as GraphML (Gephi, Cytoscape, yEd) and return the path; with no path, return the
    file's bytes (for a download button). A Dataset stands for its union tie network.

    GraphML holds only text, numbers and booleans, so attribute values are made plain first: sets are
    written as their sorted members joined by "; " (``{"post", "pre"}`` -> ``"post; pre"``), lists and
    tuples joined in order, dicts as JSON, dates as ISO text; None and NaN are left out (the attribute
    is simply absent on that node). An attribute holding different types on different nodes is
    written as text throughout.

    >>> import tempfile, os
    >>> G = nx.Graph([("a", "b", {"waves": {"pre", "post"}})]); G.nodes["a"]["race"] = None
    >>> p = to_graphml(G, os.path.join(tempfile.mkdtemp(), "g.graphml"))
    >>> nx.read_graphml(p).edges["a", "b"]["waves"]
    'post; pre'
    """
    return _write(nx.write_graphml, G, path)


def to_gexf(G: nx.Graph | Dataset, path: str | Path | None = None) -> Path | bytes:
    """Write ``G`` as GEXF 1.2 (Gephi's own format) and return the path (no path: the bytes); values
    made plain as in :func:`to_graphml`.

    >>> import tempfile, os
    >>> G = nx.Graph([("a", "b", {"tie_types": {"friend"}})])
    >>> p = to_gexf(G, os.path.join(tempfile.mkdtemp(), "g.gexf"))
    >>> nx.read_gexf(p).edges["a", "b"]["tie_types"]
    'friend'
    """
    return _write(nx.write_gexf, G, path)


def person_metrics(ds: Dataset, *, G: nx.Graph | None = None, seed: int = 0) -> pd.DataFrame:
    """One row per person of the tie network with their network position, for analysis elsewhere.

    Columns: the person's id and attributes (no names or contact details), ``degree`` (number of people
    they are tied to), ``betweenness`` (normalized; how often they lie on shortest paths between others:
    brokers; Freeman 1977, via ``queries.kernels``, which samples on very large networks), ``constraint``
    (Burt 1992: high = their contacts all know each other; NaN for isolates), ``effective_size`` (Burt
    1992: how many of their contacts are non-redundant, i.e. not tied to their other contacts; Borgatti's
    ``n - 2t/n`` for n contacts with t ties among them, so a parent whose contacts are strangers to each
    other scores n and one whose contacts all know each other scores near 1; NaN for isolates, as
    ``nx.effective_size``), ``ei_race_ethnicity`` and
    ``ei_income_band`` (Krackhardt & Stern's E-I over their own ties, -1 all inside their group, +1 all
    across; NaN when undefined), ``isolated`` (no tie), ``community`` (1 = largest modularity
    community; Louvain/Leiden, seeded; None for isolates). ``G`` defaults to ``tie_network(ds)``.
    ``df.attrs["methods"]`` says how betweenness, constraint and communities were computed (effective
    size is exact: networkx, or igraph's local clustering on large networks).

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
    nodes = list(G.nodes())
    if not nodes:
        return pd.DataFrame(columns=PERSON_METRIC_COLUMNS)
    people = ds.people.set_index("person_id")
    attrs = ["role", "family_id", "site_id", "race_ethnicity", "income_band", "primary_language"]
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
    df = df.sort_values("person_id", kind="stable").reset_index(drop=True)[PERSON_METRIC_COLUMNS]
    df = df.astype({c: object for c in attrs})
    df[attrs] = df[attrs].where(df[attrs].notna(), None)
    df.attrs["methods"] = {"betweenness": btw.detail, "constraint": con.detail, "communities": com.detail}
    return df


def person_metrics_csv(ds: Dataset, path: str | Path | None = None, *, G: nx.Graph | None = None) -> str:
    """The :func:`person_metrics` table as CSV text, made safe for spreadsheets (:func:`safe_frame`);
    also written to ``path`` (UTF-8) when one is given.

    >>> from queries.export import _doc_dataset
    >>> person_metrics_csv(_doc_dataset()).splitlines()[0]
    'person_id,role,family_id,site_id,race_ethnicity,income_band,primary_language,degree,betweenness,constraint,effective_size,ei_race_ethnicity,ei_income_band,isolated,community'
    """
    text = safe_frame(person_metrics(ds, G=G)).to_csv(index=False, lineterminator="\n")
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


def _write(writer, G, path) -> Path | bytes:
    if isinstance(G, Dataset):
        from queries.network import tie_network
        G = tie_network(G)
    H = _plain_graph(G)
    if path is None:
        buffer = io.BytesIO()
        writer(H, buffer)
        return buffer.getvalue()
    path = Path(path)
    writer(H, path)
    return path


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

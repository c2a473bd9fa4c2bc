"""queries.export: Gephi files that open, per-person metrics, CSV cells that cannot run as formulas."""
import io
import json
import math
import sys
from datetime import date
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402

from queries.errors import QueryError  # noqa: E402
from queries.export import (person_metrics, person_metrics_csv, safe_csv_cell, safe_frame, to_gexf,  # noqa: E402
                            to_graphml)
from queries.network import tie_network  # noqa: E402


def awkward_graph():
    G = nx.Graph(title="demo", made=date(2024, 1, 2))
    G.add_node("a", race="Black", waves_seen={"pre", "post"}, income=None, score=np.float64(0.5), n=np.int64(3),
               tags=["x", "y"], joined=date(2020, 1, 1), flag=True)
    G.add_node("b", race=float("nan"), score=1, n=2, extra={"k": 1})
    G.add_node("c", mixed=1)
    G.add_node("d", mixed="one")
    G.add_edge("a", "b", waves={"post", "pre"}, tie_types=set(), weight=2)
    G.add_edge("b", "c", waves={"pre"}, weight=1.5)
    return G


@pytest.mark.parametrize("writer,reader", [(to_graphml, nx.read_graphml), (to_gexf, nx.read_gexf)])
def test_round_trip_with_sets_none_and_mixed_types(tmp_path, writer, reader):
    path = writer(awkward_graph(), tmp_path / "net.file")
    H = reader(path)
    assert set(H.nodes) == {"a", "b", "c", "d"} and H.number_of_edges() == 2
    a, b = H.nodes["a"], H.nodes["b"]
    assert a["waves_seen"] == "post; pre" and a["tags"] == "x; y" and a["joined"] == "2020-01-01"
    assert "income" not in a and "race" not in b          # None and NaN left out
    assert a["score"] == 0.5 and b["score"] == 1.0         # ints and floats of one attribute -> floats
    assert int(a["n"]) == 3 and a["flag"] in (True, "true")
    assert b["extra"] == '{"k": 1}'
    assert H.nodes["c"]["mixed"] == "1" and H.nodes["d"]["mixed"] == "one"  # mixed types -> text
    assert H.edges["a", "b"]["waves"] == "post; pre" and float(H.edges["b", "c"]["weight"]) == 1.5
    # bytes when no path is given, the same document
    data = writer(awkward_graph())
    assert isinstance(data, bytes) and set(reader(io.BytesIO(data)).nodes) == {"a", "b", "c", "d"}


def test_export_dataset_tie_network_opens(tmp_path):
    ds = demo_dataset()
    G = tie_network(ds)
    H = nx.read_gexf(to_gexf(ds, tmp_path / "ties.gexf"))
    assert H.number_of_nodes() == G.number_of_nodes() and H.number_of_edges() == G.number_of_edges()
    H = nx.read_graphml(to_graphml(G, tmp_path / "ties.graphml"))
    u, v = next(iter(G.edges))
    assert H.edges[u, v]["waves"] == "; ".join(sorted(G.edges[u, v]["waves"]))


def test_export_rejects_non_graphs():
    with pytest.raises(QueryError):
        to_graphml({"a": ["b"]}, "x.graphml")
    with pytest.raises(QueryError, match="multigraph"):
        to_gexf(nx.MultiGraph([(1, 2), (1, 2)]))


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Ana =1", "Ana =1"), ("", ""), (-3, -3), (-0.5, -0.5), (None, None), (True, True),
    ({"b", "=a"}, "'=a; b"), (["x", "=y"], "x; =y"), ({"k": "v"}, '{"k": "v"}'),
])
def test_safe_csv_cell(value, expected):
    assert safe_csv_cell(value) == expected


def test_safe_frame_neutralises_text_and_headers_only():
    df = pd.DataFrame({"=name": ["=cmd|' /C calc'!A0", "Bo", None], "ei": [-1.0, 0.5, np.nan], "n": [-1, 2, 3]})
    out = safe_frame(df)
    assert list(out.columns) == ["'=name", "ei", "n"]
    assert out["'=name"].tolist() == ["'=cmd|' /C calc'!A0", "Bo", None]
    assert out["ei"].tolist()[:2] == [-1.0, 0.5] and out["n"].tolist() == [-1, 2, 3]
    assert df.columns[0] == "=name"                       # the original is untouched
    with pytest.raises(QueryError):
        safe_frame([1, 2])


def metrics_dataset():
    """A path a - b - c (a, b race x; c race y) and an isolate d; a's id is a formula."""
    people = [{"person_id": p, "role": "parent", "family_id": f"F{i}", "race_ethnicity": r, "income_band": inc}
              for i, (p, r, inc) in enumerate([("=a", "x", "low"), ("b", "x", "low"), ("c", "y", "low"),
                                               ("d", "y", None)])]
    ties = [{"from_person_id": "=a", "to_person_id": "b"}, {"from_person_id": "c", "to_person_id": "b"}]
    return tiny_dataset(people=people, ties=ties)


def test_person_metrics_by_hand():
    df = person_metrics(metrics_dataset()).set_index("person_id")
    assert df["degree"].to_dict() == {"=a": 1, "b": 2, "c": 1, "d": 0}
    # b lies on the one path between =a and c: 1 of the (4-1)(4-2)/2 = 3 pairs
    assert df.loc["b", "betweenness"] == pytest.approx(1 / 3) and df.loc["=a", "betweenness"] == 0
    # constraint: one contact -> 1; two unconnected contacts -> 2 * (1/2)^2 = 0.5; isolate undefined
    assert df.loc["=a", "constraint"] == pytest.approx(1.0) and df.loc["b", "constraint"] == pytest.approx(0.5)
    assert math.isnan(df.loc["d", "constraint"])
    # effective size n - 2t/n: =a and c have one contact (1 - 0), b two contacts not tied to each other (2 - 0)
    assert [df.loc[p, "effective_size"] for p in ("=a", "b", "c")] == [1.0, 2.0, 1.0]
    assert math.isnan(df.loc["d", "effective_size"])
    assert df.loc["=a", "ei_race_ethnicity"] == -1 and df.loc["b", "ei_race_ethnicity"] == 0
    assert df.loc["c", "ei_race_ethnicity"] == 1 and pd.isna(df.loc["d", "ei_race_ethnicity"])
    assert df.loc["b", "ei_income_band"] == -1
    assert df["isolated"].to_dict() == {"=a": False, "b": False, "c": False, "d": True}
    assert df.loc["d", "community"] is None and df.loc["=a", "community"] == df.loc["c", "community"] == 1


def test_person_metrics_effective_size_star_by_hand():
    # Star: h tied to l1..l4. Effective size (Burt 1992; Borgatti's n - 2t/n, n contacts, t ties among them):
    # h: n = 4 leaves, t = 0 -> 4 (every contact non-redundant); each leaf: n = 1 -> 1.
    # Then l1-l2 tied: h: n = 4, t = 1 -> 4 - 2/4 = 3.5; l1: contacts h, l2, tied to each other -> 2 - 2/2 = 1;
    # l3: still 1. networkx.effective_size is the reference for both.
    people = [{"person_id": p, "role": "parent"} for p in ("h", "l1", "l2", "l3", "l4")]
    star = [{"from_person_id": "h", "to_person_id": leaf} for leaf in ("l1", "l2", "l3", "l4")]
    for ties, want in ((star, {"h": 4.0, "l1": 1.0, "l2": 1.0, "l3": 1.0, "l4": 1.0}),
                       (star + [{"from_person_id": "l2", "to_person_id": "l1"}],
                        {"h": 3.5, "l1": 1.0, "l2": 1.0, "l3": 1.0, "l4": 1.0})):
        ds = tiny_dataset(people=people, ties=ties)
        df = person_metrics(ds).set_index("person_id")
        assert df["effective_size"].to_dict() == pytest.approx(want)
        assert df["effective_size"].to_dict() == pytest.approx(nx.effective_size(tie_network(ds)))
        columns = list(df.reset_index().columns)
        assert columns[columns.index("constraint") + 1] == "effective_size"


def test_person_metrics_csv_is_safe_and_written(tmp_path):
    path = tmp_path / "people.csv"
    text = person_metrics_csv(metrics_dataset(), path)
    assert path.read_text(encoding="utf-8") == text
    back = pd.read_csv(io.StringIO(text), dtype={"person_id": str})
    assert "'=a" in back["person_id"].tolist() and "=a" not in back["person_id"].tolist()
    assert back.set_index("person_id").loc["'=a", "ei_race_ethnicity"] == -1.0   # numbers stay numbers
    assert "name" not in back.columns and "email" not in back.columns
    assert list(back.columns) == ["person_id", "role", "family_id", "site_id", "race_ethnicity", "income_band",
                                  "primary_language", "degree", "betweenness", "constraint", "effective_size",
                                  "ei_race_ethnicity", "ei_income_band", "isolated", "community"]
    assert back.set_index("person_id").loc["b", "effective_size"] == 2.0 and back["effective_size"].isna().sum() == 1


def test_person_metrics_demo_smoke():
    ds = demo_dataset()
    df = person_metrics(ds)
    assert len(df) == len(ds.people) and df["person_id"].is_unique
    assert (df["isolated"] == (df["degree"] == 0)).all()
    assert df.loc[~df["isolated"], "community"].notna().all()
    assert set(df.attrs["methods"]) == {"betweenness", "constraint", "communities"}


def test_person_metrics_of_an_empty_dataset():
    assert person_metrics(tiny_dataset()).empty
    assert person_metrics_csv(tiny_dataset()).startswith("person_id,role,")


def test_exports_carry_a_k_anonymity_note_and_are_unchanged_without_one(tmp_path):
    ds = metrics_dataset()
    note = {"k": 2, "k_reached": 2, "generalized": {"income_band": "blanked for 1 people"}, "suppressed_rows": 0,
            "rows": 4, "columns": ["race_ethnicity", "income_band"]}
    H = nx.read_graphml(to_graphml(ds, tmp_path / "n.graphml", note=note))
    assert json.loads(H.graph["k_anonymity"]) == note
    assert "k_anonymity" not in nx.read_graphml(to_graphml(ds, tmp_path / "plain.graphml")).graph
    gexf = to_gexf(ds, tmp_path / "n.gexf", note=note).read_text(encoding="utf-8")
    assert "<description>k_anonymity: {" in gexf and nx.read_gexf(tmp_path / "n.gexf").number_of_nodes() == 4
    assert b"k_anonymity" not in to_gexf(ds)
    plain = person_metrics_csv(ds)
    text = person_metrics_csv(ds, note=note)
    assert text.splitlines()[:3] == ["# k-anonymity: k=2 reached 2 on race_ethnicity; income_band (4 people)",
                                     "# generalized: income_band (blanked for 1 people)",
                                     "# suppressed: 0 people (all quasi-identifiers blanked)"]
    assert text.endswith(plain) and text.count("\n") == plain.count("\n") + 3
    assert person_metrics(ds, note=note).attrs["k_anonymity"] == note
    with pytest.raises(QueryError, match="note"):
        to_graphml(ds, note="k=5")


def test_person_metrics_carries_a_cohort_column_when_people_have_one():
    people = [{"person_id": p, "role": "parent", "cohort_id": c} for p, c in (("a", "C1"), ("b", None), ("c", "C1"))]
    ds = tiny_dataset(people=people, ties=[{"from_person_id": "a", "to_person_id": "b"}])
    df = person_metrics(ds)
    columns = list(df.columns)
    assert columns[columns.index("primary_language") + 1] == "cohort_id"
    assert df.set_index("person_id")["cohort_id"].to_dict() == {"a": "C1", "b": None, "c": "C1"}
    assert "cohort_id" not in person_metrics(metrics_dataset()).columns

"""queries.privacy: pseudonyms that hide everyone, small-count suppression that cannot be undone by subtraction."""
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402

from queries.errors import QueryError  # noqa: E402
from queries.network import tie_network  # noqa: E402
from queries.pipeline import funnel_by  # noqa: E402
from queries.privacy import (AUDIENCES, SUPPRESSED, UNMATCHED_NAME, default_salt, for_audience,  # noqa: E402
                             pseudonym, pseudonymize, suppress_frame, suppress_small)


def _all_cells(ds):
    for df in list(ds.tables.values()) + [ds.contacts]:
        for col in df.columns:
            for v in df[col]:
                if isinstance(v, str):
                    yield v


def test_no_original_id_or_name_survives_anywhere():
    ds = demo_dataset()
    p = pseudonymize(ds, salt="test-salt")
    people = ds.people
    person_ids = set(people["person_id"])
    family_ids = set(people["family_id"].dropna())
    names = set(people["name"].dropna()) | set(ds.ties["to_name"].dropna())
    contacts = set(people["email"].dropna()) | set(people["phone"].dropna())
    assert len(person_ids) > 500 and len(names) > 500
    cells = set(_all_cells(p))
    assert not cells & person_ids and not cells & family_ids and not cells & names and not cells & contacts
    text = "\n".join(cells)
    assert not any(pid in text for pid in person_ids)      # not even inside another value
    assert p.people["name"].isna().all() and p.people["email"].isna().all() and p.people["phone"].isna().all()
    unmatched = p.ties.loc[p.ties["to_person_id"].isna(), "to_name"]
    assert len(unmatched) > 0 and (unmatched == UNMATCHED_NAME).all()
    assert p.ties.loc[p.ties["to_person_id"].notna(), "to_name"].isna().all()
    assert p.home_visits["teacher_id"].str.startswith("p-").all()
    assert p.home_visits["family_id"].str.startswith("f-").all()
    # the original is not changed
    assert set(ds.people["person_id"]) == person_ids and ds.people["name"].notna().any()


def test_pseudonyms_are_stable_keyed_and_keep_the_network():
    ds = demo_dataset()
    one, two = pseudonymize(ds, salt="k1"), pseudonymize(ds, salt="k1")
    other = pseudonymize(ds, salt="k2")
    assert one.people["person_id"].tolist() == two.people["person_id"].tolist()
    assert not set(one.people["person_id"]) & set(other.people["person_id"])
    assert one.people["person_id"].is_unique
    assert one.people["person_id"].str.fullmatch(r"p-[0-9a-f]{12}").all()
    assert one.people["person_id"].iloc[0] == pseudonym(ds.people["person_id"].iloc[0], salt="k1")
    # joins still work: the same network and the same funnel
    G, H = tie_network(ds), tie_network(one)
    assert (G.number_of_nodes(), G.number_of_edges()) == (H.number_of_nodes(), H.number_of_edges())
    assert funnel_by(ds).drop(columns="group").equals(funnel_by(one).drop(columns="group"))
    assert sorted(d for _, d in G.degree()) == sorted(d for _, d in H.degree())


def test_pseudonymize_by_hand_drops_notes_and_extra_columns():
    ds = tiny_dataset(
        people=[{"person_id": "P1", "name": "Ana Ruiz", "family_id": "F1", "email": "a@x.org", "phone": "555",
                 "nickname": "Ani", "gender": "f"},
                {"person_id": "P2", "name": "Bo", "family_id": "F1"}],
        ties=[{"from_person_id": "P1", "to_person_id": "P2", "to_name": "Bo"},
              {"from_person_id": "P1", "to_person_id": None, "to_name": "Cousin Carla"}],
        contacts=[{"id": "c1", "family_id": "F1", "contacted_on": "2024-01-01", "note": "spoke with Ana Ruiz"}])
    p = pseudonymize(ds, salt="s", keep_columns=["people.gender"])
    assert "nickname" not in p.people.columns and p.people["gender"].tolist() == ["f", None]
    assert p.people["family_id"].tolist() == [pseudonym("F1", salt="s", prefix="f-")] * 2
    assert p.ties["to_name"].tolist() == [None, UNMATCHED_NAME]
    assert p.ties["from_person_id"].tolist() == [pseudonym("P1", salt="s")] * 2
    assert p.contacts["note"].tolist() == [None]
    assert p.contacts["family_id"].tolist() == [pseudonym("F1", salt="s", prefix="f-")]
    with pytest.raises(QueryError, match="salt"):
        pseudonymize(ds, salt="")


def test_for_audience():
    ds = tiny_dataset(people=[{"person_id": "P1", "name": "Ana"}])
    assert AUDIENCES == ("coordinator", "evaluator", "funder")
    assert for_audience(ds, "coordinator") is ds
    for audience in ("evaluator", "funder"):
        out = for_audience(ds, audience, salt="s")
        assert out.people["person_id"].tolist() == [pseudonym("P1", salt="s")]
        assert out.people["name"].tolist() == [None]
        with pytest.raises(QueryError, match="salt"):
            for_audience(ds, audience)
    with pytest.raises(QueryError, match="audience"):
        for_audience(ds, "press", salt="s")


def test_default_salt_is_stable_and_per_store(monkeypatch):
    monkeypatch.setenv("CIVICTIES_PSEUDONYM_SALT", "secret")
    assert default_salt("sqlite:///a") == default_salt("sqlite:///a") != default_salt("sqlite:///b")
    monkeypatch.setenv("CIVICTIES_PSEUDONYM_SALT", "other")
    first = default_salt("sqlite:///a")
    monkeypatch.delenv("CIVICTIES_PSEUDONYM_SALT")
    assert default_salt("sqlite:///a") != first and default_salt("x") == default_salt("x")


@pytest.mark.parametrize("value,expected", [
    (0, 0), (1, "<10"), (9, "<10"), (10, 10), (11, 11), (np.int64(3), "<10"), (12.0, 12), (None, None),
    (float("nan"), None), ("<10", "<10"), (SUPPRESSED, SUPPRESSED),
])
def test_suppress_small(value, expected):
    assert suppress_small(value) == expected


def test_suppress_small_threshold_and_bad_input():
    assert suppress_small(4, min_count=5) == "<5" and suppress_small(5, min_count=5) == 5
    assert suppress_small(1, 2) == "<2"
    for bad in (-1, 2.5, "seven", True):
        with pytest.raises(QueryError):
            suppress_small(bad)
    with pytest.raises(QueryError, match="min_count"):
        suppress_small(3, min_count=0)


def test_suppress_frame_row_rule():
    df = pd.DataFrame({"site": ["S1"], "graduated": [3], "withdrawn": [25], "enrolled": [40]})
    out = suppress_frame(df, ["graduated", "withdrawn", "enrolled"])
    # 3 is hidden; from the row it could be recomputed, so the next-smallest (25) goes too
    assert out.iloc[0].tolist() == ["S1", "<10", SUPPRESSED, 40]
    assert df["graduated"].tolist() == [3]   # original untouched


def test_suppress_frame_column_rule_within_groups():
    df = pd.DataFrame({"site": ["S1", "S1", "S1", "S2", "S2"], "race": list("ABCAB"), "n": [3, 40, 25, 0, 30]})
    out = suppress_frame(df, ["n"], by="site")
    assert out["n"].tolist() == ["<10", 40, SUPPRESSED, 0, 30]   # zeros stay visible and are never a complement
    whole = suppress_frame(df, ["n"])                              # one group: the whole column
    assert whole["n"].tolist() == ["<10", 40, SUPPRESSED, 0, 30]
    two = pd.DataFrame({"n": [3, 4, 50]})
    assert suppress_frame(two, "n")["n"].tolist() == ["<10", "<10", 50]   # two hidden: nothing to add


def test_suppress_frame_cascades_until_no_lone_hidden_cell():
    df = pd.DataFrame({"g": ["x", "y", "z"], "a": [40, 3, 25], "b": [12, 20, 15]})
    out = suppress_frame(df, ["a", "b"])
    hidden = out[["a", "b"]].map(lambda v: isinstance(v, str))
    # every row and every column with a hidden cell has at least two
    assert all(h in (0, 2) for h in hidden.sum(axis=1)) and all(h == 0 or h >= 2 for h in hidden.sum(axis=0))
    assert out.loc[1, "a"] == "<10" and (out[["a", "b"]] == SUPPRESSED).sum().sum() >= 3
    # the smallest complements are chosen: y's 20 in its row, z's 25 in column a
    assert out.loc[1, "b"] == SUPPRESSED and out.loc[2, "a"] == SUPPRESSED


def test_suppress_frame_lone_cell_without_partner_and_bad_columns():
    df = pd.DataFrame({"a": [3, 0], "b": [0, 0]})
    assert suppress_frame(df, ["a", "b"]).values.tolist() == [["<10", 0], [0, 0]]
    with pytest.raises(QueryError, match="no column"):
        suppress_frame(df, ["c"])
    with pytest.raises(QueryError, match="group by"):
        suppress_frame(df, ["a"], by="site")
    assert suppress_frame(df.iloc[0:0], ["a"]).empty


def test_suppressed_funder_funnel_on_demo():
    funnel = funnel_by(demo_dataset(), "race_ethnicity")
    out = suppress_frame(funnel, ["enrolled", "graduated", "civic", "appointed"])
    for _, row in out.iterrows():
        labels = [v for v in row[["enrolled", "graduated", "civic", "appointed"]] if isinstance(v, str)]
        assert len(labels) != 1
        for v in row[["enrolled", "graduated", "civic", "appointed"]]:
            assert isinstance(v, str) or v == 0 or v >= 10
    assert not math.isnan(float(out["graduation_rate"].iloc[0]))

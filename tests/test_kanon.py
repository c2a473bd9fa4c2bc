"""queries.kanon: evaluators' per-person exports are k-anonymous on the quasi-identifiers, and say so."""
import io
import json
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402

from queries.errors import QueryError  # noqa: E402
from queries.export import person_metrics, person_metrics_csv, to_gexf, to_graphml  # noqa: E402
from queries.kanon import (QUASI_IDENTIFIERS, first_cohort, k_anonymize, k_anonymous_dataset,  # noqa: E402
                           smallest_class, summary)
from queries.privacy import pseudonymize  # noqa: E402


def frame(**columns):
    df = pd.DataFrame(columns, dtype=object)
    return df.where(df.notna(), None)


# -- smallest_class ----------------------------------------------------------------------


def test_smallest_class_by_hand():
    df = frame(role=["parent", "parent", "child", "child", "child"], site_id=["S1", "S1", "S1", None, np.nan],
               name=["a", "b", "c", "d", "e"])
    # (parent, S1) 2, (child, S1) 1, (child, unknown) 2: None and NaN are one value
    assert smallest_class(df) == 1
    assert smallest_class(df, ["role"]) == 2                  # (parent) 2, (child) 3
    assert smallest_class(df, ["site_id", "no_such_column"]) == 2
    assert smallest_class(df, ["no_such_column"]) == 5        # no column: one class of everyone
    assert smallest_class(df.iloc[:0]) == 0


# -- k_anonymize by hand -----------------------------------------------------------------


def test_two_people_alone_in_a_rare_neighborhood_lose_it_and_no_one_else_does():
    # 12 parents at S1: 5 in Harbor, 5 with no neighborhood recorded, 2 in Parkside. With k = 5, Parkside
    # (2 people) is rare -> "other", still a combination of 2; blanking the neighborhood of just those two
    # puts them with the 5 unknowns (7). Nothing else changes.
    df = frame(person_id=[f"p{i}" for i in range(12)], role=["parent"] * 12, site_id=["S1"] * 12,
               neighborhood=["Harbor"] * 5 + [None] * 5 + ["Parkside"] * 2)
    out, report = k_anonymize(df, k=5)
    assert out["neighborhood"].tolist() == ["Harbor"] * 5 + [None] * 7
    assert out.drop(columns="neighborhood").equals(df.drop(columns="neighborhood"))
    assert report == {"k": 5, "k_reached": 5, "generalized": {"neighborhood": "blanked for 2 people"},
                      "changed": {"neighborhood": 2}, "suppressed_rows": 0, "rows": 12,
                      "columns": ["site_id", "neighborhood", "role"]}
    assert smallest_class(out) == 5 and smallest_class(df) == 2


def test_rare_values_grouped_as_other():
    # 11 people: English 6, Vietnamese 3, Somali 2. With k = 5 both rare languages -> "other" (5 people).
    df = frame(primary_language=["English"] * 6 + ["Vietnamese"] * 3 + ["Somali"] * 2, role=["parent"] * 11)
    out, report = k_anonymize(df, k=5)
    assert out["primary_language"].tolist() == ["English"] * 6 + ["other"] * 5
    assert report["generalized"] == {"primary_language": "rare values (fewer than 5 people) grouped as 'other' "
                                                         "for 5 people"}
    assert report["k_reached"] == 5 and report["suppressed_rows"] == 0


def test_language_blanked_for_everyone_when_that_alone_merges_the_rare_ones():
    # Black: 5 English + 2 Spanish; White: 5 English. Spanish -> "other" (2 people, alone); blanking their
    # language alone leaves them alone among blanks; blanking it for all 12 gives (Black) 7, (White) 5.
    df = frame(race_ethnicity=["Black"] * 7 + ["White"] * 5,
               primary_language=["English"] * 5 + ["Spanish"] * 2 + ["English"] * 5)
    out, report = k_anonymize(df, k=5)
    assert out["primary_language"].tolist() == [None] * 12
    assert out["race_ethnicity"].tolist() == df["race_ethnicity"].tolist()
    assert report["generalized"] == {"primary_language": "blanked for 12 people"} and report["k_reached"] == 5


def test_cohort_generalized_through_its_hierarchy_before_blanking():
    # C1: 5 parents; C2: 3 parents + 2 children; C3: 3 parents + 3 children; C2 and C3 are program P.
    # Every C2/C3 combination is under 5; coarsening those cohorts to their program gives (P, parent) 6 and
    # (P, child) 5; C1 keeps its cohort.
    df = frame(cohort_id=["C1"] * 5 + ["C2"] * 5 + ["C3"] * 6,
               role=["parent"] * 5 + ["parent"] * 3 + ["child"] * 2 + ["parent"] * 3 + ["child"] * 3)
    steps = {"cohort_id": [("cohort generalized to its program", {"C1": "Q", "C2": "P", "C3": "P"})]}
    out, report = k_anonymize(df, k=5, hierarchies=steps)
    assert out["cohort_id"].tolist() == ["C1"] * 5 + ["P"] * 11
    assert out["role"].tolist() == df["role"].tolist()
    assert report["generalized"] == {"cohort_id": "cohort generalized to its program for 11 people"}
    assert report["k_reached"] == 5


def test_suppression_and_the_blanked_combination_filled_up_to_k():
    # 10 (A, parent), 10 (B, child), 1 (A, child); k = 3. Nothing but blanking everyone's race or role would
    # place the lone (A, child); that would change 21 values to rescue one person, so they are suppressed
    # (all quasi-identifiers blank), and 2 people of the first largest combination, the last 2 (A, parent),
    # are blanked too so that the blank combination has 3.
    df = frame(race_ethnicity=["A"] * 10 + ["B"] * 10 + ["A"], role=["parent"] * 10 + ["child"] * 11)
    out, report = k_anonymize(df, k=3)
    blank = out[["race_ethnicity", "role"]].isna().all(axis=1)
    assert blank[blank].index.tolist() == [8, 9, 20]
    assert out.loc[~blank, "race_ethnicity"].tolist() == df.loc[~blank, "race_ethnicity"].tolist()
    assert report["suppressed_rows"] == 3 and report["k_reached"] == 3 == smallest_class(out)
    assert report["changed"] == {"race_ethnicity": 3, "role": 3}


def test_fewer_than_k_people_cannot_be_k_anonymous_and_the_report_says_so():
    df = frame(race_ethnicity=["A", "B", "C"], role=["parent"] * 3)
    out, report = k_anonymize(df, k=5)
    assert out[["race_ethnicity", "role"]].isna().all().all()
    assert report["k_reached"] == 3 < report["k"] and report["suppressed_rows"] == 3


def test_k_1_changes_nothing():
    df = frame(race_ethnicity=["A", "B", None], role=["parent", "child", "child"], income_band=["low", None, "x"])
    out, report = k_anonymize(df, k=1)
    assert out.equals(df)
    assert report["generalized"] == {} and report["suppressed_rows"] == 0 and report["k_reached"] == 1


def test_no_quasi_identifiers_or_no_rows():
    out, report = k_anonymize(frame(person_id=["a", "b"]), k=5)
    assert report["columns"] == [] and report["k_reached"] == 2 and out["person_id"].tolist() == ["a", "b"]
    out, report = k_anonymize(frame(role=[]), k=5)
    assert out.empty and report["k_reached"] == 0


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "5"])
def test_bad_k_is_refused(k):
    with pytest.raises(QueryError, match="k must be"):
        k_anonymize(frame(role=["parent"]), k=k)


def test_not_a_frame_is_refused():
    with pytest.raises(QueryError):
        k_anonymize([{"role": "parent"}])
    with pytest.raises(QueryError):
        smallest_class(frame(role=["parent"]), "role")


def random_people(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def pick(values, p=None):
        return [values[i] for i in rng.choice(len(values), size=n, p=p)]
    return frame(person_id=[f"p{i}" for i in range(n)],
                 race_ethnicity=pick(["Black", "White", "Latino", "Asian", None, np.nan, "Native American"],
                                     [.3, .3, .2, .1, .04, .03, .03]),
                 income_band=pick(["low", "lower-middle", "middle", "upper", None]),
                 primary_language=pick(["English", "Spanish", "Somali", "Mandarin"], [.7, .2, .05, .05]),
                 site_id=pick(["S1", "S2", "S3"]),
                 neighborhood=pick([f"N{i}" for i in range(12)] + [None]),
                 cohort_id=pick(["C1", "C2", "C3", "C4", None], [.1, .1, .1, .1, .6]),
                 role=pick(["parent", "child", "teacher"], [.45, .5, .05]))


@pytest.mark.parametrize("seed,n,k", [(1, 40, 5), (2, 300, 5), (3, 300, 10), (4, 1000, 3), (5, 7, 5), (6, 120, 2)])
def test_every_combination_has_at_least_k_people(seed, n, k):
    df = random_people(seed, n)
    before = df.copy()
    out, report = k_anonymize(df, k=k)
    assert df.equals(before)                                            # the input is not changed
    assert smallest_class(out) == report["k_reached"] >= min(k, n)
    assert list(out.columns) == list(df.columns) and out["person_id"].equals(df["person_id"])
    assert report["columns"] == list(QUASI_IDENTIFIERS)
    for c in QUASI_IDENTIFIERS:                                         # the report accounts for every change
        changed = int((out[c].fillna("~") != df[c].fillna("~")).sum())
        assert report["changed"].get(c, 0) == changed and (c in report["generalized"]) == (changed > 0)
    blank = out[list(QUASI_IDENTIFIERS)].isna().all(axis=1) & ~df[list(QUASI_IDENTIFIERS)].isna().all(axis=1)
    assert report["suppressed_rows"] == int(blank.sum())


def test_same_input_same_output():
    df = random_people(8, 500)
    a, ra = k_anonymize(df, k=5)
    b, rb = k_anonymize(df.copy(), k=5)
    assert a.equals(b) and ra == rb
    assert json.loads(json.dumps(ra)) == ra                              # plain data: the note is JSON


def test_summary_lines_have_no_commas():
    _, report = k_anonymize(random_people(9, 200), k=5)
    lines = summary(report)
    assert lines[0].startswith("k-anonymity: k=5 reached ") and all("," not in line for line in lines)
    assert any(c in lines[1] for c in report["generalized"])


# -- datasets ----------------------------------------------------------------------------


def test_first_cohort_is_the_earliest_enrollment():
    ds = tiny_dataset(people=[{"person_id": p} for p in "abc"],
                      enrollments=[{"person_id": "a", "cohort_id": "C2", "enrolled_on": "2025-01-05"},
                                   {"person_id": "a", "cohort_id": "C1", "enrolled_on": "2024-01-05"},
                                   {"person_id": "b", "cohort_id": "C3", "enrolled_on": None},
                                   {"person_id": "b", "cohort_id": "C4", "enrolled_on": "2026-01-01"}])
    assert first_cohort(ds).to_dict() == {"a": "C1", "b": "C4"}


def test_k_anonymous_dataset_adds_the_cohort_and_leaves_enrollments():
    people = [{"person_id": f"p{i}", "role": "parent", "site_id": "S1"} for i in range(12)]
    enrollments = ([{"person_id": f"p{i}", "cohort_id": "S1-A-2024"} for i in range(6)]
                   + [{"person_id": f"p{i}", "cohort_id": "S1-A-2025"} for i in range(6, 9)]
                   + [{"person_id": f"p{i}", "cohort_id": "S1-B-2025"} for i in range(9, 11)])
    cohorts = [{"cohort_id": "S1-A-2024", "program": "A", "site_id": "S1"},
               {"cohort_id": "S1-A-2025", "program": "A", "site_id": "S1"},
               {"cohort_id": "S1-B-2025", "program": "B", "site_id": "S1"}]
    ds = tiny_dataset(people=people, enrollments=enrollments, cohorts=cohorts)
    safe, report = k_anonymous_dataset(ds, k=3)
    # S1-A-2025 (3) stays; S1-B-2025 (2) is rare -> other, with p11 (no cohort: 1 person) still alone:
    # the "other" pair joins the one with none, as unknown
    assert safe.people["cohort_id"].tolist() == ["S1-A-2024"] * 6 + ["S1-A-2025"] * 3 + [None] * 3
    assert smallest_class(safe.people) >= 3 and report["k_reached"] >= 3
    assert safe.enrollments.equals(ds.enrollments) and "cohort_id" not in ds.people.columns
    again, _ = k_anonymous_dataset(safe, k=3)                           # a k-anonymous dataset keeps its cohort
    assert again.people["cohort_id"].tolist() == safe.people["cohort_id"].tolist()


@pytest.fixture(scope="module")
def demo_k5():
    ds = pseudonymize(demo_dataset(300), salt="s")
    safe, report = k_anonymous_dataset(ds, k=5)
    return ds, safe, report


def test_demo_is_5_anonymous_and_keeps_most_information(demo_k5):
    ds, safe, report = demo_k5
    people = safe.people
    assert smallest_class(people, QUASI_IDENTIFIERS) >= 5 and report["k_reached"] >= 5
    assert report["columns"] == list(QUASI_IDENTIFIERS) and report["rows"] == len(ds.people)
    # measured on the demo at 300 parents: race 86% unchanged, site 96%, role 99%, 5 people suppressed
    before = ds.people.set_index("person_id")
    after = people.set_index("person_id").loc[before.index]
    for column, share in (("race_ethnicity", 0.8), ("site_id", 0.9), ("role", 0.95)):
        kept = (after[column].fillna("~") == before[column].fillna("~")).mean()
        assert kept >= share, (column, kept)
    assert report["suppressed_rows"] <= 0.02 * len(people)
    assert people["cohort_id"].notna().sum() > 0                       # some cohorts survive (coarsened or not)


def test_demo_exports_carry_the_note_and_stay_k_anonymous(demo_k5, tmp_path):
    _, safe, report = demo_k5
    text = to_graphml(safe, note=report).decode("utf-8")
    assert "k_anonymity" in text
    H = nx.read_graphml(io.BytesIO(text.encode("utf-8")))
    assert json.loads(H.graph["k_anonymity"]) == report
    nodes = pd.DataFrame([{c: d.get(c) for c in QUASI_IDENTIFIERS} for _, d in H.nodes(data=True)])
    assert len(nodes) == len(safe.people) and smallest_class(nodes) >= 5
    assert b"k_anonymity: " in to_gexf(safe, note=report)

    df = person_metrics(safe, note=report)
    assert "cohort_id" in df.columns and df.attrs["k_anonymity"] == report
    assert smallest_class(df) >= 5
    csv = person_metrics_csv(safe, tmp_path / "people.csv", note=report)
    head = [line for line in csv.splitlines() if line.startswith("# ")]
    assert head[0] == f"# k-anonymity: k=5 reached {report['k_reached']} on " + "; ".join(QUASI_IDENTIFIERS) \
        + f" ({len(safe.people)} people)"
    back = pd.read_csv(tmp_path / "people.csv", skiprows=len(head))
    assert len(back) == len(df) and "cohort_id" in back.columns

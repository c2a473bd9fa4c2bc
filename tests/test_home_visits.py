"""queries.home_visits: reach, repeat visits, visits across race and language, visits leading to enrollment."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_data import demo_dataset, tiny_dataset  # noqa: E402

from queries.home_visits import home_visit_summary, visited_then_enrolled  # noqa: E402


def visits_dataset():
    """Teachers t (White, English), u (Latino, Spanish), v (race and language unknown).
    F1: parents a (White, English) and b (Latino, Spanish); F2: c (Black, Somali); F3: d (nothing known);
    F4: e (Black, English), not visited."""
    people = [{"person_id": "t", "role": "teacher", "race_ethnicity": "White", "primary_language": "English"},
              {"person_id": "u", "role": "teacher", "race_ethnicity": "Latino", "primary_language": "Spanish"},
              {"person_id": "v", "role": "teacher"},
              {"person_id": "a", "role": "parent", "family_id": "F1", "race_ethnicity": "White",
               "primary_language": "English"},
              {"person_id": "b", "role": "parent", "family_id": "F1", "race_ethnicity": "Latino",
               "primary_language": "Spanish"},
              {"person_id": "k", "role": "child", "family_id": "F1", "race_ethnicity": "Black",
               "primary_language": "Somali"},   # children do not define the family's race or language
              {"person_id": "c", "role": "parent", "family_id": "F2", "race_ethnicity": "Black",
               "primary_language": "Somali"},
              {"person_id": "d", "role": "parent", "family_id": "F3"},
              {"person_id": "e", "role": "parent", "family_id": "F4", "race_ethnicity": "Black",
               "primary_language": "English"}]
    visits = [{"visit_id": "V1", "teacher_id": "t", "family_id": "F1", "visit_date": "2022-09-01"},  # same, same
              {"visit_id": "V2", "teacher_id": "u", "family_id": "F1", "visit_date": "2023-01-15"},  # same, same
              {"visit_id": "V3", "teacher_id": "t", "family_id": "F2", "visit_date": "2022-10-01"},  # cross, cross
              {"visit_id": "V4", "teacher_id": "u", "family_id": "F2", "visit_date": "2023-02-01"},  # cross, cross
              {"visit_id": "V5", "teacher_id": "t", "family_id": "F2", "visit_date": "2023-05-01"},  # cross, cross
              {"visit_id": "V6", "teacher_id": "t", "family_id": "F3", "visit_date": "2022-11-01"},  # unknown family
              {"visit_id": "V7", "teacher_id": "v", "family_id": "F1", "visit_date": None}]         # unknown teacher
    enrollments = [{"person_id": "a", "cohort_id": "C1", "enrolled_on": "2022-09-01"},   # same day as visit: counts
                   {"person_id": "b", "cohort_id": "C2", "enrolled_on": "2023-03-01"},
                   {"person_id": "c", "cohort_id": "C1", "enrolled_on": "2022-01-01"},   # before the visit
                   {"person_id": "d", "cohort_id": "C3"},                                # no date: cohort start
                   {"person_id": "e", "cohort_id": "C1", "enrolled_on": "2023-01-01"}]   # never visited
    cohorts = [{"cohort_id": "C1", "start_date": "2022-01-10"}, {"cohort_id": "C2", "start_date": "2023-03-10"},
               {"cohort_id": "C3", "start_date": "2023-01-01"}]
    return tiny_dataset(people=people, home_visits=visits, enrollments=enrollments, cohorts=cohorts)


def test_summary_by_hand():
    s = home_visit_summary(visits_dataset())
    assert (s["visits"], s["families_reached"], s["teachers"], s["repeat_families"]) == (7, 3, 3, 2)
    assert s["repeat_share"] == pytest.approx(2 / 3)
    # known both sides: V1..V5; crossing: V3, V4, V5
    assert (s["cross_race_visits"], s["race_known_visits"]) == (3, 5)
    assert s["cross_race_share"] == pytest.approx(0.6)
    assert (s["cross_language_visits"], s["language_known_visits"]) == (3, 5)


def test_summary_share_undefined_without_known_values():
    ds = tiny_dataset(people=[{"person_id": "t", "role": "teacher"}, {"person_id": "a", "family_id": "F1"}],
                      home_visits=[{"visit_id": "V1", "teacher_id": "t", "family_id": "F1"}])
    s = home_visit_summary(ds)
    assert s["cross_race_share"] is None and s["race_known_visits"] == 0
    empty = home_visit_summary(tiny_dataset())
    assert empty["families_reached"] == 0 and empty["repeat_share"] is None


def test_visited_then_enrolled_by_hand():
    r = visited_then_enrolled(visits_dataset())
    assert r["visited"] == 3          # F3's and F1's dated visits; F2's; V7 has no date but F1 has others
    assert r["enrolled_after"] == 2   # F1 (a the same day, b later) and F3 (cohort start after the visit)
    assert r["share"] == pytest.approx(2 / 3)
    assert r["families"] == [
        {"family_id": "F1", "first_visit": "2022-09-01", "enrolled_on": "2022-09-01", "person_ids": ["a", "b"],
         "cohort_ids": ["C1", "C2"]},
        {"family_id": "F3", "first_visit": "2022-11-01", "enrolled_on": "2023-01-01", "person_ids": ["d"],
         "cohort_ids": ["C3"]}]


def test_demo_home_visits():
    ds = demo_dataset()
    s = home_visit_summary(ds)
    assert 0 < s["families_reached"] <= s["visits"]
    assert 0 <= s["cross_race_share"] <= 1 and 0 <= s["cross_language_share"] <= 1
    assert s["repeat_families"] == int((ds.home_visits.groupby("family_id").size() >= 2).sum())
    r = visited_then_enrolled(ds)
    assert r["visited"] == s["families_reached"]
    assert 0 < r["enrolled_after"] == len(r["families"]) <= r["visited"]
    assert all(f["enrolled_on"] >= f["first_visit"] for f in r["families"])

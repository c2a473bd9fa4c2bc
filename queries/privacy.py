"""Who may see what: consent, pseudonyms for evaluators, small-count suppression for funders.

The dashboard fetches data for one of three audiences (``AUDIENCES``) through :func:`for_audience`:

- **coordinator**: the program's own staff; the data as it is, names included (they call families), and
  everyone, consent or not (they run the program).
- **evaluator**: the same analyses on the people who consented only (:func:`with_consent`, docs/consent.md),
  pseudonymized (:func:`pseudonymize`): every person_id and family_id replaced by a keyed hash, names,
  e-mails, phones, free-text notes, unmatched names and columns outside the data contract removed.
  Results per person stay linkable across pages and downloads (the same person gets the same pseudonym)
  but not to a real person without the salt.
- **funder**: consenting people only, pseudonymized too, and funder pages must show aggregates only: every
  count shown goes through :func:`suppress_small` / :func:`suppress_frame`, so a group of fewer than
  ``min_count`` people (default 10) shows as "<10" and cannot be recovered from a total. Pseudonymizing
  the funder's dataset is a second line of defence, not the protection itself: a page that lists people
  would still show people, so funder pages never list them.

Pseudonyms are ``"p-"`` / ``"f-"`` + the first 12 hex digits of HMAC-SHA256(salt, id) (RFC 2104). Keep
the salt secret: ids like P000123 are easy to guess, and with the salt anyone can recompute them.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from graph.dataset import Dataset
from graph.model import CONSENT_VALUES, TABLES
from queries.errors import QueryError

__all__ = ["AUDIENCES", "restrict_to_sites", "with_consent", "pseudonymize", "pseudonym", "suppress_small", "suppress_frame", "for_audience",
           "default_salt", "SUPPRESSED", "UNMATCHED_NAME"]

AUDIENCES = ("coordinator", "evaluator", "funder")
#: The label of a count hidden only so that another hidden count cannot be worked out from a total.
SUPPRESSED = "suppressed"
#: What an unmatched survey name becomes in pseudonymized data.
UNMATCHED_NAME = "[unmatched name]"

# Columns holding a person_id or a family_id, per table.
_PERSON_COLUMNS = {"people": ("person_id",), "ties": ("from_person_id", "to_person_id"),
                   "enrollments": ("person_id",), "attendance": ("person_id",), "home_visits": ("teacher_id",),
                   "appointments": ("person_id",)}
_FAMILY_COLUMNS = {"people": ("family_id",), "home_visits": ("family_id",)}
# Columns that identify a person directly: emptied.
_DROP_VALUES = {"people": ("name", "email", "phone")}
_HEX = 12


def pseudonymize(ds: Dataset, *, salt: str | bytes, keep_columns: Iterable[str] = ()) -> Dataset:
    """A copy of ``ds`` in which nobody can be recognised by name or id.

    - person ids (people, both ends of ties, enrollments, attendance, home-visit teachers,
      appointments) -> ``"p-" + 12 hex`` of HMAC-SHA256(salt, id); family ids (people, home visits,
      contacts) -> ``"f-" + ...``. The same id always gets the same pseudonym for the same salt, so
      joins between tables still work; another salt gives unrelated pseudonyms.
    - ``name``, ``email``, ``phone`` emptied (None); ``ties.to_name`` becomes "[unmatched name]" for a
      name that matched nobody and None for a matched one; contact notes emptied.
    - columns outside the data contract (docs/data-format.md) are dropped, since they may hold anything,
      unless named in ``keep_columns`` as ``"table.column"`` (e.g. ``"people.gender"``).

    Event, site, school and body names are kept: they name organisations, not people. The original is
    not changed.

    >>> from queries.pipeline import _doc_dataset
    >>> p = pseudonymize(_doc_dataset(), salt="s3cret")
    >>> p.people["person_id"].tolist() == [pseudonym("a", salt="s3cret"), pseudonym("b", salt="s3cret"),
    ...                                    pseudonym("c", salt="s3cret")]
    True
    >>> pseudonym("a", salt="s3cret")
    'p-867f0987c003'
    """
    key = _key(salt)
    keep = set(keep_columns)
    person_ids, family_ids = set(), set()
    for table, cols in _PERSON_COLUMNS.items():
        for c in cols:
            person_ids |= _values(ds.tables.get(table), c)
    for table, cols in _FAMILY_COLUMNS.items():
        for c in cols:
            family_ids |= _values(ds.tables.get(table), c)
    family_ids |= _values(ds.contacts, "family_id")
    pmap, fmap = _mapping(person_ids, "p-", key), _mapping(family_ids, "f-", key)

    tables = {}
    for table, df in ds.tables.items():
        df = df.copy()
        contract = TABLES[table].columns if table in TABLES else tuple(df.columns)
        extra = [c for c in df.columns if c not in contract and f"{table}.{c}" not in keep]
        df = df.drop(columns=extra)
        for c in _PERSON_COLUMNS.get(table, ()):
            if c in df:
                df[c] = _apply(df[c], pmap)
        for c in _FAMILY_COLUMNS.get(table, ()):
            if c in df:
                df[c] = _apply(df[c], fmap)
        for c in _DROP_VALUES.get(table, ()):
            if c in df:
                df[c] = pd.Series([None] * len(df), index=df.index, dtype=object)
        if table == "ties" and "to_name" in df:
            unmatched = df["to_person_id"].isna() & df["to_name"].notna()
            df["to_name"] = pd.Series(np.where(unmatched, UNMATCHED_NAME, None), index=df.index, dtype=object)
        tables[table] = df
    contacts = ds.contacts.copy()
    if "family_id" in contacts:
        contacts["family_id"] = _apply(contacts["family_id"], fmap)
    if "note" in contacts:
        contacts["note"] = pd.Series([None] * len(contacts), index=contacts.index, dtype=object)
    contacts = contacts[[c for c in contacts.columns
                         if c in ("id", "family_id", "contacted_on", "note", "recorded_at")
                         or f"contacts.{c}" in keep]]
    return Dataset(tables=tables, contacts=contacts)


def pseudonym(value: str, *, salt: str | bytes, prefix: str = "p-") -> str:
    """The pseudonym of one id: ``prefix`` + the first 12 hex digits of HMAC-SHA256(salt, id).

    (``pseudonymize`` lengthens all pseudonyms of a kind to 20 digits in the astronomically rare case
    that two ids of one dataset share the first 12.)

    >>> pseudonym("F000001", salt="s3cret", prefix="f-")
    'f-2a3090f9d9c9'
    """
    return prefix + _digest(_key(salt), str(value))[:_HEX]


def suppress_small(value, min_count: int = 10):
    """A count as it may be shown to an audience that must not single anyone out.

    Counts from 1 to ``min_count - 1`` become the text ``"<min_count"`` (``"<10"``); 0 and counts of at
    least ``min_count`` come back as ints; None and NaN as None; a label already suppressed
    ("<10", "suppressed") unchanged. A negative or fractional count raises QueryError. Small numbers are
    hidden because a cell of 3 graduates of one race at one site can be one family's story.

    >>> [suppress_small(n) for n in (0, 1, 9, 10, 250)]
    [0, '<10', '<10', 10, 250]
    >>> suppress_small(4, min_count=5), suppress_small(5, min_count=5)
    ('<5', 5)
    """
    k = _check_min_count(min_count)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        if value == SUPPRESSED or value.startswith("<"):
            return value
        raise QueryError(f"a count must be a whole number; got the text {value!r}")
    if isinstance(value, (bool, np.bool_)):
        raise QueryError(f"a count must be a whole number; got {value!r}")
    try:
        n = float(value)
    except (TypeError, ValueError) as e:
        raise QueryError(f"a count must be a whole number; got {value!r}") from e
    if math.isnan(n):
        return None
    if n < 0 or n != int(n):
        raise QueryError(f"a count must be a whole number, 0 or more; got {value!r}")
    n = int(n)
    return f"<{k}" if 1 <= n < k else n


def suppress_frame(df: pd.DataFrame, count_columns: Iterable[str], min_count: int = 10, *,
                   by: str | list[str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` with small counts suppressed and protected against differencing.

    1. *Primary suppression*: each count from 1 to ``min_count - 1`` in ``count_columns`` becomes
       ``"<min_count"``.
    2. *Complementary suppression*: a hidden cell could be worked out by subtracting the shown cells
       from a total (a row's total over ``count_columns``, or a column's total over the rows of a group:
       the whole frame, or each group of ``by``). So wherever exactly one cell of a row (when there are
       two or more count columns) or of a column within a group (two or more rows) is hidden, the
       smallest other non-zero count there is hidden too, labelled ``"suppressed"`` (it is not small;
       it is hidden to protect the small one). Repeated until no row or group has a lone hidden cell.

    Zeros stay visible (they single no one out) and are never used as the complement; when a lone
    hidden cell has no non-zero partner, its total equals it and must not be published separately.
    Other columns are unchanged.

    >>> df = pd.DataFrame({"site": ["S1", "S1", "S1", "S2", "S2"], "race": ["A", "B", "C", "A", "B"],
    ...                    "graduates": [3, 40, 25, 12, 30]})
    >>> suppress_frame(df, ["graduates"], by="site")   # S1's total would give its 3 away without the 25
      site race   graduates
    0   S1    A         <10
    1   S1    B          40
    2   S1    C  suppressed
    3   S2    A          12
    4   S2    B          30
    """
    if not isinstance(df, pd.DataFrame):
        raise QueryError(f"suppress_frame needs a pandas DataFrame; got {type(df).__name__}")
    k = _check_min_count(min_count)
    cols = [count_columns] if isinstance(count_columns, str) else list(count_columns)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise QueryError(f"no column {', '.join(map(repr, missing))} to suppress; columns are {list(df.columns)}")
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    bad = [c for c in by_cols if c not in df.columns]
    if bad:
        raise QueryError(f"cannot group by {', '.join(map(repr, bad))}: no such column")
    out = df.copy()
    if out.empty or not cols:
        return out
    shown = [[suppress_small(v, k) for v in out[c]] for c in cols]
    # numbers to choose the smallest complement by; labels and missing values are never chosen
    values = np.array([[np.nan if v is None or isinstance(v, str) else float(v) for v in col] for col in shown],
                      dtype=float).T                                      # rows x columns
    primary = np.array([[isinstance(v, str) and v.startswith("<") for v in col] for col in shown], dtype=bool).T
    hidden = primary | np.array([[v == SUPPRESSED for v in col] for col in shown], dtype=bool).T
    groups = (list(out.groupby(by_cols, sort=False, dropna=False).indices.values()) if by_cols
              else [np.arange(len(out))])
    groups = [np.asarray(g) for g in groups]
    changed = True
    while changed:
        changed = False
        if len(cols) >= 2:
            for i in range(len(out)):
                changed |= _complement(values[i], hidden[i])
        if len(out) >= 2:
            for j in range(len(cols)):
                for g in groups:
                    if len(g) >= 2:
                        col_hidden = hidden[g, j]
                        if _complement(values[g, j], col_hidden):
                            hidden[g, j] = col_hidden
                            changed = True
    for j, c in enumerate(cols):
        out[c] = pd.Series([f"<{k}" if primary[i, j] else (SUPPRESSED if hidden[i, j] else shown[j][i])
                            for i in range(len(out))], index=out.index, dtype=object)
    return out


def for_audience(ds: Dataset, audience: str, *, salt: str | bytes | None = None,
                 consent_default: str = "yes") -> Dataset:
    """The dataset an audience's pages may compute on.

    coordinator: ``ds`` itself, unchanged (they run the program, so they see everyone, consent or not).
    evaluator: the people who consented (:func:`with_consent`, an empty consent cell counting as
    ``consent_default``: the caller passes the setting CIVICTIES_CONSENT_DEFAULT), then
    :func:`pseudonymize` (``salt`` required). funder: the same; funder pages must also pass every count
    they show through :func:`suppress_small` / :func:`suppress_frame` and never list individual people.

    >>> from queries.pipeline import _doc_dataset
    >>> ds = _doc_dataset()
    >>> for_audience(ds, "coordinator") is ds, for_audience(ds, "funder", salt="k").people["name"].isna().all().item()
    (True, True)
    >>> len(for_audience(ds, "evaluator", salt="k", consent_default="no").people)   # nobody said yes
    0
    """
    if audience not in AUDIENCES:
        raise QueryError(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCES)}")
    if audience == "coordinator":
        return ds
    if not salt:
        raise QueryError(f"the {audience} view needs a salt to pseudonymize people (see default_salt)")
    return pseudonymize(with_consent(ds, default=consent_default), salt=salt)


def with_consent(ds: Dataset, *, default: str = "yes") -> Dataset:
    """The dataset as if the people who have not consented had never been in it.

    A person stays when their ``people.consent`` is "yes", or when it is empty and ``default`` is "yes"
    (the program's setting CIVICTIES_CONSENT_DEFAULT, passed in by the caller). "no", "withdrawn" and
    anything else leave them out, with every row that speaks of them:

    - their enrollments, attendance and appointments, and home visits they made as a teacher;
    - every tie they reported and every tie naming them, so a consenting person's answer that names
      a non-consenting one goes too (otherwise the network would still show where they are);
    - names they typed that matched no one (they go with their ties);
    - home visits to and contacts with a family all of whose members are left out (a family with a
      consenting member keeps them: the visit is also that member's).

    Sites, cohorts, events, schools and bodies are kept whole; columns are unchanged; the original is not
    changed. Every count, rate and network measure computed on the result therefore leaves them out:
    a cohort's size, its graduation rate, a consenting person's degree. Withdrawn consent is honoured by
    the next computation on freshly read data; nothing is erased from the store (see ``civicties erase``).

    >>> from queries.pipeline import _doc_dataset
    >>> ds = _doc_dataset()                                   # a -> b tie; a visits b's family
    >>> ds.people["consent"] = ["yes", "withdrawn", None]
    >>> kept = with_consent(ds)
    >>> kept.people["person_id"].tolist(), len(kept.ties), len(kept.home_visits)
    (['a', 'c'], 0, 0)
    >>> with_consent(ds, default="no").people["person_id"].tolist()   # c's empty cell now means no
    ['a']
    """
    given, default = default, _consent_value(default)
    if default not in CONSENT_VALUES:
        raise QueryError(f"the consent default must be one of {', '.join(CONSENT_VALUES)}; got {given!r}")
    t = ds.tables
    people = t["people"]
    if "consent" in people:
        consent = people["consent"].map(_consent_value).replace("", default)
    else:
        consent = pd.Series(default, index=people.index, dtype=object)
    keep = consent == "yes"
    if keep.all():
        return Dataset(tables=dict(t), contacts=ds.contacts)
    out_ids = set(people.loc[~keep, "person_id"])
    gone_families = set(people.loc[~keep, "family_id"].dropna()) - set(people.loc[keep, "family_id"].dropna())
    out = dict(t)
    out["people"] = people[keep]
    ties = t["ties"]
    out["ties"] = ties[~(ties["from_person_id"].isin(out_ids) | ties["to_person_id"].isin(out_ids))]
    for table in ("enrollments", "attendance", "appointments"):
        out[table] = t[table][~t[table]["person_id"].isin(out_ids)]
    visits = t["home_visits"]
    out["home_visits"] = visits[~(visits["teacher_id"].isin(out_ids) | visits["family_id"].isin(gone_families))]
    out = {name: df.reset_index(drop=True) for name, df in out.items()}
    contacts = ds.contacts
    if "family_id" in contacts:
        contacts = contacts[~contacts["family_id"].isin(gone_families)].reset_index(drop=True)
    return Dataset(tables=out, contacts=contacts)


def restrict_to_sites(ds: Dataset, sites: Iterable[str]) -> Dataset:
    """Only what belongs to ``sites``: what a coordinator of those sites may receive.

    - people whose ``site_id`` is one of the sites (people with no site belong to none);
    - families: only through those people (a family split across sites shows its members of these sites);
    - cohorts and events held at the sites (an event without a site: when one of these people attended);
    - enrollments, attendance and appointments of those people; ties whose both ends are among them (a tie
      named by one of them to a name that matched nobody is kept: it is their own answer);
    - home visits to their families by teachers of the sites; contacts with their families;
    - the sites themselves. Schools and bodies (public institutions) are kept whole.

    Nothing of another site's people (id, name, contact details, ties, visits) is left. Columns are unchanged.

    >>> from queries.pipeline import _doc_dataset
    >>> ds = _doc_dataset()
    >>> sorted(restrict_to_sites(ds, ["S1"]).people["person_id"]) == sorted(ds.people.loc[ds.people["site_id"] == "S1", "person_id"])
    True
    """
    keep_sites = {str(s) for s in sites}
    t = ds.tables
    people = t["people"][t["people"]["site_id"].isin(keep_sites)]
    pids = set(people["person_id"])
    families = set(people["family_id"].dropna())
    cohorts = t["cohorts"][t["cohorts"]["site_id"].isin(keep_sites)]
    attended = t["attendance"][t["attendance"]["person_id"].isin(pids)]
    events = t["events"]
    events = events[events["site_id"].isin(keep_sites)
                    | (events["site_id"].isna() & events["event_id"].isin(set(attended["event_id"])))]
    ties = t["ties"]
    ties = ties[ties["from_person_id"].isin(pids) & (ties["to_person_id"].isin(pids) | ties["to_person_id"].isna())]
    visits = t["home_visits"]
    out = dict(t)
    out.update({
        "people": people,
        "sites": t["sites"][t["sites"]["site_id"].isin(keep_sites)],
        "cohorts": cohorts,
        "enrollments": t["enrollments"][t["enrollments"]["person_id"].isin(pids)
                                        & t["enrollments"]["cohort_id"].isin(set(cohorts["cohort_id"]))],
        "events": events,
        "attendance": attended[attended["event_id"].isin(set(events["event_id"]))],
        "ties": ties,
        "home_visits": visits[visits["family_id"].isin(families) & visits["teacher_id"].isin(pids)],
        "appointments": t["appointments"][t["appointments"]["person_id"].isin(pids)],
    })
    out = {name: df.reset_index(drop=True) for name, df in out.items()}
    contacts = ds.contacts
    if "family_id" in contacts:
        contacts = contacts[contacts["family_id"].isin(families)].reset_index(drop=True)
    return Dataset(tables=out, contacts=contacts)


def default_salt(uri: str = "") -> str:
    """The pseudonym salt for a store: derived from the secret in the environment variable
    ``CIVICTIES_PSEUDONYM_SALT`` and the store's URI (so two stores never share pseudonyms).

    Without that variable the secret is one made once and kept in CIVICTIES_DATA_DIR/pseudonym.key
    (civicties.settings.pseudonym_secret), so pseudonyms stay the same across restarts and downloads.
    """
    from civicties.settings import pseudonym_secret
    return _digest(pseudonym_secret().encode("utf-8"), str(uri))


# -- private helpers ---------------------------------------------------------------------


def _key(salt) -> bytes:
    if isinstance(salt, str) and salt:
        return salt.encode("utf-8")
    if isinstance(salt, (bytes, bytearray)) and salt:
        return bytes(salt)
    raise QueryError("salt must be a non-empty text or bytes (keep it secret; see default_salt)")


def _consent_value(value) -> str:
    """A consent cell as compared: trimmed and lower-cased, "" for an empty cell (None, NaN, blank)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip().lower()


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _values(df: pd.DataFrame | None, col: str) -> set:
    if df is None or col not in df:
        return set()
    return {v for v in df[col].dropna().unique() if v != ""}


def _mapping(ids: set, prefix: str, key: bytes) -> dict:
    digests = {i: _digest(key, str(i)) for i in ids}
    for n in (_HEX, 20, 64):
        mapping = {i: prefix + d[:n] for i, d in digests.items()}
        if len(set(mapping.values())) == len(mapping):
            return mapping
    raise QueryError("two different ids have the same HMAC-SHA256: this should be impossible")


def _apply(s: pd.Series, mapping: dict) -> pd.Series:
    out = s.map(mapping)
    return out.astype(object).where(out.notna(), None)


def _check_min_count(min_count) -> int:
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise QueryError(f"min_count must be a whole number of 1 or more; got {min_count!r}")
    return int(min_count)


def _complement(values: np.ndarray, hidden: np.ndarray) -> bool:
    """If exactly one cell is hidden, hide the smallest other non-zero shown cell (in place). Changed?"""
    if hidden.sum() != 1:
        return False
    candidates = np.flatnonzero(~hidden & ~np.isnan(values) & (values > 0))
    if not len(candidates):
        return False
    pick = candidates[np.argmin(values[candidates])]
    hidden[pick] = True
    return True

"""The permutation engine behind every significance test in ``queries``: group labels shuffled
within strata (cohorts), many times, fast.

A test keeps the network fixed and shuffles which person carries which label; the statistic
(E-I, the change in E-I, ...) is recomputed for each shuffle to give its distribution under
"labels are unrelated to ties". People are laid out so that each stratum is a contiguous block;
a shuffle is then a permutation of positions within each block. Shuffles are drawn in fixed-size
batches, each batch from its own child of ``numpy.random.SeedSequence(seed)``, so a result depends
on the seed alone -- not on how many threads drew the batches (the sorting and drawing release the
GIL, so batches run on every core).

>>> sh = Shuffler(np.array([0, 0, 0, 1, 1]))
>>> perms = np.vstack([p for p in sh.batches(4, seed=1)])
>>> perms.shape, sorted(perms[0][:3].tolist()), sorted(perms[0][3:].tolist())
((4, 5), [0, 1, 2], [3, 4])
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from queries.arrays import ArrayNetwork, is_missing, sorted_groups
from queries.errors import QueryError

__all__ = ["Shuffler", "GroupBlocks", "cross_by_group", "strata_layout", "check_permutations", "method_text",
           "small_codes", "null_summary", "ei_from_counts", "two_sided_p", "BATCH"]

#: Shuffles per batch (each batch has its own random stream).
BATCH = 50
#: Blocks at least this big are shuffled on their own; smaller ones together, padded to a width.
_LARGE = 512


class Shuffler:
    """Within-block permutations of positions ``0..n-1``; ``strata_codes`` must be sorted (blocks contiguous)."""

    def __init__(self, strata_codes: np.ndarray):
        strata_codes = np.asarray(strata_codes)
        n = self.n = len(strata_codes)
        if n and (np.diff(strata_codes) < 0).any():
            raise ValueError("strata_codes must be sorted so that each stratum is one block")
        starts = np.r_[0, np.flatnonzero(np.diff(strata_codes)) + 1] if n else np.zeros(0, dtype=np.int64)
        ends = np.r_[starts[1:], n] if n else starts
        sizes = ends - starts
        self.large = [(int(a), int(e)) for a, e, s in zip(starts, ends, sizes) if s >= _LARGE]
        # small blocks, grouped by size: each size's blocks are the rows of one matrix of positions, and a
        # shuffle permutes every row on its own (Generator.permuted: Fisher-Yates, no sort, no padding)
        dtype = np.int32 if n < 2 ** 31 else np.int64
        by_size: dict[int, list] = {}
        for a, s in zip(starts, sizes):
            if 1 < s < _LARGE:
                by_size.setdefault(int(s), []).append(int(a))
        self.small = [(np.asarray(firsts, dtype=dtype)[:, None] + np.arange(size, dtype=dtype)[None, :])
                      for size, firsts in sorted(by_size.items())]

    def draw(self, rng: np.random.Generator, b: int) -> np.ndarray:
        """``b`` shuffles: a (b, n) array whose row r says which position's label position i gets."""
        out = np.broadcast_to(np.arange(self.n), (b, self.n)).copy()
        for a, e in self.large:
            for row in out:
                row[a:e] = a + rng.permutation(e - a)
        for mat in self.small:
            picked = rng.permuted(np.broadcast_to(mat, (b,) + mat.shape), axis=2)
            out[:, mat.ravel()] = picked.reshape(b, -1)
        return out

    def batches(self, n_permutations: int, *, seed, workers: int | None = None) -> Iterator[np.ndarray]:
        """Yield ``n_permutations`` shuffles in batches of :data:`BATCH`, in a fixed order, drawn in threads."""
        sizes = [min(BATCH, n_permutations - i) for i in range(0, n_permutations, BATCH)]
        children = np.random.SeedSequence(seed).spawn(len(sizes))
        workers = workers or min(os.cpu_count() or 1, 4)
        if workers == 1 or len(sizes) == 1:
            for size, child in zip(sizes, children):
                yield self.draw(np.random.default_rng(child), size)
            return
        with ThreadPoolExecutor(workers) as pool:
            yield from pool.map(lambda sc: self.draw(np.random.default_rng(sc[1]), sc[0]), zip(sizes, children))

    def map(self, n_permutations: int, stat, *, seed, workers: int | None = None) -> np.ndarray:
        """``stat(perm_row) -> array`` for each shuffle, stacked: (n_permutations, ...) in a fixed order.

        The statistic runs in the drawing threads too (numpy's gathers and sorts release the GIL).
        """
        sizes = [min(BATCH, n_permutations - i) for i in range(0, n_permutations, BATCH)]
        children = np.random.SeedSequence(seed).spawn(len(sizes))
        workers = workers or min(os.cpu_count() or 1, 4)

        def one(job):
            size, child = job
            perms = self.draw(np.random.default_rng(child), size)
            return np.stack([np.asarray(stat(row)) for row in perms])

        if workers == 1 or len(sizes) == 1:
            parts = [one(job) for job in zip(sizes, children)]
        else:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(one, zip(sizes, children)))
        return np.concatenate(parts) if parts else np.zeros((0,))


def two_sided_p(null: np.ndarray, observed, expected):
    """Two-sided permutation p-value with the +1 correction:
    ``(#{|null - expected| >= |observed - expected|} + 1) / (len(null) + 1)``; per column when
    ``null`` has more than one dimension (a float for one test, an array for many).

    A small tolerance counts ties with the observed value (exact in theory, off by floating-point
    rounding) as "at least as extreme".

    >>> two_sided_p(np.array([0.0, 0.1, -0.1, 0.5]), 0.5, 0.0)
    0.4
    """
    extreme = np.abs(null - expected) >= np.abs(observed - expected) - 1e-12
    p = (extreme.sum(axis=0) + 1) / (len(null) + 1)
    return float(p) if np.ndim(p) == 0 else p


def null_summary(observed, null):
    """The permutation baseline per column: (expected = mean of the null, its sd, two-sided p-value).

    ``null``: (permutations, ...) with the shape of ``observed`` after the first axis.
    """
    n = len(null)
    shape = np.shape(observed)
    # each column summed as one contiguous run: the same rounding as the mean of that column alone
    columns = np.ascontiguousarray(np.moveaxis(null, 0, -1))
    expected = columns.mean(axis=-1) if n else np.full(shape, np.nan)
    sd = columns.std(axis=-1, ddof=1) if n > 1 else np.zeros(shape)
    return expected, sd, two_sided_p(null, observed, expected)


def ei_from_counts(cross, totals):
    """E-I index from cross-group tie counts over qualifying ties: ``(2 cross - total) / total`` (any
    shape; NaN where there are no ties)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, (2.0 * cross - totals) / np.where(totals > 0, totals, 1), np.nan)


class GroupBlocks:
    """Many small tests stacked as the blocks of one permutation: one block per group.

    Group g's test looks at the ties touching its members (``edge_sets``: one or more sets of undirected
    ties, each as arrays of positions ``u``, ``v``; a tie counts for every group of either end) and
    shuffles labels among the people at the ends of those ties (and, with ``with_members``, the members
    themselves, tied or not). Stacking every group's people as one block of a long array lets one
    :class:`Shuffler` draw a permutation inside every group at once, so 2,000 cohorts cost one pass.

    ``members``: (positions, group indexes) arrays, one row per membership (a person may be in several
    groups); ``n``: people in the network; ``k``: number of groups.
    """

    def __init__(self, n: int, members: tuple[np.ndarray, np.ndarray], k: int, edge_sets, *,
                 with_members: bool = True):
        self.n, self.k = max(int(n), 1), int(k)
        pos, grp = (np.asarray(a, dtype=np.int64) for a in members)
        order = np.argsort(pos, kind="stable")
        self._pos, self._grp = pos[order], grp[order]
        self.entries = [self._entries(np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64))
                        for u, v in edge_sets]
        people = [self._grp * self.n + self._pos] if with_members else []
        for x in self.entries:
            g, key = x // (self.n * self.n), x % (self.n * self.n)
            people += [g * self.n + key // self.n, g * self.n + key % self.n]
        self.people = np.unique(np.concatenate(people)) if people else np.zeros(0, dtype=np.int64)

    def _groups_of(self, p):
        """(row of p, group) for each membership of each position in p."""
        lo, hi = np.searchsorted(self._pos, p, "left"), np.searchsorted(self._pos, p, "right")
        counts = hi - lo
        rows = np.repeat(np.arange(len(p)), counts)
        at = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        return rows, self._grp[at]

    def _entries(self, u, v):
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        key = lo * self.n + hi
        parts = []
        for end in (lo, hi):
            rows, g = self._groups_of(end)
            parts.append(g * (self.n * self.n) + key[rows])
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def group_of(self, entries):
        return entries // (self.n * self.n)

    def labelled_groups(self, codes: np.ndarray) -> np.ndarray:
        """The group of each stacked person with a label (the order of :meth:`layout`'s labels)."""
        return self.people[codes[self.people % self.n] >= 0] // self.n

    def layout(self, codes: np.ndarray):
        """For one attribute: the labelled stacked people's codes, their :class:`Shuffler`, and ``ends``
        (entries -> (group bounds, u, v) in stacked positions, ties with an unlabelled end left out)."""
        n, nn = self.n, self.n * self.n
        known = codes[self.people % n] >= 0
        keys = self.people[known]
        labels = small_codes(codes[keys % n])
        shuffler = Shuffler(keys // n)

        def ends(x):
            g, key = x // nn, x % nn
            ku, kv = g * n + key // n, g * n + key % n
            last = max(len(keys) - 1, 0)
            u = np.minimum(np.searchsorted(keys, ku), last)
            v = np.minimum(np.searchsorted(keys, kv), last)
            ok = (keys[u] == ku) & (keys[v] == kv) if len(keys) else np.zeros(len(x), dtype=bool)
            return np.searchsorted(g[ok], np.arange(self.k + 1)), u[ok], v[ok]

        return labels, shuffler, ends


def cross_by_group(x: np.ndarray, sets) -> np.ndarray:
    """Per set and group: ties whose two ends carry different labels ``x`` (sets from ``GroupBlocks.layout``)."""
    out = []
    for bounds, u, v in sets:
        running = np.concatenate([[0], np.cumsum(x.take(u) != x.take(v))])
        out.append(running[bounds[1:]] - running[bounds[:-1]])
    return np.stack(out)


def check_permutations(n_permutations):
    if not isinstance(n_permutations, (int, np.integer)) or isinstance(n_permutations, bool) or n_permutations < 1:
        raise QueryError(f"n_permutations must be a positive integer; got {n_permutations!r}")


def method_text(n_permutations, strata):
    where = ""
    if strata is not None:
        where = f" within strata ({strata!r})" if isinstance(strata, str) else " within strata"
    return f"label permutation, {n_permutations} shuffles{where}"


def _stratum_codes(net: ArrayNetwork, people, strata) -> np.ndarray:
    """One integer per person in ``people`` (positions): their stratum; missing strata share one code."""
    if strata is None:
        return np.zeros(len(people), dtype=np.int64)
    if isinstance(strata, str):
        raw = net.column(strata)[people]
    elif isinstance(strata, Mapping):
        raw = [strata.get(v) for v in net.ids[people].tolist()]
    else:
        raise QueryError("strata must be a node -> stratum mapping or a node attribute name")
    keys = {s: i for i, s in enumerate(sorted_groups({s for s in raw if not is_missing(s)}))}
    return np.array([len(keys) if is_missing(s) else keys[s] for s in raw], dtype=np.int64)


def strata_layout(net: ArrayNetwork, known: np.ndarray, strata):
    """The people to shuffle among (positions where ``known``), sorted so each stratum is one block;
    each network position's place in that order (-1 if not shuffled); and a :class:`Shuffler`."""
    people = np.flatnonzero(known)
    stratum = _stratum_codes(net, people, strata)
    order = np.argsort(stratum, kind="stable")
    people = people[order]
    local = np.full(net.n, -1, dtype=np.int64)
    local[people] = np.arange(len(people))
    return people, local, Shuffler(stratum[order])


def small_codes(codes: np.ndarray) -> np.ndarray:
    """Codes in the smallest integer type that holds them (faster gathers)."""
    return codes.astype(np.int8 if codes.max(initial=0) < 127 else np.int32)

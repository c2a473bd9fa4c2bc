"""The exact mean and variance of cross-group tie counts under label permutation, and the normal p-value
they give: the large-network shortcut of the permutation tests (queries/permutation.py).

A permutation test of E-I shuffles which person carries which group label and counts, for each shuffle,
the ties whose two ends differ. For a big network, a thousand shuffles cost seconds each time, and their
p-values stop at 1/1001, too coarse for the false discovery rate over thousands of cohort tests. The
shuffle distribution's mean and variance are known exactly, in closed form (join-count statistics under
"non-free sampling", Cliff & Ord 1981, ch. 1-2): they depend only on the group sizes, the number of ties,
each person's tie count and the ties two sets share. With many ties the count is close to normal, so
``z = (observed - mean) / sd`` gives the p-value without drawing a shuffle.

Derivation (for ties without self-loops or duplicates). Among N shuffled people with group sizes n_k, the
chance that given distinct people all share a group is

    p2 = sum n_k(n_k-1) / N(N-1),   p3 = sum n_k(n_k-1)(n_k-2) / N(N-1)(N-2),
    p4 = [sum n_k(n_k-1)(n_k-2)(n_k-3) + sum_{k != l} n_k(n_k-1) n_l(n_l-1)] / N(N-1)(N-2)(N-3)

(p4: two disjoint pairs each within a group). W_A, the within-group ties of set A, sums an indicator per
tie, so E[W_A] = m_A p2 and, over the pairs (e in A, f in B) -- the same tie (s2 of them), sharing one
person (s1 = sum_i dA_i dB_i - 2 s2) or none (s0 = m_A m_B - s1 - s2) --

    Cov(W_A, W_B) = s2 (p2 - p2^2) + s1 (p3 - p2^2) + s0 (p4 - p2^2).

Cross-group ties are C = m - W: the same covariance, mean m (1 - p2). The tests check these against every
permutation of small networks (exact) and against 3,000-4,000 shuffles of bigger ones.

Reference: Cliff, A. D. & Ord, J. K. (1981). Spatial Processes: Models and Applications. Pion, London
(join-count statistics, moments under randomisation).

>>> labels = np.array([0, 0, 1, 1])                     # a path a-b-c-d, groups x x y y
>>> mean, cov = cross_moments(labels, [(np.array([0, 1, 2]), np.array([1, 2, 3]))])
>>> float(mean[0]), round(float(cov[0, 0]), 6)         # 6 labellings: 1, 2 or 3 cross ties, 2 each
(2.0, 0.666667)
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfc

__all__ = ["cross_moments", "group_cross_moments", "normal_p", "NORMAL_FROM", "method_text"]

#: From this many qualifying ties a test uses the exact moments and the normal p-value instead of
#: shuffles (docs/metrics.md, "Significance at scale": how closely its p-values follow 4,000 shuffles).
NORMAL_FROM = 100


def method_text(ties_from: int = NORMAL_FROM) -> str:
    return (f"normal approximation with the exact label-permutation mean and variance (join-count moments; "
            f"used from {ties_from:,} ties)")


def _same_group_chances(counts: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p2, p3, p4 (see the module) per row of ``counts`` (rows: populations; columns: groups)."""
    n = counts.astype(float)
    N = np.asarray(total, dtype=float)
    f2 = n * (n - 1)
    f3 = f2 * (n - 2)
    f4 = f3 * (n - 3)
    s2 = f2.sum(axis=-1)
    d2, d3, d4 = N * (N - 1), N * (N - 1) * (N - 2), N * (N - 1) * (N - 2) * (N - 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        p2 = np.where(d2 > 0, s2 / np.where(d2 > 0, d2, 1), 0.0)
        p3 = np.where(d3 > 0, f3.sum(axis=-1) / np.where(d3 > 0, d3, 1), 0.0)
        p4 = np.where(d4 > 0, (f4.sum(axis=-1) + s2 ** 2 - (f2 ** 2).sum(axis=-1)) / np.where(d4 > 0, d4, 1), 0.0)
    return p2, p3, p4


def _keys(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    return np.unique(lo.astype(np.int64) * max(n, 1) + hi)


def cross_moments(labels: np.ndarray, sets) -> tuple[np.ndarray, np.ndarray]:
    """Mean (S,) and covariance (S, S) of the cross-group tie counts of ``sets`` when ``labels`` are shuffled.

    ``labels``: each shuffled person's group code (0..K-1), positions 0..N-1; ``sets``: S tie sets, each
    ``(u, v)`` arrays of positions (undirected, no self-loop, each tie once per set).
    """
    labels = np.asarray(labels)
    N = len(labels)
    counts = np.bincount(labels, minlength=1)[None, :] if N else np.zeros((1, 1))
    p2, p3, p4 = (float(x[0]) for x in _same_group_chances(counts, np.array([N])))
    m = np.array([len(u) for u, _ in sets], dtype=float)
    deg = [np.bincount(u, minlength=N) + np.bincount(v, minlength=N) for u, v in sets]
    keys = [_keys(np.asarray(u), np.asarray(v), N) for u, v in sets]
    S = len(sets)
    cov = np.zeros((S, S))
    for a in range(S):
        for b in range(a, S):
            s2 = float(len(keys[a]) if a == b else len(np.intersect1d(keys[a], keys[b], assume_unique=True)))
            s1 = float(np.dot(deg[a].astype(float), deg[b].astype(float))) - 2 * s2
            s0 = m[a] * m[b] - s1 - s2
            cov[a, b] = cov[b, a] = s2 * (p2 - p2 * p2) + s1 * (p3 - p2 * p2) + s0 * (p4 - p2 * p2)
    return m * (1 - p2), cov


def group_cross_moments(labels: np.ndarray, group: np.ndarray, k: int, bounds: np.ndarray, u: np.ndarray,
                        v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each group's cross-group tie count when labels are shuffled within each group.

    Stacked layout of ``permutation.GroupBlocks``: ``labels`` and ``group`` per stacked person (groups
    contiguous), ``k`` groups, and each group's ties ``u[bounds[g]:bounds[g+1]]``, ``v[...]`` (stacked
    positions inside that group's block). Returns (mean, variance), one entry per group.
    """
    labels, group = np.asarray(labels, dtype=np.int64), np.asarray(group, dtype=np.int64)
    K = int(labels.max(initial=0)) + 1
    counts = np.bincount(group * K + labels, minlength=k * K).reshape(k, K)
    N = np.bincount(group, minlength=k)
    p2, p3, p4 = _same_group_chances(counts, N)
    m = np.diff(bounds).astype(float)
    d = (np.bincount(u, minlength=len(labels)) + np.bincount(v, minlength=len(labels))).astype(float)
    s1 = np.bincount(group, weights=d * (d - 1), minlength=k)
    s0 = m * m - s1 - m
    var = m * (p2 - p2 * p2) + s1 * (p3 - p2 * p2) + s0 * (p4 - p2 * p2)
    return m * (1 - p2), np.maximum(var, 0.0)


def normal_p(observed, expected, sd, *, continuity: float = 0.5) -> np.ndarray:
    """Two-sided p-value of a count ``observed`` against a normal(expected, sd), with a continuity correction
    (the shuffles' p counts the observed count itself as "at least as extreme"); 1 where sd is 0 and observed
    is the expected value, 0 where sd is 0 and it is not.

    >>> [round(float(p), 4) for p in normal_p([2.46, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0])]
    [0.05, 1.0, 1.0]
    """
    observed, expected, sd = (np.asarray(x, dtype=float) for x in (observed, expected, sd))
    dev = np.maximum(np.abs(observed - expected) - continuity, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, dev / np.where(sd > 0, sd, 1), np.where(dev > 1e-9, np.inf, 0.0))
    return erfc(z / np.sqrt(2.0))

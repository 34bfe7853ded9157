"""Simon's optimal and minimax designs and the admissible designs between them, by exact search.

Ties between expected sample sizes are decided with a relative tolerance of ``EN_RELATIVE_TOLERANCE``
(1e-12): a and b tie when |a − b| ≤ 1e-12·max(|a|, |b|). Feasibility is decided on floating-point
sums, so a design whose exact type I error or power sits within ~1e-15 of its bound may be classified
either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from designs.core.caveats import caveat
from designs.core.errors import InfeasibleDesignError, InvalidInputError
from designs.core.provenance import provenance
from designs.simon.binomial import BinomialTables, Pairs, Stage1Terms, binomial_tables, characteristics_from_tables
from designs.simon.results import AdmissibleDesign, SimonDesign, SimonSearchResult
from designs.simon.validation import NMAX_LIMIT, check_error_rate, check_int, check_response_rate

EN_RELATIVE_TOLERANCE = 1e-12
"""Two expected sample sizes (or two hull slopes) within this relative distance are treated as equal."""


def _design(r1: int, n1: int, r: int, n: int, null: BinomialTables, alternative: BinomialTables
            ) -> SimonDesign:
    pet_null, expected_n_null, type_i_error = characteristics_from_tables(r1, n1, r, n, null)
    power = characteristics_from_tables(r1, n1, r, n, alternative)[2]
    return SimonDesign(r1, n1, r, n, expected_n_null, pet_null, type_i_error, power)


def _ties(a: float, b: float) -> bool:
    return abs(a - b) <= EN_RELATIVE_TOLERANCE * max(abs(a), abs(b))


@dataclass(frozen=True)
class _BestAtN:
    """The least-EN(p0) feasible design with total n (ties: smaller n1, then smaller r1)."""

    n: int
    n1: int
    r1: int
    r: int
    expected_n_null: float


def _smallest_possible_n(alpha: float, beta: float, nmax: int, null: BinomialTables,
                         alternative: BinomialTables) -> int | None:
    """Smallest n whose most powerful (randomised, one-stage) level-alpha test reaches power 1 − beta.

    A two-stage design with total n is a non-randomised level-alpha test on the first n patients, so
    by the Neyman–Pearson lemma its power cannot exceed this test's: no smaller n can be feasible.
    """
    offset = null.offset
    ns = np.arange(nmax + 1)
    tail_null = null.sf[:, offset : offset + nmax + 1]  # P0(X > c), c = 0..nmax
    critical = np.count_nonzero(tail_null > alpha, axis=1)  # least c with P0(X > c) ≤ alpha
    randomise = (alpha - tail_null[ns, critical]) / null.pmf[ns, critical]
    power = alternative.sf[ns, critical + offset] + randomise * alternative.pmf[ns, critical]
    # Generous by 1e-9: this is only a bound, so rounding must not exclude a feasible n.
    reachable = np.flatnonzero((power >= 1.0 - beta - 1e-9) & (ns >= 2))
    return int(reachable[0]) if reachable.size else None


def _r_hat_by_bisection(terms: Stage1Terms, r1: np.ndarray, n: int, target: float) -> np.ndarray:
    """r̂ = max{r ≥ r1 : P(promising | p1) ≥ target} at total n, for pairs whose r = r1 meets it."""
    offset = terms.alternative.offset
    # P(promising) ≤ P(X > r), so every r from the first r failing that single-stage bound fails too.
    first_failing = int(np.count_nonzero(terms.alternative.sf[n, offset : offset + n + 1] >= target))
    low = r1.copy()
    high = np.maximum(first_failing, low + 1)
    while (high - low > 1).any():
        middle = (low + high) // 2
        meets = terms.promising(n, middle, under_null=False) >= target
        low = np.where(meets, middle, low)
        high = np.where(meets, high, middle)
    return low


def _best_design_per_n(p0: float, p1: float, alpha: float, beta: float, nmax: int
                       ) -> tuple[list[_BestAtN], bool]:
    """The least-EN(p0) design for each n that could be minimax, optimal or admissible.

    Returns the designs (increasing n, strictly decreasing EN(p0)) and whether the search proved that
    no design with any n, even above nmax, has a smaller EN(p0) than the last one.

    How the search stays exact without visiting every (n, n1, r1, r):

    * For fixed (n1, r1, n), EN(p0) does not depend on r and both error probabilities fall as r grows,
      so (n1, r1, n) is feasible iff its type I error is ≤ alpha at r̂ = max{r : power ≥ 1 − beta};
      r̂ is the design's r (the feasible r with the smallest type I error, as clinfun's ph2simon).
    * Power ≥ 1 − beta needs PET(p1) ≤ beta, which bounds r1 above for each n1.
    * n is visited in increasing order. A design whose EN(p0) is not below the least EN(p0) found at a
      smaller n is dominated (larger n, no smaller EN) and can be none of optimal, minimax, admissible,
      so it is skipped: this bounds r1 below, and n1 < best EN. EN(p0) of a fixed (n1, r1) grows with n,
      so a pair once skipped stays skipped; when no pair is left and no new n1 can enter, stop.
    * Adding one stage-2 patient gives power_{n2+1}(r) = p1·power_{n2}(r − 1) + (1 − p1)·power_{n2}(r),
      so r̂ grows by 0 or 1 when n grows by 1: each (n1, r1) needs one power evaluation per n.
    * n starts at the Neyman–Pearson bound of ``_smallest_possible_n``.
    """
    null = binomial_tables(p0, nmax)
    alternative = binomial_tables(p1, nmax)
    offset = null.offset
    target = 1.0 - beta

    # Largest r1 with PET(p1) ≤ beta, i.e. P1(X1 > r1) ≥ 1 − beta (−1: no r1 for this n1). It is also
    # r̂ of a design whose stage 2 is still empty: the largest r with P1(X1 > r) ≥ 1 − beta.
    r1_high = np.count_nonzero(alternative.sf[:, offset:] >= target, axis=1) - 1

    start = _smallest_possible_n(alpha, beta, nmax, null, alternative)
    if start is None:
        return [], False

    # The pairs (n1, r1) still in the search and r̂ of each at the previous n.
    pairs = Pairs(null, alternative)
    n1_values = np.arange(1, start)
    counts = np.maximum(r1_high[n1_values] + 1, 0)
    pair_n1 = np.repeat(n1_values, counts)
    pair_r1 = np.arange(pair_n1.size) - np.repeat(np.cumsum(counts) - counts, counts)
    pairs.add(pair_n1, pair_r1, pair_r1)
    if pairs.size:
        for block, terms in pairs.blocks():
            pairs.r_hat[block] = _r_hat_by_bisection(terms, pairs.r1[block], start, target)

    best: list[_BestAtN] = []
    least_en = math.inf
    for n in range(start, nmax + 1):
        new_n1 = n - 1
        if n > start and new_n1 < least_en and r1_high[new_n1] >= 0:
            new_r1 = np.arange(r1_high[new_n1] + 1)
            pairs.add(np.full(new_r1.size, new_n1), new_r1, np.full(new_r1.size, r1_high[new_n1]))

        expected_n = pairs.n1 + null.sf[pairs.n1, pairs.r1 + offset] * (n - pairs.n1)
        keep = expected_n < least_en
        if not keep.all():
            pairs.keep(keep)
            expected_n = expected_n[keep]
        if pairs.size == 0:
            if n >= least_en:
                return best, True
            continue

        type_i_error = np.empty(pairs.size)
        for block, terms in pairs.blocks():
            if n > start:
                meets = terms.promising(n, pairs.r_hat[block] + 1, under_null=False) >= target
                pairs.r_hat[block] += meets
            type_i_error[block] = terms.promising(n, pairs.r_hat[block], under_null=True)

        feasible = np.flatnonzero(type_i_error <= alpha)
        if feasible.size == 0:
            continue
        en_feasible = expected_n[feasible]
        least_here = en_feasible.min()
        tied = feasible[en_feasible <= least_here + EN_RELATIVE_TOLERANCE * least_here]
        chosen = tied[np.lexsort((pairs.r1[tied], pairs.n1[tied]))[0]]
        best.append(_BestAtN(n, int(pairs.n1[chosen]), int(pairs.r1[chosen]), int(pairs.r_hat[chosen]),
                             float(expected_n[chosen])))
        least_en = float(least_here)
    return best, False


def _admissible_q_ranges(points: Sequence[tuple[int, float]]) -> list[tuple[int, float, float]]:
    """Indices and q ranges of the lower convex hull from points[0] (minimax) to points[-1] (optimal).

    ``points`` are (n, EN) with increasing n and decreasing EN. The loss q·n + (1 − q)·EN of point j
    falls below that of point i (n_i < n_j) when q < s/(1 + s), s = (EN_i − EN_j)/(n_j − n_i); walking
    from the minimax design, the next hull vertex is the point of largest s. Points whose slope ties
    the largest (relative tolerance ``EN_RELATIVE_TOLERANCE``) lie on the same edge and get q_range
    (q, q).
    """
    hull: list[tuple[int, float, float]] = []
    current, high = 0, 1.0
    last = len(points) - 1
    while current < last:
        n_here, en_here = points[current]
        later = range(current + 1, last + 1)
        slopes = [(en_here - points[j][1]) / (points[j][0] - n_here) for j in later]
        steepest = max(slopes)
        on_edge = [j for j, s in zip(later, slopes, strict=True)
                   if s >= steepest - EN_RELATIVE_TOLERANCE * abs(steepest)]
        q = steepest / (1.0 + steepest)
        hull.append((current, q, high))
        hull.extend((j, q, q) for j in on_edge[:-1])
        current, high = on_edge[-1], q
    hull.append((last, 0.0, high))
    return hull


SEARCH_METHOD = "exact binomial enumeration (Simon 1989; Jung et al. 2004)"


def search_designs(p0: float, p1: float, alpha: float, beta: float, nmax: int = 100) -> SimonSearchResult:
    """Simon's optimal and minimax designs and the admissible designs between them.

    Optimal: least EN(p0); designs whose EN(p0) ties (relative 1e-12) go to the smaller n.
    Minimax: least n; at that n the least EN(p0). Admissible (Jung, Lee, Kim & George 2004, "Admissible
    two-stage designs for phase II cancer clinical trials", Stat Med 23:561–569): the designs
    minimising q·n + (1 − q)·EN(p0) for some q in [0, 1], i.e. the lower convex hull of
    (n, least EN(p0) at n), from minimax (q up to 1) to optimal (q down to 0), ordered by n.
    Among designs with equal n and EN(p0), the one with smaller n1, then smaller r1, is reported, and
    its r is the largest feasible r (smallest type I error).

    Raises InvalidInputError for bad arguments and InfeasibleDesignError when no design with
    n ≤ nmax meets both error constraints.
    """
    p0 = check_response_rate("p0", p0)
    p1 = check_response_rate("p1", p1)
    if not p1 > p0:
        raise InvalidInputError("p1", f"must be greater than p0 = {p0}, got {p1}")
    alpha = check_error_rate("alpha", alpha)
    beta = check_error_rate("beta", beta)
    nmax = check_int("nmax", nmax, 2, NMAX_LIMIT)

    best, exhaustive = _best_design_per_n(p0, p1, alpha, beta, nmax)
    if not best:
        raise InfeasibleDesignError(
            f"no Simon two-stage design with n ≤ nmax = {nmax} has type I error ≤ {alpha} at p0 = {p0} "
            f"and power ≥ {1 - beta:g} at p1 = {p1}",
            suggestion=f"raise nmax (at most {NMAX_LIMIT}), or relax alpha or beta, or widen the gap p1 − p0",
        )

    least_en = min(design.expected_n_null for design in best)
    optimal_index = next(i for i, design in enumerate(best) if _ties(design.expected_n_null, least_en))
    candidates = best[: optimal_index + 1]
    hull = _admissible_q_ranges([(design.n, design.expected_n_null) for design in candidates])

    null, alternative = binomial_tables(p0, nmax), binomial_tables(p1, nmax)

    def exact(design: _BestAtN) -> SimonDesign:
        return _design(design.r1, design.n1, design.r, design.n, null, alternative)

    admissible = [AdmissibleDesign(**exact(candidates[i]).as_dict(), q_range=(lo, hi))
                  for i, lo, hi in hull]
    warnings = []
    if not exhaustive:
        warnings.append(caveat(
            "search-not-exhaustive",
            f"the search stopped at nmax = {nmax} before ruling out larger designs: a design with n > {nmax} "
            "might have a smaller EN(p0) than the optimal design reported; raise nmax to check",
        ))
    request = {"p0": p0, "p1": p1, "alpha": alpha, "beta": beta, "nmax": nmax}
    return SimonSearchResult(
        **request, optimal=exact(candidates[-1]), minimax=exact(candidates[0]), admissible=admissible,
        warnings=warnings, provenance=provenance(request, method=SEARCH_METHOD),
    )

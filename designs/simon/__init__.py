"""Exact Simon two-stage designs: search, operating characteristics and inference after the trial.

A design ``(r1, n1, r, n)`` treats ``n1`` patients, stops after stage 1 when the responders X1 ≤ r1,
otherwise treats ``n2 = n − n1`` more and declares the treatment promising when X1 + X2 > r
(Simon 1989, Controlled Clinical Trials 10:1–10). With X1 ~ Bin(n1, p) and X2 ~ Bin(n2, p):

    PET(p)                 = P(X1 ≤ r1)
    EN(p)                  = n1 + (1 − PET(p))·n2
    P(promising | p)       = Σ_{x1=r1+1}^{n1} P(X1 = x1)·P(X2 > r − x1)

A design is feasible when P(promising | p0) ≤ alpha and P(promising | p1) ≥ 1 − beta. Designs have
0 ≤ r1 < n1 < n and r1 ≤ r < n (r1 = −1, "never stop", is a one-stage design, not a Simon design).

Every probability is an exact binomial sum (no simulation). Ties between expected sample sizes are
decided with a relative tolerance of ``EN_RELATIVE_TOLERANCE`` (1e-12): a and b tie when
|a − b| ≤ 1e-12·max(|a|, |b|). Feasibility is decided on floating-point sums, so a design whose exact
type I error or power sits within ~1e-15 of its bound may be classified either way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import optimize, stats

from designs.core.errors import InfeasibleDesignError, InvalidInputError

EN_RELATIVE_TOLERANCE = 1e-12
"""Two expected sample sizes (or two hull slopes) within this relative distance are treated as equal."""

NMAX_LIMIT = 1000
"""Largest total sample size a search or an evaluation accepts."""

_ROOT_XTOL = 1e-12  # brentq tolerance on p for confidence bounds (well inside the 1e-8 promised)


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimonDesign:
    """One two-stage design and its exact operating characteristics at p0 and p1."""

    r1: int
    n1: int
    r: int
    n: int
    expected_n_null: float
    pet_null: float
    type_i_error: float
    power: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "r1": self.r1,
            "n1": self.n1,
            "r": self.r,
            "n": self.n,
            "expected_n_null": self.expected_n_null,
            "pet_null": self.pet_null,
            "type_i_error": self.type_i_error,
            "power": self.power,
        }


@dataclass(frozen=True)
class AdmissibleDesign(SimonDesign):
    """A design on the admissible boundary with the weights q for which it is the best design.

    ``q_range = (lo, hi)``: for every q in [lo, hi] the design minimises q·n + (1 − q)·EN(p0) over all
    feasible designs (Jung, Lee, Kim & George 2004). A design lying on a straight edge between two
    others is admissible at a single q and has lo == hi.
    """

    q_range: tuple[float, float] = (0.0, 1.0)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "q_range": self.q_range}


@dataclass(frozen=True)
class SimonSearchResult:
    """Optimal, minimax and admissible designs for one set of constraints."""

    p0: float
    p1: float
    alpha: float
    beta: float
    nmax: int
    optimal: SimonDesign
    minimax: SimonDesign
    admissible: list[AdmissibleDesign]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "p0": self.p0,
            "p1": self.p1,
            "alpha": self.alpha,
            "beta": self.beta,
            "nmax": self.nmax,
            "optimal": self.optimal.as_dict(),
            "minimax": self.minimax.as_dict(),
            "admissible": [design.as_dict() for design in self.admissible],
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def _check_real(field_name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InvalidInputError(field_name, f"must be a finite number, got {value!r}")
    return float(value)


def _check_int(field_name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidInputError(field_name, f"must be an integer, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise InvalidInputError(field_name, f"must be between {low} and {high}, got {value}")
    return value


def _check_open_probability(field_name: str, value: Any) -> float:
    value = _check_real(field_name, value)
    if not 0.0 < value < 1.0:
        raise InvalidInputError(field_name, f"must be strictly between 0 and 1, got {value}")
    return value


def _check_error_rate(field_name: str, value: Any) -> float:
    value = _check_real(field_name, value)
    if not 0.0 < value <= 0.5:
        raise InvalidInputError(field_name, f"must be in (0, 0.5], got {value}")
    return value


def _check_design(r1: Any, n1: Any, r: Any, n: Any) -> tuple[int, int, int, int]:
    n = _check_int("n", n, 2, NMAX_LIMIT)
    n1 = _check_int("n1", n1, 1, n - 1)
    r1 = _check_int("r1", r1, 0, n1 - 1)
    r = _check_int("r", r, r1, n - 1)
    return r1, n1, r, n


# --------------------------------------------------------------------------------------------------
# Exact binomial building blocks
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BinomialTables:
    """pmf[m, x] = P(Bin(m, p) = x) and sf[m, k + offset] = P(Bin(m, p) > k) for m, x ≤ nmax.

    ``sf`` covers k from −(nmax + 1) (probability 1) to nmax (probability 0) so that stage-2 tail
    probabilities P(X2 > r − x1) can be gathered without clipping.
    """

    pmf: np.ndarray
    sf: np.ndarray
    offset: int


@lru_cache(maxsize=4)  # one search uses 2; a table at nmax 1000 holds 24 MB
def _binomial_tables(p: float, nmax: int) -> _BinomialTables:
    m = np.arange(nmax + 1)
    pmf = stats.binom.pmf(m[None, :], m[:, None], p)  # 0 where x > m
    # Upper tails as sums of non-negative terms from the far end: no cancellation, exact to rounding.
    at_least = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # at_least[m, x] = P(Bin(m, p) ≥ x)
    offset = nmax + 1
    sf = np.zeros((nmax + 1, 2 * nmax + 2))
    sf[:, :offset] = 1.0
    sf[:, offset : offset + nmax] = at_least[:, 1:]
    pmf.setflags(write=False)
    sf.setflags(write=False)
    return _BinomialTables(pmf=pmf, sf=sf, offset=offset)


_TERMS_IN_MEMORY = 1 << 18
"""Most stage-1 terms held at once (8 MB of them): larger searches rebuild them block by block."""


class _Stage1Terms:
    """The terms of P(promising | p) for a block of (n1, r1) pairs, laid out flat.

    P(X1 > r1, X1 + X2 > r) at total n is summed over the shorter side of x1:
        above (x1 = r1+1..n1):  Σ P(X1 = x1)·P(X2 > r − x1)
        below (x1 = 0..r1):     P(X > r) − Σ P(X1 = x1)·P(X2 > r − x1),  X ~ Bin(n, p).
    ``pair`` says whose term each is and the weights are the signed P(X1 = x1) at p0 and p1, so one
    gather of stage-2 tails and one ``bincount`` evaluate every pair of the block at once. Only the
    stage-2 tails depend on n.
    """

    def __init__(self, n1: np.ndarray, r1: np.ndarray, null: _BinomialTables,
                 alternative: _BinomialTables) -> None:
        self.null, self.alternative = null, alternative
        self.width = null.sf.shape[1]
        self.size = n1.size
        below = (r1 + 1) <= (n1 - r1)
        counts = np.where(below, r1 + 1, n1 - r1)
        self.pair = np.repeat(np.arange(n1.size), counts)
        position = np.arange(self.pair.size) - np.repeat(np.cumsum(counts) - counts, counts)
        term_n1 = n1[self.pair]
        term_below = below[self.pair]
        x1 = np.where(term_below, position, r1[self.pair] + 1 + position)
        sign = np.where(term_below, -1.0, 1.0)
        # Flat index of P(X2 > r − x1) at total n is n·width + r + const, X2 ~ Bin(n − n1, p).
        self.const = null.offset - x1 - term_n1 * self.width
        self.weight_null = sign * null.pmf[term_n1, x1]
        self.weight_alternative = sign * alternative.pmf[term_n1, x1]
        self.below = below.astype(float)

    def extend(self, other: _Stage1Terms) -> None:
        """Append the pairs of ``other`` after this block's pairs."""
        self.pair = np.concatenate([self.pair, other.pair + self.size])
        self.size += other.size
        for name in ("const", "weight_null", "weight_alternative", "below"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    def keep(self, mask: np.ndarray) -> None:
        """Drop the pairs where ``mask`` is False."""
        term_keep = mask[self.pair]
        self.pair = (np.cumsum(mask) - 1)[self.pair[term_keep]]
        self.size = int(np.count_nonzero(mask))
        for name in ("const", "weight_null", "weight_alternative"):
            setattr(self, name, getattr(self, name)[term_keep])
        self.below = self.below[mask]

    def promising(self, n: int, r: np.ndarray, under_null: bool) -> np.ndarray:
        """P(X1 > r1, X1 + X2 > r) of every pair of the block at total n and thresholds ``r``."""
        tables = self.null if under_null else self.alternative
        weights = self.weight_null if under_null else self.weight_alternative
        tails = tables.sf.ravel()[r[self.pair] + (n * self.width) + self.const]
        sums = np.bincount(self.pair, weights=weights * tails, minlength=self.size)
        return sums + self.below * tables.sf[n, r + tables.offset]


class _Pairs:
    """The (n1, r1) pairs still in the search, r̂ of each, and their stage-1 terms.

    The terms are kept (and extended or compressed with the pairs) while they number at most
    ``_TERMS_IN_MEMORY``; beyond that ``blocks`` rebuilds them a block at a time, so memory stays
    bounded however large nmax is.
    """

    def __init__(self, null: _BinomialTables, alternative: _BinomialTables) -> None:
        self.null, self.alternative = null, alternative
        self.n1 = self.r1 = self.r_hat = np.zeros(0, dtype=np.int64)
        self._terms: _Stage1Terms | None = _Stage1Terms(self.n1, self.r1, null, alternative)

    @property
    def size(self) -> int:
        return self.n1.size

    def _term_counts(self) -> np.ndarray:
        return np.minimum(self.r1 + 1, self.n1 - self.r1)

    def add(self, n1: np.ndarray, r1: np.ndarray, r_hat: np.ndarray) -> None:
        self.n1 = np.concatenate([self.n1, n1])
        self.r1 = np.concatenate([self.r1, r1])
        self.r_hat = np.concatenate([self.r_hat, r_hat])
        if self._terms is not None:
            if self._terms.pair.size + int(np.minimum(r1 + 1, n1 - r1).sum()) <= _TERMS_IN_MEMORY:
                self._terms.extend(_Stage1Terms(n1, r1, self.null, self.alternative))
            else:
                self._terms = None

    def keep(self, mask: np.ndarray) -> None:
        self.n1, self.r1, self.r_hat = self.n1[mask], self.r1[mask], self.r_hat[mask]
        if self._terms is not None:
            self._terms.keep(mask)

    def blocks(self) -> Iterator[tuple[slice, _Stage1Terms]]:
        """(slice of pairs, their terms) covering every pair."""
        counts = self._term_counts()
        if self._terms is None and counts.sum() <= _TERMS_IN_MEMORY:
            self._terms = _Stage1Terms(self.n1, self.r1, self.null, self.alternative)
        if self._terms is not None:
            yield slice(0, self.size), self._terms
            return
        ends = np.cumsum(counts)
        cuts = np.searchsorted(ends, np.arange(_TERMS_IN_MEMORY, ends[-1], _TERMS_IN_MEMORY),
                               side="right")
        bounds = np.unique(np.concatenate([[0], cuts, [self.size]]))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            block = slice(int(lo), int(hi))
            yield block, _Stage1Terms(self.n1[block], self.r1[block], self.null, self.alternative)


def _operating_characteristics(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """(PET, EN, P(promising)) of one design at response rate p, by direct exact sums."""
    n2 = n - n1
    pet = float(stats.binom.cdf(r1, n1, p))
    continued = float(stats.binom.sf(r1, n1, p))  # 1 − PET without cancellation
    x1 = np.arange(r1 + 1, n1 + 1)
    promising = float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(r - x1, n2, p)))
    return pet, n1 + continued * n2, promising


def _characteristics_from_tables(r1: int, n1: int, r: int, n: int, tables: _BinomialTables
                                 ) -> tuple[float, float, float]:
    """(PET, EN, P(promising)) from the cached tables: the same sums as ``_operating_characteristics``."""
    offset = tables.offset
    pet = float(tables.pmf[n1, : r1 + 1].sum())
    continued = float(tables.sf[n1, r1 + offset])
    x1 = np.arange(r1 + 1, n1 + 1)
    promising = float(np.dot(tables.pmf[n1, x1], tables.sf[n - n1, r - x1 + offset]))
    return pet, n1 + continued * (n - n1), promising


def _design(r1: int, n1: int, r: int, n: int, null: _BinomialTables, alternative: _BinomialTables
            ) -> SimonDesign:
    pet_null, expected_n_null, type_i_error = _characteristics_from_tables(r1, n1, r, n, null)
    power = _characteristics_from_tables(r1, n1, r, n, alternative)[2]
    return SimonDesign(r1, n1, r, n, expected_n_null, pet_null, type_i_error, power)


def _ties(a: float, b: float) -> bool:
    return abs(a - b) <= EN_RELATIVE_TOLERANCE * max(abs(a), abs(b))


# --------------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BestAtN:
    """The least-EN(p0) feasible design with total n (ties: smaller n1, then smaller r1)."""

    n: int
    n1: int
    r1: int
    r: int
    expected_n_null: float


def _smallest_possible_n(alpha: float, beta: float, nmax: int, null: _BinomialTables,
                         alternative: _BinomialTables) -> int | None:
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


def _r_hat_by_bisection(terms: _Stage1Terms, r1: np.ndarray, n: int, target: float) -> np.ndarray:
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
    null = _binomial_tables(p0, nmax)
    alternative = _binomial_tables(p1, nmax)
    offset = null.offset
    target = 1.0 - beta

    # Largest r1 with PET(p1) ≤ beta, i.e. P1(X1 > r1) ≥ 1 − beta (−1: no r1 for this n1). It is also
    # r̂ of a design whose stage 2 is still empty: the largest r with P1(X1 > r) ≥ 1 − beta.
    r1_high = np.count_nonzero(alternative.sf[:, offset:] >= target, axis=1) - 1

    start = _smallest_possible_n(alpha, beta, nmax, null, alternative)
    if start is None:
        return [], False

    # The pairs (n1, r1) still in the search and r̂ of each at the previous n.
    pairs = _Pairs(null, alternative)
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
    p0 = _check_open_probability("p0", p0)
    p1 = _check_open_probability("p1", p1)
    if not p1 > p0:
        raise InvalidInputError("p1", f"must be greater than p0 = {p0}, got {p1}")
    alpha = _check_error_rate("alpha", alpha)
    beta = _check_error_rate("beta", beta)
    nmax = _check_int("nmax", nmax, 2, NMAX_LIMIT)

    best, exhaustive = _best_design_per_n(p0, p1, alpha, beta, nmax)
    if not best:
        raise InfeasibleDesignError(
            f"no Simon two-stage design with n ≤ nmax = {nmax} has type I error ≤ {alpha} at p0 = {p0} "
            f"and power ≥ {1 - beta:g} at p1 = {p1}",
            suggestion="raise nmax (at most 1000), or relax alpha or beta, or widen the gap p1 − p0",
        )

    least_en = min(design.expected_n_null for design in best)
    optimal_index = next(i for i, design in enumerate(best) if _ties(design.expected_n_null, least_en))
    candidates = best[: optimal_index + 1]
    hull = _admissible_q_ranges([(design.n, design.expected_n_null) for design in candidates])

    null, alternative = _binomial_tables(p0, nmax), _binomial_tables(p1, nmax)

    def exact(design: _BestAtN) -> SimonDesign:
        return _design(design.r1, design.n1, design.r, design.n, null, alternative)

    admissible = [AdmissibleDesign(**exact(candidates[i]).as_dict(), q_range=(lo, hi))
                  for i, lo, hi in hull]
    warnings = []
    if not exhaustive:
        warnings.append(
            f"the search stopped at nmax = {nmax} before ruling out larger designs: a design with n > {nmax} "
            "might have a smaller EN(p0) than the optimal design reported; raise nmax to check"
        )
    return SimonSearchResult(
        p0=p0, p1=p1, alpha=alpha, beta=beta, nmax=nmax,
        optimal=exact(candidates[-1]), minimax=exact(candidates[0]),
        admissible=admissible, warnings=warnings,
    )


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def evaluate_design(r1: int, n1: int, r: int, n: int, p: Sequence[float]) -> list[dict[str, float]]:
    """Exact PET, expected sample size and probability of declaring promising at each p.

    Formulas in the module docstring. ``p`` values may be anywhere in [0, 1].
    """
    r1, n1, r, n = _check_design(r1, n1, r, n)
    if isinstance(p, (str, bytes)) or not isinstance(p, Sequence) or len(p) == 0:
        raise InvalidInputError("p", "must be a non-empty sequence of probabilities")
    rows = []
    for index, value in enumerate(p):
        value = _check_real(f"p/{index}", value)
        if not 0.0 <= value <= 1.0:
            raise InvalidInputError(f"p/{index}", f"must be in [0, 1], got {value}")
        pet, expected_n, promising = _operating_characteristics(r1, n1, r, n, value)
        rows.append({"p": value, "pet": pet, "expected_n": expected_n, "prob_reject_null": promising})
    return rows


# --------------------------------------------------------------------------------------------------
# Inference after the trial
# --------------------------------------------------------------------------------------------------


def _at_least_as_extreme(p: float, r1: int, n1: int, n: int, responders: int) -> float:
    """P_p(outcome ≥ observed) in the stage-wise ordering (Koyama & Chen 2008).

    Outcomes are (stage, responders). Stopped outcomes (1, x1) are ordered by x1 and all lie below
    continued outcomes (2, s), which are ordered by the total s. Hence
        stopped with x1:    P(X1 ≥ x1)
        continued with s:   Σ_{x1=r1+1}^{n1} P(X1 = x1)·P(X2 ≥ s − x1),  X2 ~ Bin(n − n1, p).
    """
    if n == n1:
        return float(stats.binom.sf(responders - 1, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    return float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(responders - x1 - 1, n - n1, p)))


def _at_most_as_extreme(p: float, r1: int, n1: int, n: int, responders: int) -> float:
    """P_p(outcome ≤ observed) in the stage-wise ordering (sums of positive terms, no 1 − x)."""
    if n == n1:
        return float(stats.binom.cdf(responders, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    continued = np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.cdf(responders - x1, n - n1, p))
    return float(stats.binom.cdf(r1, n1, p) + continued)


def _umvue(r1: int, n1: int, n: int, responders: int) -> float:
    """UMVUE of the response rate (Jung & Kim 2004, Stat Med 23:881–896).

    Stopped: x1/n1. Continued with total s, summing over x1 = max(r1+1, s−n2)..min(n1, s):
        Σ C(n1−1, x1−1)·C(n2, s−x1) / Σ C(n1, x1)·C(n2, s−x1),
    which, as C(n1−1, x1−1) = (x1/n1)·C(n1, x1), is E[X1 | X = s, X1 > r1]/n1 under the
    hypergeometric law of X1 given X = s.
    """
    if n == n1:
        return responders / n1
    n2 = n - n1
    x1 = np.arange(max(r1 + 1, responders - n2), min(n1, responders) + 1)
    weights = stats.hypergeom.pmf(x1, n, n1, responders)
    return float(np.sum(weights * x1) / (n1 * np.sum(weights)))


def infer(r1: int, n1: int, n: int, p0: float, responders: int, alpha: float) -> dict[str, Any]:
    """UMVUE, exact one-sided p-value and exact confidence interval after a Simon two-stage trial.

    ``n`` is the attained total: n == n1 means the trial stopped after stage 1 (responders ≤ r1),
    n > n1 that it continued (responders > r1). The stage-2 sample actually treated, n − n1, is used as
    if it had been planned; Koyama & Chen's adjustment for a stage 2 that differs from plan needs the
    planned design and is not applied here.

    * umvue: Jung & Kim (2004), see ``_umvue``.
    * p_value: P_p0(outcome ≥ observed) in the stage-wise ordering of Koyama & Chen (2008, Stat Med
      27:3145), see ``_at_least_as_extreme``; 1 for the least extreme outcome (stopped with 0).
    * ci = (lower, upper): lower solves P_lower(outcome ≥ observed) = alpha and upper solves
      P_upper(outcome ≤ observed) = alpha (each bound one-sided at level alpha, so the interval has
      coverage ≥ 1 − 2·alpha), found with brentq (xtol 1e-12). Both probabilities are monotone in p.
      lower = 0 for the least extreme outcome (0 responders); upper = 1 for the most extreme (all n).
    """
    n = _check_int("n", n, 1, NMAX_LIMIT)
    n1 = _check_int("n1", n1, 1, n)
    r1 = _check_int("r1", r1, 0, n1 - 1)
    p0 = _check_open_probability("p0", p0)
    alpha = _check_error_rate("alpha", alpha)
    if n == n1:
        responders = _check_int("responders", responders, 0, r1)
    else:
        responders = _check_int("responders", responders, r1 + 1, n)

    outcome = (r1, n1, n, responders)
    if n == n1 and responders == 0:
        lower = 0.0
    else:
        lower = optimize.brentq(lambda p: _at_least_as_extreme(p, *outcome) - alpha, 0.0, 1.0,
                                xtol=_ROOT_XTOL)
    if n > n1 and responders == n:
        upper = 1.0
    else:
        upper = optimize.brentq(lambda p: _at_most_as_extreme(p, *outcome) - alpha, 0.0, 1.0,
                                xtol=_ROOT_XTOL)
    p_value = 1.0 if (n == n1 and responders == 0) else min(1.0, _at_least_as_extreme(p0, *outcome))
    return {
        "umvue": _umvue(r1, n1, n, responders),
        "p_value": p_value,
        "ci": (float(lower), float(upper)),
    }


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


def format_designs_table(result: SimonSearchResult) -> str:
    """A plain-text table of the admissible designs (minimax and optimal marked) for the CLI."""
    header = (f"Simon two-stage designs: p0 = {result.p0:g}, p1 = {result.p1:g}, "
              f"alpha = {result.alpha:g}, beta = {result.beta:g}, nmax = {result.nmax}")
    columns = ("design", "r1/n1", "r/n", "EN(p0)", "PET(p0)", "type I", "power", "q range")

    def rule(design: SimonDesign) -> tuple[int, int, int, int]:
        return (design.r1, design.n1, design.r, design.n)

    rows = []
    for design in result.admissible:
        labels = [label for label, named in (("minimax", result.minimax), ("optimal", result.optimal))
                  if rule(design) == rule(named)]
        lo, hi = design.q_range
        rows.append((
            "+".join(labels) or "admissible",
            f"{design.r1}/{design.n1}",
            f"{design.r}/{design.n}",
            f"{design.expected_n_null:.2f}",
            f"{design.pet_null:.3f}",
            f"{design.type_i_error:.4f}",
            f"{design.power:.4f}",
            f"[{lo:.3f}, {hi:.3f}]",
        ))
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:  # first column left-aligned, numbers right-aligned
        first, *rest = zip(cells, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)])

    lines = [header, "", line(columns), line(["-" * width for width in widths])]
    lines.extend(line(row) for row in rows)
    lines.append("")
    lines.append("Stop after stage 1 if responders <= r1 of n1; declare promising if responders > r of n.")
    lines.append("q range: weights q for which the design minimises q*n + (1-q)*EN(p0) (Jung et al. 2004).")
    lines.extend(f"warning: {warning}" for warning in result.warnings)
    return "\n".join(lines)

"""Exact binomial building blocks of the design search: cached tables and stage-1 terms.

Every probability is an exact binomial sum (no simulation); upper tails are summed from the far
end, so no 1 − x cancellation enters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from cachetools import cached
from scipy import stats

from designs.core.arrays import read_only
from designs.core.memory import CACHES

_TABLES = CACHES.cache("simon-binomial-tables")
"""Binomial tables kept per process, a share of the one cache budget (``designs.core.memory``): a
search uses two; a table at nmax 1000 holds 24 MB."""


@dataclass(frozen=True)
class BinomialTables:
    """pmf[m, x] = P(Bin(m, p) = x) and sf[m, k + offset] = P(Bin(m, p) > k) for m, x ≤ nmax.

    ``sf`` covers k from −(nmax + 1) (probability 1) to nmax (probability 0) so that stage-2 tail
    probabilities P(X2 > r − x1) can be gathered without clipping.
    """

    pmf: np.ndarray
    sf: np.ndarray
    offset: int

    @property
    def nbytes(self) -> int:
        return self.pmf.nbytes + self.sf.nbytes


@cached(_TABLES, lock=_TABLES.lock)
def binomial_tables(p: float, nmax: int) -> BinomialTables:
    m = np.arange(nmax + 1)
    pmf = stats.binom.pmf(m[None, :], m[:, None], p)  # 0 where x > m
    # Upper tails as sums of non-negative terms from the far end: no cancellation, exact to rounding.
    at_least = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # at_least[m, x] = P(Bin(m, p) ≥ x)
    offset = nmax + 1
    sf = np.zeros((nmax + 1, 2 * nmax + 2))
    sf[:, :offset] = 1.0
    sf[:, offset : offset + nmax] = at_least[:, 1:]
    return BinomialTables(pmf=read_only(pmf), sf=read_only(sf), offset=offset)


TERMS_IN_MEMORY = 1 << 18
"""Most stage-1 terms held at once (8 MB of them): larger searches rebuild them block by block."""


class Stage1Terms:
    """The terms of P(promising | p) for a block of (n1, r1) pairs, laid out flat.

    P(X1 > r1, X1 + X2 > r) at total n is summed over the shorter side of x1:
        above (x1 = r1+1..n1):  Σ P(X1 = x1)·P(X2 > r − x1)
        below (x1 = 0..r1):     P(X > r) − Σ P(X1 = x1)·P(X2 > r − x1),  X ~ Bin(n, p).
    ``pair`` says whose term each is and the weights are the signed P(X1 = x1) at p0 and p1, so one
    gather of stage-2 tails and one ``bincount`` evaluate every pair of the block at once. Only the
    stage-2 tails depend on n.
    """

    def __init__(self, n1: np.ndarray, r1: np.ndarray, null: BinomialTables,
                 alternative: BinomialTables) -> None:
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

    def extend(self, other: Stage1Terms) -> None:
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


class Pairs:
    """The (n1, r1) pairs still in the search, r̂ of each, and their stage-1 terms.

    The terms are kept (and extended or compressed with the pairs) while they number at most
    ``TERMS_IN_MEMORY``; beyond that ``blocks`` rebuilds them a block at a time, so memory stays
    bounded however large nmax is.
    """

    def __init__(self, null: BinomialTables, alternative: BinomialTables) -> None:
        self.null, self.alternative = null, alternative
        self.n1 = self.r1 = self.r_hat = np.zeros(0, dtype=np.int64)
        self._terms: Stage1Terms | None = Stage1Terms(self.n1, self.r1, null, alternative)

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
            if self._terms.pair.size + int(np.minimum(r1 + 1, n1 - r1).sum()) <= TERMS_IN_MEMORY:
                self._terms.extend(Stage1Terms(n1, r1, self.null, self.alternative))
            else:
                self._terms = None

    def keep(self, mask: np.ndarray) -> None:
        self.n1, self.r1, self.r_hat = self.n1[mask], self.r1[mask], self.r_hat[mask]
        if self._terms is not None:
            self._terms.keep(mask)

    def blocks(self) -> Iterator[tuple[slice, Stage1Terms]]:
        """(slice of pairs, their terms) covering every pair."""
        counts = self._term_counts()
        if self._terms is None and counts.sum() <= TERMS_IN_MEMORY:
            self._terms = Stage1Terms(self.n1, self.r1, self.null, self.alternative)
        if self._terms is not None:
            yield slice(0, self.size), self._terms
            return
        ends = np.cumsum(counts)
        cuts = np.searchsorted(ends, np.arange(TERMS_IN_MEMORY, ends[-1], TERMS_IN_MEMORY),
                               side="right")
        bounds = np.unique(np.concatenate([[0], cuts, [self.size]]))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            block = slice(int(lo), int(hi))
            yield block, Stage1Terms(self.n1[block], self.r1[block], self.null, self.alternative)


def characteristics_from_tables(r1: int, n1: int, r: int, n: int, tables: BinomialTables
                                ) -> tuple[float, float, float]:
    """(PET, EN, P(promising)) from the cached tables: the sums ``designs.simon.evaluate`` computes directly."""
    offset = tables.offset
    pet = float(tables.pmf[n1, : r1 + 1].sum())
    continued = float(tables.sf[n1, r1 + offset])
    x1 = np.arange(r1 + 1, n1 + 1)
    promising = float(np.dot(tables.pmf[n1, x1], tables.sf[n - n1, r - x1 + offset]))
    return pet, n1 + continued * (n - n1), promising

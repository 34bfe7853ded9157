"""The other strata's responder counts a coupled stratum's boundaries are conditional on.

Pooled, hierarchical and EXNEX models couple strata: a stratum's decision depends on the others'
data. Its boundaries are then stated conditional on the other strata's cumulative responder counts,
one per look of each of them (a stratum with fewer looks keeps its final count at later analyses).
By default: the expected counts under p0, ``floor(p0 · n + 1/2)`` (rounded half up), which never
decrease from look to look and never rise by more than the patients added.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from designs.core.validation import Checker, did_you_mean, is_integer
from designs.oc.design import OCDesign

DEFAULT_ROUNDING = "expected counts under p0, floor(p0 · n + 1/2) (rounded half up)"


def expected_counts(p0: float, looks: Sequence[int]) -> tuple[int, ...]:
    """Expected responders under p0 at each look, rounded half up."""
    return tuple(math.floor(p0 * n + 0.5) for n in looks)


def conditioning_counts(design: OCDesign, conditional: Mapping[str, Sequence[int]] | None) -> dict[str, tuple[int, ...]]:
    """Every stratum's responder count at each of its looks: the stated ones, else ``expected_counts``.

    Raises ``InvalidInputError`` naming every bad entry of ``conditional`` (unknown stratum, one count
    per look, counts within 0..n, counts that fall or rise by more than the patients added).
    """
    check = Checker()
    looks = {s.name: s.looks for s in design.strata}
    given = dict(conditional or {})
    for name in sorted(set(given) - set(looks), key=str):
        check.add(f"conditional/{name}", f"unknown stratum (strata are {sorted(looks)})" + did_you_mean(name, list(looks)))
    counts = {name: expected_counts(design.p0, n) for name, n in looks.items()}
    for name, values in given.items():
        if name not in looks:
            continue
        n = looks[name]
        where = f"conditional/{name}"
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) != len(n):
            check.add(where, f"needs one responder count per look of the stratum ({len(n)}: looks {list(n)})")
            continue
        before = len(check.problems)
        for k, (y, size) in enumerate(zip(values, n, strict=True)):
            if not is_integer(y) or not 0 <= y <= size:
                check.add(f"{where}/{k}", f"must be an integer in [0, {size}] (responders among {size}), got {y!r}")
        if len(check.problems) > before:
            continue
        for k in range(1, len(n)):
            added = n[k] - n[k - 1]
            if values[k] < values[k - 1]:
                check.add(f"{where}/{k}", f"cumulative responders cannot fall ({values[k - 1]} at look {k}, {values[k]} at look {k + 1})")
            elif values[k] - values[k - 1] > added:
                check.add(f"{where}/{k}", f"at most {added} more responders among the {added} patients added since look {k}")
        counts[name] = tuple(int(y) for y in values)
    check.raise_if_any()
    return counts


def counts_at(design: OCDesign, counts: Mapping[str, Sequence[int]], analysis: int) -> list[int]:
    """Each stratum's count at ``analysis`` (its final one when it has fewer looks)."""
    return [counts[s.name][min(analysis, len(s.looks) - 1)] for s in design.strata]

"""Inference after a Simon two-stage trial: UMVUE, stage-wise p-value and exact confidence interval."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from scipy import stats

from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from designs.simon import infer

# Designs (r1, n1, n): Simon (1989) optimal and minimax designs and two small ones.
DESIGNS = [(1, 10, 29), (1, 15, 25), (3, 13, 43), (0, 9, 17), (2, 4, 9), (5, 7, 12)]


def outcomes(r1: int, n1: int, n: int):
    """Every outcome in stage-wise order, least extreme first, as (stage, responders, attained n)."""
    stopped = [(1, x1, n1) for x1 in range(r1 + 1)]
    continued = [(2, s, n) for s in range(r1 + 1, n + 1)]
    return stopped + continued


def probability(outcome, r1: int, n1: int, n: int, p: float) -> float:
    """P_p(outcome) by summing binomial products over the stage-1 count (math.comb only)."""
    stage, responders, _ = outcome
    n2 = n - n1

    def pmf(x: int, size: int) -> float:
        return math.comb(size, x) * p**x * (1 - p) ** (size - x) if 0 <= x <= size else 0.0

    if stage == 1:
        return pmf(responders, n1)
    return sum(pmf(x1, n1) * pmf(responders - x1, n2) for x1 in range(r1 + 1, n1 + 1))


def tail(r1: int, n1: int, n: int, p: float, index: int, upper: bool) -> float:
    """P_p(outcome ≥ outcomes[index]) (upper) or P_p(outcome ≤ outcomes[index]), by enumeration."""
    ordered = outcomes(r1, n1, n)
    chosen = ordered[index:] if upper else ordered[: index + 1]
    return sum(probability(outcome, r1, n1, n, p) for outcome in chosen)


def infer_outcome(outcome, r1: int, n1: int, p0: float = 0.2, alpha: float = 0.05):
    stage, responders, attained = outcome
    return infer(r1, n1, attained, p0, responders, alpha)


@pytest.mark.parametrize("design", DESIGNS)
def test_outcome_probabilities_sum_to_one(design):
    """Guards the enumeration the other tests rely on."""
    assert sum(probability(o, *design, 0.37) for o in outcomes(*design)) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("design", DESIGNS)
def test_jung_kim_2004_umvue_is_unbiased(design):
    """Jung S-H, Kim KM (2004) On the estimation of the binomial probability in multistage clinical
    trials, Stat Med 23:881–896: the estimator is unbiased, Σ P_p(outcome)·estimate(outcome) = p for
    every p, checked by exact enumeration of the sampling distribution."""
    r1, n1, n = design
    estimates = [infer_outcome(o, r1, n1)["umvue"] for o in outcomes(*design)]
    for p in (0.01, 0.1, 0.25, 0.5, 0.73, 0.99):
        mean = sum(probability(o, *design, p) * e for o, e in zip(outcomes(*design), estimates, strict=True))
        assert mean == pytest.approx(p, abs=1e-10)


def test_jung_kim_2004_umvue_formula_in_exact_arithmetic():
    """Continued trial with total s: Σ C(n1−1, x1−1)C(n2, s−x1) / Σ C(n1, x1)C(n2, s−x1), x1 > r1."""
    r1, n1, n, s = 1, 10, 29, 6
    n2 = n - n1
    x1s = range(r1 + 1, min(n1, s) + 1)
    exact = Fraction(sum(math.comb(n1 - 1, x - 1) * math.comb(n2, s - x) for x in x1s),
                     sum(math.comb(n1, x) * math.comb(n2, s - x) for x in x1s))
    assert infer(r1, n1, n, 0.1, s, 0.05)["umvue"] == pytest.approx(float(exact), rel=1e-13)
    assert infer(r1, n1, n1, 0.1, 1, 0.05)["umvue"] == 0.1  # stopped: x1/n1


def test_koyama_chen_2008_p_value_in_exact_arithmetic():
    """Koyama T, Chen H (2008) Proper inference from Simon's two-stage designs, Stat Med 27:3145:
    p = P_p0(X1 > r1, X1 + X2 ≥ s) for a continued trial, evaluated here with rational arithmetic for
    Simon's optimal design 1/10, 5/29 at p0 = 1/10 with s = 6 (the least s that rejects H0)."""
    r1, n1, n, s = 1, 10, 29, 6
    p = Fraction(1, 10)
    n2 = n - n1

    def pmf(x: int, size: int) -> Fraction:
        return math.comb(size, x) * p**x * (1 - p) ** (size - x)

    exact = sum(pmf(x1, n1) * sum(pmf(x2, n2) for x2 in range(max(s - x1, 0), n2 + 1))
                for x1 in range(r1 + 1, n1 + 1))
    result = infer(r1, n1, n, 0.1, s, 0.05)
    assert result["p_value"] == pytest.approx(float(exact), rel=1e-12)
    assert result["p_value"] <= 0.05  # "> 5/29 declares promising" is a level-.05 test
    assert infer(r1, n1, n, 0.1, s - 1, 0.05)["p_value"] > 0.05


@pytest.mark.parametrize("design", DESIGNS)
def test_p_value_is_the_stage_wise_upper_tail(design):
    """Every outcome's p-value equals P_p0(outcome ≥ observed) in the stage-wise ordering, by
    enumeration; p-values fall along the ordering; the least extreme outcome has p-value 1."""
    r1, n1, n = design
    p0 = 0.2
    values = [infer_outcome(o, r1, n1, p0)["p_value"] for o in outcomes(*design)]
    for index, value in enumerate(values):
        assert value == pytest.approx(tail(r1, n1, n, p0, index, upper=True), abs=1e-13)
    assert values[0] == 1.0
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_confidence_bounds_invert_the_ordering(design, alpha):
    """Koyama & Chen (2008): the lower bound is where P_p(outcome ≥ observed) = alpha and the upper
    bound where P_p(outcome ≤ observed) = alpha (each to 1e-8, checked by enumeration); lower = 0
    with 0 responders and upper = 1 when all n respond."""
    r1, n1, n = design
    ordered = outcomes(*design)
    for index, outcome in enumerate(ordered):
        lower, upper = infer_outcome(outcome, r1, n1, alpha=alpha)["ci"]
        assert 0.0 <= lower < upper <= 1.0
        if index == 0:
            assert lower == 0.0
        else:
            assert tail(r1, n1, n, lower, index, upper=True) == pytest.approx(alpha, abs=1e-8)
        if index == len(ordered) - 1:
            assert upper == 1.0
        else:
            assert tail(r1, n1, n, upper, index, upper=False) == pytest.approx(alpha, abs=1e-8)


@pytest.mark.parametrize("design", DESIGNS[:4])
def test_confidence_interval_coverage_is_exact(design):
    """Each bound is one-sided at level alpha, so for every p: P_p(lower > p) ≤ alpha,
    P_p(upper < p) ≤ alpha and coverage ≥ 1 − 2·alpha, computed over the whole sampling distribution."""
    r1, n1, n = design
    alpha = 0.05
    ordered = outcomes(*design)
    intervals = [infer_outcome(o, r1, n1, alpha=alpha)["ci"] for o in ordered]
    for p in (0.02, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 0.95):
        weights = [probability(o, *design, p) for o in ordered]
        above = sum(w for w, (lo, _) in zip(weights, intervals, strict=True) if lo > p)
        below = sum(w for w, (_, hi) in zip(weights, intervals, strict=True) if hi < p)
        assert above <= alpha + 1e-12
        assert below <= alpha + 1e-12


@pytest.mark.parametrize("x1", [0, 1, 2, 3])
def test_stopped_at_stage_1_is_clopper_pearson_on_n1(x1):
    """A trial stopped after stage 1 with x1 of n1 responders: the ordering reduces to X1, so the
    p-value is P_p0(X1 ≥ x1), the bounds are the one-sided Clopper–Pearson limits for x1/n1, and the
    UMVUE is x1/n1 (Jung & Kim 2004)."""
    r1, n1, p0, alpha = 3, 13, 0.2, 0.05
    result = infer(r1, n1, n1, p0, x1, alpha)
    assert result["umvue"] == x1 / n1
    assert result["p_value"] == pytest.approx(stats.binom.sf(x1 - 1, n1, p0), abs=1e-14)
    lower, upper = result["ci"]
    expected_lower = 0.0 if x1 == 0 else stats.beta.ppf(alpha, x1, n1 - x1 + 1)
    assert lower == pytest.approx(expected_lower, abs=1e-9)
    assert upper == pytest.approx(stats.beta.ppf(1 - alpha, x1 + 1, n1 - x1), abs=1e-9)


def test_more_responders_give_larger_estimates_and_smaller_p_values():
    """Sanity along the ordering for Simon's optimal design 3/13, 12/43 (p0 .20)."""
    results = [infer(3, 13, 43, 0.2, s, 0.05) for s in range(4, 44)]
    assert all(a["umvue"] < b["umvue"] for a, b in zip(results, results[1:]))
    assert all(a["p_value"] > b["p_value"] for a, b in zip(results, results[1:]))
    assert all(a["ci"][0] < b["ci"][0] and a["ci"][1] < b["ci"][1] for a, b in zip(results, results[1:]))


@pytest.mark.parametrize(
    "arguments, field",
    [
        ((1, 10, 10, 0.1, 2, 0.05), "responders"),  # stopped, but more than r1 responded
        ((1, 10, 29, 0.1, 1, 0.05), "responders"),  # continued, but at most r1 responded
        ((1, 10, 29, 0.1, 30, 0.05), "responders"),  # more responders than patients
        ((1, 10, 29, 0.1, -1, 0.05), "responders"),
        ((1, 10, 9, 0.1, 0, 0.05), "n1"),  # attained n below n1
        ((10, 10, 29, 0.1, 12, 0.05), "r1"),
        ((-1, 10, 29, 0.1, 12, 0.05), "r1"),
        ((1, 10, 29, 1.0, 12, 0.05), "p0"),
        ((1, 10, 29, 0.1, 12, 0.0), "alpha"),
        ((1, 10, 29, 0.1, 12, 0.6), "alpha"),
        ((1, 10, 29.5, 0.1, 12, 0.05), "n"),
    ],
)
def test_infer_invalid_input_names_the_field(arguments, field):
    with pytest.raises(InvalidInputError) as caught:
        infer(*arguments)
    assert [problem.field for problem in caught.value.problems] == [field]


def test_inference_carries_provenance_hashed_from_the_arguments_as_validated():
    result = infer(0, 9, 17, 0.05, 3, 0.05)
    request = {"r1": 0, "n1": 9, "n": 17, "p0": 0.05, "responders": 3, "alpha": 0.05}
    assert result["provenance"]["input_sha256"] == input_hash(request)
    assert "Koyama & Chen 2008" in result["provenance"]["method"]


@pytest.mark.parametrize(("alpha", "level"), [(0.05, 0.90), (0.025, 0.95), (0.1, 0.80)])
def test_ci_level_is_one_minus_two_alpha_because_each_bound_is_one_sided_at_alpha(alpha, level):
    """Issue 14: the interval says its level. Each bound is one-sided at alpha (Koyama & Chen 2008), so
    the interval is two-sided at 1 − 2·alpha: 0.90 at the default alpha 0.05, not 0.95."""
    result = infer(1, 10, 29, 0.1, 5, alpha)
    assert result["ci_level"] == pytest.approx(level, abs=1e-15)


@pytest.mark.parametrize("p", [0.1, 0.2, 0.3, 0.45])
def test_exact_coverage_of_the_interval_is_at_least_its_ci_level(p):
    """Coverage by enumeration of every outcome of the Simon (1989) optimal design (1, 10, 29): the
    reported level is a guarantee, P_p(lower ≤ p ≤ upper) ≥ ci_level."""
    r1, n1, n = 1, 10, 29
    covered = 0.0
    level = None
    for index, outcome in enumerate(outcomes(r1, n1, n)):
        result = infer_outcome(outcome, r1, n1)
        level = result["ci_level"]
        lower, upper = result["ci"]
        if lower <= p <= upper:
            covered += probability(outcome, r1, n1, n, p)
    assert level == 0.9
    assert covered >= level - 1e-12

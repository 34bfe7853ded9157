"""Operating characteristics of a given Simon two-stage design (designs.simon.evaluate_design)."""

from __future__ import annotations

import math

import numpy as np

import pytest

from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from designs.simon import design_evaluation, evaluate_design, search_designs
from designs.simon.validation import order_problem


def enumerate_design(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """(PET, E[N], P(promising)) by walking every (x1, x2) with math.comb: no scipy, no numpy."""
    n2 = n - n1

    def pmf(x: int, size: int) -> float:
        return math.comb(size, x) * p**x * (1 - p) ** (size - x)

    pet = expected = promising = 0.0
    for x1 in range(n1 + 1):
        if x1 <= r1:
            pet += pmf(x1, n1)
            expected += n1 * pmf(x1, n1)
            continue
        for x2 in range(n2 + 1):
            probability = pmf(x1, n1) * pmf(x2, n2)
            expected += n * probability
            if x1 + x2 > r:
                promising += probability
    return pet, expected, promising


@pytest.mark.parametrize(
    "design",
    [(0, 9, 2, 17), (1, 10, 5, 29), (3, 13, 12, 43), (7, 11, 30, 43), (4, 5, 4, 12), (0, 1, 0, 2)],
)
@pytest.mark.parametrize("p", [0.0, 0.05, 0.2, 0.37, 0.5, 0.8, 1.0])
def test_evaluate_design_matches_enumeration(design, p):
    """Exact operating characteristics equal a direct enumeration of every outcome (x1, x2)."""
    (row,) = evaluate_design(*design, [p])
    pet, expected, promising = enumerate_design(*design, p)
    assert row["p"] == p
    assert row["pet"] == pytest.approx(pet, abs=1e-13)
    assert row["expected_n"] == pytest.approx(expected, rel=1e-13, abs=1e-13)
    assert row["prob_reject_null"] == pytest.approx(promising, abs=1e-13)


@pytest.mark.parametrize("design", [(0, 50, 0, 100), (0, 9, 2, 17), (1, 10, 5, 29), (0, 1, 0, 2)])
@pytest.mark.parametrize("p", [1e-300, 2e-306, 1e-308, 5e-324])
def test_evaluate_design_at_a_near_zero_rate_matches_enumeration(design, p):
    """Fuzzing found an OverflowError from scipy's binomial (``ibeta_derivative``) below p ≈ 2e-306;
    the exact sums still hold there: P(promising) of (0, 50, 0, 100) is 1 − (1 − p)^50 ≈ 50p."""
    (row,) = evaluate_design(*design, [p])
    pet, expected, promising = enumerate_design(*design, p)
    precision = 1e-9 if p >= 1e-308 else 0.05  # 5e-324 is the one-bit subnormal
    assert row["pet"] == pytest.approx(pet, rel=1e-15)
    assert row["expected_n"] == pytest.approx(expected, rel=1e-15)
    assert row["prob_reject_null"] == pytest.approx(promising, rel=precision, abs=0.0)


def test_simon_1989_p0_20_p1_40_optimal_operating_characteristics():
    """Simon (1989) Table 1, p0 .20 / p1 .40, alpha .05, beta .20: the optimal design 3/13, 12/43 has
    EN(p0) 20.6 and PET(p0) .75, type I error ≤ .05 and power ≥ .80."""
    at_p0, at_p1 = evaluate_design(3, 13, 12, 43, [0.20, 0.40])
    assert round(at_p0["expected_n"], 1) == 20.6
    assert round(at_p0["pet"], 2) == 0.75
    assert at_p0["prob_reject_null"] <= 0.05
    assert at_p1["prob_reject_null"] >= 0.80


@pytest.mark.parametrize(
    "constraints", [(0.05, 0.25, 0.05, 0.20), (0.30, 0.50, 0.10, 0.10), (0.65, 0.85, 0.05, 0.20)]
)
def test_evaluate_design_agrees_with_the_search(constraints):
    """The numbers reported by search_designs are those evaluate_design gives at p0 and p1."""
    p0, p1, _, _ = constraints
    result = search_designs(*constraints, nmax=70)
    for design in [result.optimal, result.minimax, *result.admissible]:
        at_p0, at_p1 = evaluate_design(design.r1, design.n1, design.r, design.n, [p0, p1])
        assert at_p0["pet"] == pytest.approx(design.pet_null, abs=1e-13)
        assert at_p0["expected_n"] == pytest.approx(design.expected_n_null, rel=1e-13)
        assert at_p0["prob_reject_null"] == pytest.approx(design.type_i_error, abs=1e-13)
        assert at_p1["prob_reject_null"] == pytest.approx(design.power, abs=1e-13)


def test_evaluate_design_keeps_the_order_of_p():
    rows = evaluate_design(1, 10, 5, 29, (0.3, 0.1, 0.3))
    assert [row["p"] for row in rows] == [0.3, 0.1, 0.3]
    assert rows[0] == rows[2]
    assert rows[0]["prob_reject_null"] > rows[1]["prob_reject_null"]


@pytest.mark.parametrize(
    "design, p, field",
    [
        ((9, 9, 10, 20), [0.1], "n1"),  # n1 must exceed r1
        ((-1, 9, 2, 17), [0.1], "r1"),  # r1 = -1 (never stop) is not a Simon design
        ((0, 17, 2, 17), [0.1], "n"),  # n must exceed n1
        ((0, 0, 2, 17), [0.1], "n1"),
        ((3, 9, 2, 17), [0.1], "r"),  # r must be at least r1
        ((0, 9, 17, 17), [0.1], "n"),  # n must exceed r: r = n can never be exceeded
        ((0, 9, 2, 1001), [0.1], "n"),
        ((0, 9.0, 2, 17), [0.1], "n1"),
        ((0, 9, 2, 17), [], "p"),
        ((0, 9, 2, 17), 0.1, "p"),
        ((0, 9, 2, 17), [0.1, 1.2], "p/1"),
        ((0, 9, 2, 17), [float("nan")], "p/0"),
    ],
)
def test_evaluate_design_invalid_input_names_the_field(design, p, field):
    with pytest.raises(InvalidInputError) as caught:
        evaluate_design(*design, p)
    assert [problem.field for problem in caught.value.problems] == [field]


@pytest.mark.parametrize(
    ("field", "value", "earlier", "attained", "problem"),
    [
        ("n1", 7, {"r1": 7}, False, "n1 must exceed r1"),
        ("r", 0, {"r1": 1, "n1": 7}, False, "r must be at least r1"),
        ("n", 7, {"r1": 0, "n1": 7, "r": 2}, False, "n must exceed n1"),
        ("n", 21, {"r1": 0, "n1": 7, "r": 21}, False, "n must exceed r"),
        ("n", 7, {"r1": 0, "n1": 7}, True, None),  # a trial that stopped after stage 1
        ("n", 6, {"r1": 0, "n1": 7}, True, "n (the attained total) must be at least n1"),
        ("responders", 21, {"r1": 1, "n1": 10, "n": 20}, True, "responders cannot exceed n"),
        ("responders", 2, {"r1": 1, "n1": 10, "n": 10}, True, "at most r1 = 1 responders"),
        ("responders", 1, {"r1": 1, "n1": 10, "n": 20}, True, "more than r1 = 1 responders"),
        ("responders", 2, {"r1": 1, "n1": 10, "n": 20}, True, None),
        ("n", 7, {"r1": None, "n1": None, "r": 2}, False, None),  # fields that failed are not compared
    ],
)
def test_order_problem_names_the_broken_simon_ordering(field, value, earlier, attained, problem):
    """The orderings the HTTP schemas check field by field (r1 < n1 < n, r1 ≤ r < n; a trial's outcome)."""
    found = order_problem(field, value, earlier, attained=attained)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_results_carry_provenance_hashed_from_the_arguments_as_validated():
    """Search and evaluation stamp their results: versions, method and the SHA-256 of the arguments
    as validated (numpy scalars hash like the numbers they hold)."""
    search = search_designs(np.float64(0.05), 0.25, 0.05, 0.2, nmax=np.int64(40)).as_dict()
    assert search["provenance"]["input_sha256"] == input_hash({"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2, "nmax": 40})
    assert "Simon 1989" in search["provenance"]["method"] and search["provenance"]["software"]["scipy"]
    result = design_evaluation(0, 9, 2, 17, [0.05, 1])
    assert result["design"] == {"r1": 0, "n1": 9, "r": 2, "n": 17}
    assert result["evaluations"] == evaluate_design(0, 9, 2, 17, [0.05, 1])
    request = {"r1": 0, "n1": 9, "r": 2, "n": 17, "p": [0.05, 1.0]}
    assert result["provenance"]["input_sha256"] == input_hash(request)

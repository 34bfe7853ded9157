"""Simon two-stage design search: published designs, a brute-force search, properties, validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from designs.core.errors import InfeasibleDesignError, InvalidInputError
from designs.core.memory import CACHES
from designs.simon import binomial, format_designs_table, search_designs

# ---------------------------------------------------------------------------------------------------
# Independent arithmetic (scipy directly, no code shared with designs.simon)
# ---------------------------------------------------------------------------------------------------


def promising_probability(r1: int, n1: int, r: int, n: int, p: float) -> float:
    """P(X1 > r1 and X1 + X2 > r) by summing the joint pmf over every (x1, x2)."""
    n2 = n - n1
    x1 = np.arange(n1 + 1)[:, None]
    x2 = np.arange(n2 + 1)[None, :]
    joint = stats.binom.pmf(x1, n1, p) * stats.binom.pmf(x2, n2, p)
    return float(joint[(x1 > r1) & (x1 + x2 > r)].sum())


def expected_n(r1: int, n1: int, n: int, p: float) -> float:
    return n1 + (n - n1) * float(stats.binom.sf(r1, n1, p))


def brute_force_search(p0: float, p1: float, alpha: float, beta: float, nmax: int):
    """Every (n, n1, r1, r) with 0 ≤ r1 < n1 < n ≤ nmax, r1 ≤ r < n; r is looped over as a vector.

    Returns (minimax, optimal, admissible) as tuples (r1, n1, r, n) and admissible q ranges, or None
    when nothing is feasible. Per n the least-EN design is kept (ties: smaller n1, then smaller r1; r the
    largest feasible). Admissibility is decided from scratch: design i is admissible where
    q·n_i + (1 − q)·EN_i ≤ q·n_j + (1 − q)·EN_j for every j, an interval of q found by intersection.
    """
    best_at_n: dict[int, tuple[float, int, int, int]] = {}
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            n2 = n - n1
            x1 = np.arange(n1 + 1)[:, None]
            r = np.arange(n)[None, :]
            terms_null = stats.binom.pmf(x1, n1, p0) * stats.binom.sf(r - x1, n2, p0)
            terms_alt = stats.binom.pmf(x1, n1, p1) * stats.binom.sf(r - x1, n2, p1)
            for r1 in range(n1):
                type_i = terms_null[r1 + 1 :].sum(axis=0)
                power = terms_alt[r1 + 1 :].sum(axis=0)
                ok = np.flatnonzero((type_i <= alpha) & (power >= 1 - beta) & (np.arange(n) >= r1))
                if ok.size == 0:
                    continue
                en = expected_n(r1, n1, n, p0)
                if n not in best_at_n or en < best_at_n[n][0] * (1 - 1e-12):
                    best_at_n[n] = (en, r1, n1, int(ok.max()))
    if not best_at_n:
        return None
    points = [(n, *best_at_n[n]) for n in sorted(best_at_n)]  # (n, EN, r1, n1, r)
    minimax = points[0]
    least = min(point[1] for point in points)
    optimal = next(point for point in points if point[1] <= least * (1 + 1e-12))
    admissible = []
    for n_i, en_i, r1_i, n1_i, r_i in points:
        lo, hi = 0.0, 1.0
        for n_j, en_j, *_ in points:
            # q·(n_i − n_j) + (1 − q)·(en_i − en_j) ≤ 0  ⇔  q·a ≤ b
            a = (n_i - n_j) - (en_i - en_j)
            b = -(en_i - en_j)
            if a > 0:
                hi = min(hi, b / a)
            elif a < 0:
                lo = max(lo, b / a)
            elif b < 0:
                lo, hi = 1.0, 0.0
        if lo <= hi:
            admissible.append(((r1_i, n1_i, r_i, n_i), (lo, hi)))
    as_design = lambda point: (point[2], point[3], point[4], point[0])  # noqa: E731
    return as_design(minimax), as_design(optimal), admissible


def design_tuple(design) -> tuple[int, int, int, int]:
    return (design.r1, design.n1, design.r, design.n)


# ---------------------------------------------------------------------------------------------------
# Published designs
# ---------------------------------------------------------------------------------------------------

# Simon (1989) Tables 1 and 2 as printed (EN to 1 decimal, PET to 2), each row also confirmed by the
# brute-force search below at an nmax past the optimal n:
# (p0, p1, alpha, beta): (optimal r1, n1, r, n, EN(p0), PET(p0)), (minimax r1, n1, r, n, EN(p0), PET(p0))
SIMON_1989 = {
    "table1_p0_05_p1_25_alpha_05_beta_20": ((0.05, 0.25, 0.05, 0.20), (0, 9, 2, 17, 12.0, 0.63),
                                            (0, 12, 2, 16, 13.8, 0.54)),
    "table1_p0_05_p1_25_alpha_10_beta_10": ((0.05, 0.25, 0.10, 0.10), (0, 9, 2, 24, 14.5, 0.63),
                                            (0, 13, 2, 20, 16.4, 0.51)),
    "table1_p0_05_p1_25_alpha_05_beta_10": ((0.05, 0.25, 0.05, 0.10), (0, 9, 3, 30, 16.8, 0.63),
                                            (0, 15, 3, 25, 20.4, 0.46)),
    "table1_p0_10_p1_30_alpha_05_beta_20": ((0.10, 0.30, 0.05, 0.20), (1, 10, 5, 29, 15.0, 0.74),
                                            (1, 15, 5, 25, 19.5, 0.55)),
    "table1_p0_10_p1_30_alpha_05_beta_10": ((0.10, 0.30, 0.05, 0.10), (2, 18, 6, 35, 22.5, 0.73),
                                            (2, 22, 6, 33, 26.2, 0.62)),
    "table1_p0_20_p1_40_alpha_05_beta_20": ((0.20, 0.40, 0.05, 0.20), (3, 13, 12, 43, 20.6, 0.75),
                                            (4, 18, 10, 33, 22.3, 0.72)),
    "table1_p0_20_p1_40_alpha_10_beta_10": ((0.20, 0.40, 0.10, 0.10), (3, 17, 10, 37, 26.0, 0.55),
                                            (3, 19, 10, 36, 28.3, 0.46)),
    "table2_p0_20_p1_35_alpha_05_beta_10": ((0.20, 0.35, 0.05, 0.10), (8, 37, 22, 83, 51.4, 0.69),
                                            (8, 42, 21, 77, 58.4, 0.53)),
}


@pytest.mark.parametrize("constraints, optimal, minimax", SIMON_1989.values(), ids=SIMON_1989.keys())
def test_simon_1989_optimal_and_minimax(constraints, optimal, minimax):
    """Simon R. (1989) Optimal two-stage designs for phase II clinical trials. Controlled Clinical
    Trials 10:1–10, Tables 1 and 2: optimal and minimax designs, EN(p0) and PET(p0)."""
    result = search_designs(*constraints, nmax=150)
    for found, (r1, n1, r, n, en, pet) in ((result.optimal, optimal), (result.minimax, minimax)):
        assert design_tuple(found) == (r1, n1, r, n)
        assert round(found.expected_n_null, 1) == en
        assert round(found.pet_null, 2) == pet
    assert result.warnings == []  # the search proved that no larger n does better


def test_simon_1989_p0_05_p1_25_optimal_stops_if_none_of_nine_respond():
    """Simon (1989) Table 1, p0 .05 / p1 .25, alpha .05, beta .20: 'reject the drug if 0/9 respond, and
    if > 2/17 respond declare it promising'; EN(p0) 12.0, PET(p0) .63 = 0.95^9."""
    result = search_designs(0.05, 0.25, 0.05, 0.20)
    assert math.isclose(result.optimal.pet_null, 0.95**9, rel_tol=1e-12)
    assert math.isclose(result.optimal.expected_n_null, 9 + 8 * (1 - 0.95**9), rel_tol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Against the brute-force search
# ---------------------------------------------------------------------------------------------------

BRUTE_FORCE_CASES = [
    (0.05, 0.25, 0.05, 0.20, 30),
    (0.10, 0.30, 0.05, 0.20, 30),  # optimal at n = 29, four admissible designs
    (0.20, 0.40, 0.10, 0.10, 30),  # nothing feasible below n = 36
    (0.30, 0.50, 0.10, 0.20, 30),
    (0.60, 0.80, 0.10, 0.20, 30),  # r1 above n1/2: stage-1 sums run over the upper side
    (0.15, 0.40, 0.10, 0.15, 25),
    (0.70, 0.95, 0.05, 0.20, 28),
]


@pytest.mark.parametrize("p0, p1, alpha, beta, nmax", BRUTE_FORCE_CASES)
def test_search_matches_brute_force(p0, p1, alpha, beta, nmax):
    """Exact answers checked against brute-force enumeration of every (n, n1, r1, r) (STYLE.md)."""
    expected = brute_force_search(p0, p1, alpha, beta, nmax)
    if expected is None:
        with pytest.raises(InfeasibleDesignError):
            search_designs(p0, p1, alpha, beta, nmax=nmax)
        return
    minimax, optimal, admissible = expected
    result = search_designs(p0, p1, alpha, beta, nmax=nmax)
    assert design_tuple(result.minimax) == minimax
    assert design_tuple(result.optimal) == optimal
    assert [design_tuple(design) for design in result.admissible] == [design for design, _ in admissible]
    for design, (_, (lo, hi)) in zip(result.admissible, admissible, strict=True):
        assert design.q_range == pytest.approx((lo, hi), abs=1e-9)


@pytest.mark.parametrize("constraints", [(0.20, 0.35, 0.05, 0.10), (0.60, 0.80, 0.10, 0.20)])
def test_block_by_block_evaluation_gives_the_same_designs(constraints, monkeypatch):
    """Large searches evaluate the stage-1 sums a block of pairs at a time to bound memory; forcing
    tiny blocks must not change any number."""
    whole = search_designs(*constraints, nmax=120).as_dict()
    monkeypatch.setattr(binomial, "TERMS_IN_MEMORY", 37)
    assert search_designs(*constraints, nmax=120).as_dict() == whole


def test_brute_force_cases_cover_several_admissible_designs():
    """The brute-force comparison is only as strong as its cases: at least one has ≥ 3 admissible designs."""
    sizes = []
    for p0, p1, alpha, beta, nmax in BRUTE_FORCE_CASES:
        try:
            sizes.append(len(search_designs(p0, p1, alpha, beta, nmax=nmax).admissible))
        except InfeasibleDesignError:
            sizes.append(0)
    assert max(sizes) >= 3 and 0 in sizes


def test_infeasible_within_nmax_raises_with_suggestion():
    """p0 .20 / p1 .40 (alpha .10, beta .10) needs n ≥ 36 (Simon 1989 minimax 3/19, 10/36)."""
    with pytest.raises(InfeasibleDesignError) as caught:
        search_designs(0.20, 0.40, 0.10, 0.10, nmax=35)
    assert "nmax" in caught.value.suggestion
    assert design_tuple(search_designs(0.20, 0.40, 0.10, 0.10, nmax=36).minimax) == (3, 19, 10, 36)


def test_truncated_search_warns_that_larger_n_may_do_better():
    """With nmax below Simon's optimal n = 43 (p0 .20 / p1 .40, alpha .05, beta .20) the best design
    found is not the optimal one, and the result says so."""
    truncated = search_designs(0.20, 0.40, 0.05, 0.20, nmax=40)
    (warning,) = truncated.warnings
    assert warning == {"code": "search-not-exhaustive", "message": warning["message"], "stratum": None}
    assert "nmax = 40" in warning["message"]
    assert f"warning: {warning['message']}" in format_designs_table(truncated).splitlines()
    assert truncated.optimal.n <= 40
    assert search_designs(0.20, 0.40, 0.05, 0.20, nmax=60).warnings == []


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------


@st.composite
def constraints(draw):
    p0 = draw(st.floats(0.05, 0.75))
    p1 = draw(st.floats(min(p0 + 0.15, 0.95), min(p0 + 0.35, 0.97)))
    alpha = draw(st.floats(0.02, 0.2))
    beta = draw(st.floats(0.05, 0.3))
    return p0, p1, alpha, beta


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(constraints())
def test_every_returned_design_meets_its_constraints(args):
    """Every design returned meets alpha and power exactly (recomputed from the joint pmf), its EN(p0)
    and PET(p0) are right, optimal EN ≤ minimax EN, minimax n ≤ optimal n, and the q ranges run from 1
    (minimax) down to 0 (optimal) without gaps, in order of n."""
    p0, p1, alpha, beta = args
    try:
        result = search_designs(p0, p1, alpha, beta, nmax=80)
    except InfeasibleDesignError:
        assume(False)
    designs = [result.optimal, result.minimax, *result.admissible]
    for design in designs:
        r1, n1, r, n = design_tuple(design)
        assert 0 <= r1 < n1 < n <= 80 and r1 <= r < n
        type_i = promising_probability(r1, n1, r, n, p0)
        power = promising_probability(r1, n1, r, n, p1)
        assert type_i <= alpha + 1e-12
        assert power >= 1 - beta - 1e-12
        assert design.type_i_error == pytest.approx(type_i, abs=1e-12)
        assert design.power == pytest.approx(power, abs=1e-12)
        assert design.expected_n_null == pytest.approx(expected_n(r1, n1, n, p0), rel=1e-12)
        assert design.pet_null == pytest.approx(float(stats.binom.cdf(r1, n1, p0)), abs=1e-12)
    assert result.optimal.expected_n_null <= result.minimax.expected_n_null
    assert result.minimax.n <= result.optimal.n

    admissible = result.admissible
    assert design_tuple(admissible[0]) == design_tuple(result.minimax)
    assert design_tuple(admissible[-1]) == design_tuple(result.optimal)
    assert [d.n for d in admissible] == sorted({d.n for d in admissible})
    assert admissible[0].q_range[1] == 1.0 and admissible[-1].q_range[0] == 0.0
    for earlier, later in zip(admissible, admissible[1:]):
        assert later.q_range[1] == earlier.q_range[0]
        assert later.expected_n_null < earlier.expected_n_null
    for design in admissible:
        lo, hi = design.q_range
        assert 0.0 <= lo <= hi <= 1.0
        q = (lo + hi) / 2
        loss = q * design.n + (1 - q) * design.expected_n_null
        assert all(loss <= q * other.n + (1 - q) * other.expected_n_null + 1e-9 for other in admissible)


@settings(max_examples=25, deadline=None)
@given(constraints())
def test_no_design_below_the_minimax_n_is_feasible(args):
    """Minimax means least n: one n below it, no (n1, r1, r) is feasible (checked exhaustively)."""
    p0, p1, alpha, beta = args
    try:
        result = search_designs(p0, p1, alpha, beta, nmax=80)
    except InfeasibleDesignError:
        assume(False)
    n = result.minimax.n - 1
    for n1 in range(1, n):
        x1 = np.arange(n1 + 1)[:, None]
        r = np.arange(n)[None, :]
        type_i = stats.binom.pmf(x1, n1, p0) * stats.binom.sf(r - x1, n - n1, p0)
        power = stats.binom.pmf(x1, n1, p1) * stats.binom.sf(r - x1, n - n1, p1)
        for r1 in range(n1):
            feasible = (type_i[r1 + 1 :].sum(0) <= alpha) & (power[r1 + 1 :].sum(0) >= 1 - beta)
            assert not feasible[r1:].any()


# ---------------------------------------------------------------------------------------------------
# Validation, serialisation, rendering
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"p0": 0.0}, "p0"),
        ({"p0": 1.0}, "p0"),
        ({"p0": float("nan")}, "p0"),
        ({"p0": "0.1"}, "p0"),
        ({"p1": 0.05}, "p1"),
        ({"p1": 0.04}, "p1"),
        ({"p1": 1.0}, "p1"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 0.51}, "alpha"),
        ({"beta": -0.1}, "beta"),
        ({"beta": float("inf")}, "beta"),
        ({"nmax": 1}, "nmax"),
        ({"nmax": 1001}, "nmax"),
        ({"nmax": 50.0}, "nmax"),
        ({"nmax": True}, "nmax"),
    ],
)
def test_invalid_arguments_name_the_field(kwargs, field):
    arguments = {"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.20, "nmax": 50, **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        search_designs(**arguments)
    assert [problem.field for problem in caught.value.problems] == [field]


def test_as_dict_is_json_ready():
    result = search_designs(0.10, 0.30, 0.05, 0.20, nmax=40)
    payload = json.loads(json.dumps(result.as_dict()))
    assert set(payload) >= {"optimal", "minimax", "admissible", "warnings"}
    assert payload["optimal"] == {
        "r1": 1, "n1": 10, "r": 5, "n": 29,
        "expected_n_null": result.optimal.expected_n_null, "pet_null": result.optimal.pet_null,
        "type_i_error": result.optimal.type_i_error, "power": result.optimal.power,
    }
    assert [row["n"] for row in payload["admissible"]] == [25, 26, 27, 29]
    assert payload["admissible"][0]["q_range"][1] == 1.0


def test_format_designs_table_lists_every_admissible_design():
    result = search_designs(0.10, 0.30, 0.05, 0.20, nmax=40)
    table = format_designs_table(result)
    assert "p0 = 0.1, p1 = 0.3" in table
    lines = table.splitlines()
    minimax_line = next(line for line in lines if line.startswith("minimax"))
    optimal_line = next(line for line in lines if line.startswith("optimal"))
    assert "1/15" in minimax_line and "5/25" in minimax_line and "19.51" in minimax_line
    assert "1/10" in optimal_line and "5/29" in optimal_line and "15.01" in optimal_line
    assert sum(line.startswith("admissible") for line in lines) == 2


def test_binomial_tables_are_kept_per_process_bounded_by_their_bytes():
    """A repeated search reuses its read-only tables; the cache counts bytes, not tables."""
    binomial.binomial_tables.cache_clear()
    tables = binomial.binomial_tables(0.2, 50)
    assert binomial.binomial_tables(0.2, 50) is tables
    assert not tables.pmf.flags.writeable and not tables.sf.flags.writeable
    assert binomial.binomial_tables.cache.currsize == tables.nbytes == 51 * 51 * 8 + 51 * 102 * 8
    assert binomial.binomial_tables.cache.maxsize == CACHES.bound("simon-binomial-tables") >= 2 * 24 * 2**20

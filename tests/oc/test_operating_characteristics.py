"""Operating characteristics: exact enumeration, seeded simulation, and the Bayesian rules beside Simon."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from scipy import stats

from designs import oc
from designs.core.decisions import CONTINUE, EARLY_GO, FINAL_GO, FINAL_NO_GO, FUTILITY, INACTIVE
from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from designs.oc.provenance import design_request
from designs.oc.tables import grid_shape, reachable_look_indices
from designs.response import spec as response_spec
from designs.response.decisions import DecisionRule
from designs.simon import evaluate_design

SIMON_OPTIMAL = {"r1": 0, "n1": 9, "r": 2, "n": 17}  # Simon (1989) p0 .05, p1 .25, alpha .05, beta .20


def simon_design(n_strata: int = 2) -> oc.OCDesign:
    strata = tuple(oc.StratumPlan(name, (9, 17)) for name in ("NF1", "sporadic")[:n_strata])
    return oc.OCDesign(0.05, 0.25, strata, oc.SimonStoppingRule(r1=0, r=2))


def within_mcse(simulated: float, exact: float, mcse: float, k: float = 3.0) -> bool:
    return abs(simulated - exact) <= k * max(mcse, 1e-12)


# --------------------------------------------------------------------------------------------------
# The engine on Simon's rule (no Bayesian model involved)


def test_simon_1989_optimal_design_exact_enumeration_equals_simon_evaluate_design():
    """Simon (1989) Table 1, p0 .05, p1 .25: 0/9, 2/17 — PET(p0) .630, EN(p0) 11.96, α .047, power .812."""
    result = oc.operating_characteristics(simon_design(), method="exact", simon=SIMON_OPTIMAL)
    assert result["method"] == "exact"
    for scenario in result["scenarios"]:
        for stratum in scenario["strata"]:
            (reference,) = evaluate_design(0, 9, 2, 17, [scenario["rates"][stratum["name"]]])
            assert stratum["prob_go"] == pytest.approx(reference["prob_reject_null"], abs=1e-12)
            assert stratum["prob_stop_at_look"][0] == pytest.approx(reference["pet"], abs=1e-12)
            assert stratum["expected_n"] == pytest.approx(reference["expected_n"], abs=1e-10)
            assert stratum["simon"]["prob_reject_null"] == pytest.approx(reference["prob_reject_null"], abs=1e-15)
    null = result["scenarios"][0]
    assert null["strata"][0]["prob_go"] == pytest.approx(0.0466, abs=5e-5)
    assert null["strata"][0]["expected_n"] == pytest.approx(11.96, abs=5e-3)
    # Independent strata: P(any go) = 1 − Π(1 − P(go_j)).
    assert null["prob_any_go"] == pytest.approx(1 - (1 - 0.046604957238962665) ** 2, abs=1e-12)


def test_simon_design_simulated_oc_matches_its_exact_oc_within_3_mcse():
    """Simulation of Simon's rule agrees with the exact OC within 3 Monte Carlo standard errors."""
    design = simon_design()
    exact = oc.operating_characteristics(design, method="exact")
    simulated = oc.operating_characteristics(design, method="simulation", n_trials=20_000, seed=20240501)
    assert simulated["method"] == "simulation" and simulated["n_trials"] == 20_000
    for ex, sim in zip(exact["scenarios"], simulated["scenarios"], strict=True):
        assert within_mcse(sim["prob_any_go"], ex["prob_any_go"], sim["mcse"]["prob_any_go"])
        for s_ex, s_sim in zip(ex["strata"], sim["strata"], strict=True):
            assert within_mcse(s_sim["prob_go"], s_ex["prob_go"], s_sim["mcse"]["prob_go"])
            assert within_mcse(s_sim["expected_n"], s_ex["expected_n"], s_sim["mcse"]["expected_n"])
            for p_sim, p_ex, se in zip(s_sim["prob_stop_at_look"], s_ex["prob_stop_at_look"], s_sim["mcse"]["prob_stop_at_look"], strict=True):
                assert within_mcse(p_sim, p_ex, se)


class CoupledCountRule:
    """A toy rule that couples strata (like pooling): decisions use the responders of all strata."""


class CoupledCountDecider:
    separable = False

    def __init__(self, design: oc.OCDesign):
        self.design = design

    def decide(self, analysis, look_index, y):
        codes = np.full(y.shape, INACTIVE, dtype=np.int8)
        total = y.sum(axis=1)
        for j, look in enumerate(look_index):
            if look != analysis:
                continue
            if analysis < len(self.design.strata[j].looks) - 1:
                codes[:, j] = np.select([total == 0, total >= 3], [FUTILITY, EARLY_GO], CONTINUE)
            else:
                codes[:, j] = np.where(total + y[:, j] >= 5, FINAL_GO, FINAL_NO_GO)
        return codes


def brute_force(design: oc.OCDesign, decider, rates) -> oc.Tally:
    """Every sequence of patient outcomes, weighted by its probability, run through the rule one by one."""
    tally = oc.Tally.empty(design, trials=1.0)
    sizes = [s.final_n for s in design.strata]
    for outcome in itertools.product((0, 1), repeat=sum(sizes)):
        per_stratum = np.split(np.array(outcome), np.cumsum(sizes)[:-1])
        weight = np.prod([rates[j] ** x.sum() * (1 - rates[j]) ** (len(x) - x.sum()) for j, x in enumerate(per_stratum)])
        look = [0] * len(sizes)
        went = False
        for analysis in range(design.n_analyses):
            y = np.array([[per_stratum[j][: design.strata[j].looks[look[j]]].sum() for j in range(len(sizes))]])
            codes = decider.decide(analysis, tuple(look), y)[0]
            for j in range(len(sizes)):
                if look[j] == analysis:
                    if codes[j] != CONTINUE:
                        tally.ends[j, analysis, codes[j] - 1] += weight
                        went |= codes[j] in (EARLY_GO, FINAL_GO)
                    else:
                        look[j] += 1
        tally.any_go += weight * went
    return tally


def test_joint_enumeration_equals_brute_force_over_every_patient_sequence():
    """Exact OC of a rule that couples strata = the sum over all 2^10 patient outcome sequences."""
    design = oc.OCDesign(0.2, 0.5, (oc.StratumPlan("NF1", (2, 4, 5)), oc.StratumPlan("sporadic", (3, 5))), CoupledCountRule())
    decider = CoupledCountDecider(design)
    tables = oc.DecisionTables(design, decider)
    for rates in ([0.2, 0.2], [0.5, 0.2], [0.35, 0.6]):
        exact = oc.exact_tally(design, rates, tables)
        reference = brute_force(design, decider, rates)
        np.testing.assert_allclose(exact.ends, reference.ends, atol=1e-13)
        assert exact.any_go == pytest.approx(reference.any_go, abs=1e-13)
        assert exact.ends.sum() == pytest.approx(2.0, abs=1e-12)  # every stratum ends exactly once


def test_coupled_rule_simulation_agrees_with_joint_enumeration_dense_and_sparse():
    design = oc.OCDesign(0.2, 0.5, (oc.StratumPlan("NF1", (2, 4, 5)), oc.StratumPlan("sporadic", (3, 5))), CoupledCountRule())
    decider = CoupledCountDecider(design)
    rates = [0.35, 0.6]
    exact = oc.exact_tally(design, rates, oc.DecisionTables(design, decider))
    dense = oc.simulate_blocks(oc.DecisionTables(design, decider, dense=True), rates, 7, 0, 30_000)
    sparse = oc.simulate_blocks(oc.DecisionTables(design, decider, dense=False), rates, 7, 0, 30_000)
    np.testing.assert_array_equal(dense.ends, sparse.ends)  # the same decisions, however they are stored
    prob = dense.ends / dense.trials
    se = np.sqrt(prob * (1 - prob) / dense.trials)
    assert np.all(np.abs(prob - exact.ends) <= 3 * se + 1e-12)


# --------------------------------------------------------------------------------------------------
# Seeds, blocks, chunks


def test_same_seed_same_numbers_whatever_the_chunking():
    """Counts are sums over fixed RNG blocks: chunk size (hence number of workers) cannot change them."""
    design = simon_design()
    results = []
    for chunk_trials in (1_000, 3_000, 25_000):
        p = oc.plan(design, method="simulation", n_trials=12_345, seed=99, chunk_trials=chunk_trials).prepare()
        pairs = [(c, p.run_chunk(c)) for c in reversed(p.chunks)]  # finishing order does not matter
        results.append(p.reduce(pairs))
    assert results[0] == results[1] == results[2]
    other_seed = oc.operating_characteristics(design, method="simulation", n_trials=12_345, seed=100)
    assert other_seed["scenarios"][0]["strata"][0]["prob_go"] != results[0]["scenarios"][0]["strata"][0]["prob_go"]


def test_plan_chunks_cover_every_trial_once():
    chunks = oc.plan_chunks(n_scenarios=2, n_trials=10_500, chunk_trials=4_000)
    for s in range(2):
        mine = [c for c in chunks if c.scenario == s]
        assert sum(c.n_trials for c in mine) == 10_500
        assert [c.first_block for c in mine] == [0, 4, 8]


def test_a_scenario_gets_the_same_numbers_in_any_request():
    design = simon_design()
    alone = oc.operating_characteristics(design, [oc.Scenario("x", {"NF1": 0.2, "sporadic": 0.1})], method="simulation", n_trials=3_000, seed=5)
    among = oc.operating_characteristics(
        design,
        [oc.Scenario("null", {"NF1": 0.05, "sporadic": 0.05}), oc.Scenario("x", {"NF1": 0.2, "sporadic": 0.1})],
        method="simulation",
        n_trials=3_000,
        seed=5,
    )
    assert alone["scenarios"][0]["strata"] == among["scenarios"][1]["strata"]


# --------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("looks", "reason"),
    [((7, 7, 21), "strictly increasing"), ((14, 7), "strictly increasing"), ((7, 14, 501), "500"), ((0, 7), "at least 1")],
)
def test_bad_looks_name_the_field(looks, reason):
    design = oc.OCDesign(0.15, 0.35, (oc.StratumPlan("NF1", looks),), oc.SimonStoppingRule(0, 2))
    with pytest.raises(InvalidInputError) as info:
        oc.validate_design(design)
    assert info.value.problems[0].field == "strata/0/looks"
    assert reason in info.value.problems[0].reason


def test_scenarios_with_unknown_or_missing_strata_or_bad_rates_are_named():
    design = simon_design()
    scenarios = [oc.Scenario("a", {"NF1": 0.1, "plexiform": 0.2}), oc.Scenario("b", {"NF1": 1.2, "sporadic": 0.1})]
    with pytest.raises(InvalidInputError) as info:
        oc.validate_scenarios(design, scenarios)
    fields = {p.field for p in info.value.problems}
    assert {"scenarios/0/rates/plexiform", "scenarios/0/rates", "scenarios/1/rates/NF1"} <= fields


def test_default_scenarios_are_null_alternative_and_each_stratum_alone():
    names = [s.name for s in oc.default_scenarios(["NF1", "sporadic"], 0.15, 0.35)]
    assert names == ["global null", "global alternative", "only NF1 active", "only sporadic active"]


# --------------------------------------------------------------------------------------------------
# Bayesian rules (models from designs.response.spec; hierarchical posteriors from designs.engines.quadrature)

P0, P1 = 0.15, 0.35
NF1_ONLY = oc.Scenario("only NF1 active", {"NF1": P1, "sporadic": P0})
GLOBAL_NULL = oc.Scenario("global null", {"NF1": P0, "sporadic": P0})
GLOBAL_ALTERNATIVE = oc.Scenario("global alternative", {"NF1": P1, "sporadic": P1})


def mpnst(kind: str, *, fixed_tau: float | None = None, **rule) -> oc.OCDesign:
    strata = (oc.StratumPlan("NF1", (7, 14, 21)), oc.StratumPlan("sporadic", (7, 14, 21)))
    return oc.OCDesign(P0, P1, strata, DecisionRule(**rule), response_spec.resolve(kind, {}, P0), fixed_tau=fixed_tau)


def go(result: dict, scenario: str, stratum: str) -> float:
    row = next(s for s in result["scenarios"] if s["name"] == scenario)
    return next(s["prob_go"] for s in row["strata"] if s["name"] == stratum)


def assert_simulation_within_3_mcse(exact: dict, simulated: dict) -> None:
    for ex, sim in zip(exact["scenarios"], simulated["scenarios"], strict=True):
        assert within_mcse(sim["prob_any_go"], ex["prob_any_go"], sim["mcse"]["prob_any_go"]), ex["name"]
        for s_ex, s_sim in zip(ex["strata"], sim["strata"], strict=True):
            where = (ex["name"], s_ex["name"])
            assert within_mcse(s_sim["prob_go"], s_ex["prob_go"], s_sim["mcse"]["prob_go"]), where
            assert within_mcse(s_sim["expected_n"], s_ex["expected_n"], s_sim["mcse"]["expected_n"]), where


@pytest.mark.parametrize("kind", ["independent", "pooled"])
def test_beta_binomial_exact_oc_and_simulation_agree_within_3_mcse(kind):
    """The exact enumeration (RBesT oc1S-style) and the seeded simulation of the same rule agree."""
    design = mpnst(kind)
    exact = oc.operating_characteristics(design, method="exact")
    simulated = oc.operating_characteristics(design, method="simulation", n_trials=20_000, seed=7)
    assert exact["method"] == "exact" and simulated["method"] == "simulation"
    assert_simulation_within_3_mcse(exact, simulated)
    assert oc.operating_characteristics(design)["method"] == "exact"  # auto: closed-form models are enumerated


@pytest.mark.parametrize("kind", ["hierarchical", "exnex"])
def test_borrowing_model_simulation_agrees_with_joint_enumeration_within_3_mcse(kind):
    """Quadrature posteriors, tabulated once per outcome tuple: simulated and enumerated OCs agree."""
    design = mpnst(kind)
    scenarios = [GLOBAL_NULL, NF1_ONLY]
    exact = oc.operating_characteristics(design, scenarios, method="exact")
    simulated = oc.operating_characteristics(design, scenarios, method="simulation", n_trials=20_000, seed=7)
    assert oc.operating_characteristics(design, scenarios, n_trials=500)["method"] == "simulation"  # auto
    assert_simulation_within_3_mcse(exact, simulated)


def test_rules_with_other_final_thresholds_share_the_kept_final_table():
    """Calibration candidates differ in the final threshold only: a second rule reuses the final table
    kept for the first (same marginal likelihoods), only its success indicator differs."""
    design = mpnst("hierarchical")
    first = oc.BayesianDecider(design).tables.hierarchical_predictive((21, 21), 0.95)
    relaxed = dataclasses.replace(design, rule=DecisionRule(final_threshold=0.8))
    other = oc.BayesianDecider(relaxed).tables.hierarchical_predictive((21, 21), 0.8)
    assert other.log_marginal is first.log_marginal
    np.testing.assert_array_equal(other.success, first.prob_above_p0 > 0.8)
    assert other.success.sum() > first.success.sum()


def test_independent_separable_enumeration_equals_joint_enumeration():
    design = mpnst("independent")
    decider = oc.BayesianDecider(design)
    decider.separable = False  # force the joint (coupled) enumeration
    joint = oc.DecisionTables(design, decider)
    for scenario in (GLOBAL_NULL, NF1_ONLY):
        rates = [scenario.rates["NF1"], scenario.rates["sporadic"]]
        a, b = oc.exact_tally(design, rates), oc.exact_tally(design, rates, joint)
        np.testing.assert_allclose(a.ends, b.ends, atol=1e-12)
        assert a.any_go == pytest.approx(b.any_go, abs=1e-12)


@pytest.mark.parametrize("kind", ["independent", "pooled"])
def test_predictive_probability_of_success_equals_the_beta_binomial_formula(kind):
    """Lee & Liu (2008): PPoS = Σ_x BetaBin(x; m, a + y, b + n − y) 1[P(p > p0 | y + x) > θ]."""
    design = mpnst(kind)
    decider = oc.BayesianDecider(design)
    a, b = design.model.prior.a, design.model.prior.b
    y = np.array([[y1, y2] for y1 in range(8) for y2 in range(8)])
    ppos = decider.predictive_probability_of_success(0, (0, 0), y, [0, 1])
    for row, (y1, y2) in enumerate(y):
        if kind == "independent":
            for j, yj in enumerate((y1, y2)):
                x = np.arange(15)
                success = stats.beta.sf(P0, a + yj + x, b + 21 - yj - x) > 0.95
                expected = float((stats.betabinom.pmf(x, 14, a + yj, b + 7 - yj) * success).sum())
                assert ppos[row, j] == pytest.approx(expected, abs=1e-10)
        else:
            total = y1 + y2
            x = np.arange(29)
            success = stats.beta.sf(P0, a + total + x, b + 42 - total - x) > 0.95
            expected = float((stats.betabinom.pmf(x, 28, a + total, b + 14 - total) * success).sum())
            assert ppos[row, 0] == pytest.approx(expected, abs=1e-10)
            assert ppos[row, 1] == pytest.approx(expected, abs=1e-10)


def test_hierarchical_with_tau_fixed_at_zero_behaves_like_the_pooled_model():
    """τ = 0: complete pooling. Same go probabilities as the pooled Beta–binomial model (to 0.005)."""
    scenarios = [GLOBAL_NULL, GLOBAL_ALTERNATIVE, NF1_ONLY]
    tau0 = oc.operating_characteristics(mpnst("hierarchical", fixed_tau=0.0), scenarios, method="exact")
    pooled = oc.operating_characteristics(mpnst("pooled"), scenarios, method="exact")
    for scenario in ("global null", "global alternative", "only NF1 active"):
        for stratum in ("NF1", "sporadic"):
            assert go(tau0, scenario, stratum) == pytest.approx(go(pooled, scenario, stratum), abs=0.005)
    # Fully pooled: the inactive stratum shares the active one's fate.
    assert go(tau0, "only NF1 active", "sporadic") == pytest.approx(go(tau0, "only NF1 active", "NF1"), abs=1e-9)


def test_hierarchical_with_tau_huge_behaves_like_independent_models():
    """τ → ∞: no borrowing. A null stratum's P(go) is the same beside an active one as under the global null."""
    scenarios = [GLOBAL_NULL, GLOBAL_ALTERNATIVE, NF1_ONLY]
    wide = oc.operating_characteristics(mpnst("hierarchical", fixed_tau=30.0), scenarios, method="exact")
    independent = oc.operating_characteristics(mpnst("independent"), scenarios, method="exact")
    assert go(wide, "only NF1 active", "sporadic") == pytest.approx(go(wide, "global null", "sporadic"), abs=1e-6)
    assert go(wide, "only NF1 active", "NF1") == pytest.approx(go(wide, "global alternative", "NF1"), abs=1e-6)
    # Only the priors differ (logit-flat vs Beta(p0, 1 − p0)): close to the independent model.
    for scenario in ("global null", "global alternative", "only NF1 active"):
        for stratum in ("NF1", "sporadic"):
            assert go(wide, scenario, stratum) == pytest.approx(go(independent, scenario, stratum), abs=0.025)


def test_borrowing_inflates_the_inactive_strata_go_probability_and_is_reported():
    """Only NF1 active (0.35 vs 0.15): the hierarchical model lends NF1's responses to sporadic."""
    result = oc.operating_characteristics(mpnst("hierarchical"), [NF1_ONLY], method="exact")
    (entry,) = result["borrowing"]
    assert entry["stratum"] == "sporadic" and entry["scenario"] == "only NF1 active"
    assert entry["prob_go"] > entry["prob_go_global_null"] + 0.02  # 0.071 against 0.024
    assert entry["inflation"] == pytest.approx(entry["prob_go"] - entry["prob_go_global_null"])
    (warning,) = result["warnings"]
    assert warning["code"] == "borrowing-inflation" and warning["stratum"] == "sporadic"
    assert "borrowing" in warning["message"] and "sporadic" in warning["message"]
    sporadic = result["scenarios"][0]["strata"][1]
    assert sporadic["type_i_inflation"] == pytest.approx(entry["inflation"])
    independent = oc.operating_characteristics(mpnst("independent"), [NF1_ONLY], method="exact")
    assert independent["borrowing"][0]["inflation"] == pytest.approx(0.0, abs=1e-12)
    assert independent["warnings"] == []


def borrowing_warnings(inflation: float, mcse: float, null_mcse: float) -> list[dict]:
    """The warnings of ``borrowing_report`` for sporadic (at p0) beside NF1 (at p1), rows built by hand."""
    design = oc.OCDesign(P0, P1, (oc.StratumPlan("NF1", (21,)), oc.StratumPlan("sporadic", (21,))), None)

    def row(name: str, rates: dict, prob_go: dict, se: float) -> dict:
        strata = [{"name": s, "prob_go": prob_go[s], "mcse": {"prob_go": se}} for s in ("NF1", "sporadic")]
        return {"name": name, "rates": rates, "strata": strata}

    null_row = row("global null", {"NF1": P0, "sporadic": P0}, {"NF1": 0.05, "sporadic": 0.05}, null_mcse)
    active = row("only NF1 active", {"NF1": P1, "sporadic": P0}, {"NF1": 0.8, "sporadic": 0.05 + inflation}, mcse)
    report, warnings = oc.borrowing_report(design, [active], null_row)
    (entry,) = report  # reported whether it warns or not
    assert entry["inflation"] == pytest.approx(inflation, abs=1e-15)
    return warnings


@pytest.mark.parametrize(
    ("mcse", "null_mcse"),
    [(0.01, 0.02), (0.02, 0.005), (0.0, 0.0), (0.001, 0.001)],
    ids=["mcse-decides", "mcse-decides-other-way", "exact-floor", "floor-above-small-mcse"],
)
def test_borrowing_inflation_warns_just_above_three_combined_mcse_floor_0_005_and_not_just_below(mcse, null_mcse):
    """The warning fires when inflation > max(3·hypot(MCSE, MCSE under the global null), 0.005): 1 % above
    that threshold warns, 1 % below does not (so 30 × MCSE, 2 × MCSE, a sum of MCSEs or another floor fail)."""
    threshold = max(3 * float(np.hypot(mcse, null_mcse)), 0.005)
    (warning,) = borrowing_warnings(1.01 * threshold, mcse, null_mcse)
    assert warning["code"] == "borrowing-inflation" and warning["stratum"] == "sporadic"
    assert "inflates its type I error" in warning["message"]
    assert borrowing_warnings(0.99 * threshold, mcse, null_mcse) == []


def test_early_go_ends_enrolment_and_counts_as_go():
    design = mpnst("independent", efficacy_ppos=0.6)
    result = oc.operating_characteristics(design, [GLOBAL_ALTERNATIVE], method="exact")
    nf1 = result["scenarios"][0]["strata"][0]
    assert nf1["prob_early_go"] > 0.05
    assert nf1["prob_go"] >= nf1["prob_early_go"]
    stops = np.add(nf1["prob_futility_at_look"], nf1["prob_early_go_at_look"])
    np.testing.assert_allclose(stops[:-1], nf1["prob_stop_at_look"][:-1], atol=1e-12)
    assert nf1["expected_n"] < 21


def test_monte_carlo_standard_errors_are_honest_across_seeds():
    """Over 120 seeds the z-scores (simulated − exact) / MCSE have mean ≈ 0 and sd ≈ 1: no bias, right MCSE."""
    design = mpnst("independent")
    tables = oc.DecisionTables(design).precompute()
    rates = [P0, P1]
    exact = oc.exact_tally(design, rates, tables)
    looks = np.array([7, 14, 21])
    z = []
    for seed in range(120):
        tally = oc.simulate_blocks(tables, rates, seed, 0, 2_000)
        for j in range(2):
            row = oc.summarise_stratum(design.strata[j], tally.ends[j], tally.trials, simulated=True)
            prob_go = exact.ends[j, :, 1:3].sum()
            expected_n = float((exact.ends[j].sum(axis=1) * looks).sum())
            z.append((row["prob_go"] - prob_go) / row["mcse"]["prob_go"])
            z.append((row["expected_n"] - expected_n) / row["mcse"]["expected_n"])
    z = np.array(z)
    assert abs(z.mean()) < 0.2
    assert 0.85 < z.std() < 1.15


def test_separable_simulation_equals_the_joint_simulation():
    """Strata simulated one by one (separable rules) give exactly the counts of the joint simulation."""
    design = mpnst("independent")
    joint_decider = oc.BayesianDecider(design)
    joint_decider.separable = False
    rates = [P1, P0]
    separable = oc.simulate_blocks(oc.DecisionTables(design), rates, 42, 0, 5_000)
    joint = oc.simulate_blocks(oc.DecisionTables(design, joint_decider), rates, 42, 0, 5_000)
    np.testing.assert_array_equal(separable.ends, joint.ends)
    assert separable.any_go == joint.any_go


def test_dense_cell_count_counts_every_reachable_outcome_tuple():
    design = oc.OCDesign(0.2, 0.5, (oc.StratumPlan("a", (2, 4, 5)), oc.StratumPlan("b", (3, 5)), oc.StratumPlan("c", (1,))), None)
    brute = sum(
        int(np.prod(grid_shape(design, t))) for k in range(design.n_analyses) for t in reachable_look_indices(design, k)
    )
    assert oc.dense_cell_count(design) == brute


def test_results_carry_provenance_hashed_from_the_request_given_or_the_arguments():
    """The core stamps every OC result: model, engine, method, the seed when simulated, and the
    SHA-256 of the request it is given (else of its own arguments written as a request)."""
    design = mpnst("hierarchical")
    request = {"anything": "the caller received", "seed": 3}
    simulated = oc.run(oc.plan(design, [GLOBAL_NULL], method="simulation", n_trials=50, seed=3, request=request))
    provenance = simulated["provenance"]
    assert provenance["input_sha256"] == input_hash(request)
    assert provenance["seed"] == 3 and provenance["engine"] == "quadrature" and provenance["model"]["kind"] == "hierarchical"
    assert provenance["method"].startswith("seeded simulation")
    exact = oc.operating_characteristics(mpnst("independent"), [GLOBAL_NULL], method="exact")["provenance"]
    assert "seed" not in exact and exact["engine"] == "closed form (Beta–binomial)"
    own = design_request(mpnst("independent"), [GLOBAL_NULL], method="exact", n_trials=10_000, seed=0, simon=None)
    assert exact["input_sha256"] == input_hash(own)
    assert own["strata"] == [{"name": "NF1", "looks": [7, 14, 21]}, {"name": "sporadic", "looks": [7, 14, 21]}]

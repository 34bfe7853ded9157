"""The PFS design simulation against a trial-by-trial re-implementation written from the documented rules
(docs/PFS_DESIGN.md "How a trial is simulated"), on the same uniforms: strata on different calendars (one
by calendar months with a look after its final analysis, one by evaluable patients), interim futility and
efficacy stops, a stopped stratum's accrual ending at its stop, follow-up capped by max_follow_up_months,
Poisson and uniform accrual. Every trial's ending, look, month and enrolment must agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from designs.pfsdesign.simulate import _uniforms, simulate_block
from designs.pfsdesign.spec import PFSDesignSpec

L, CAP = 4.0, 6.0
BODY = {
    "strata": [{"name": "A", "n_planned": 12, "accrual_per_month": 1.5, "looks": {"by": "calendar", "months": [3, 8, 30]}},
               {"name": "B", "n_planned": 20, "accrual_per_month": 3.0, "looks": {"by": "evaluable", "patients": [5, 12, 20]}}],
    "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "landmark_months": L,
    "model": {"kind": "independent-exponential"}, "n_trials": 300, "seed": 3, "max_follow_up_months": CAP,
    "decision": {"final_threshold": 0.9, "futility_prob_above_benchmark": 0.3, "efficacy_prob_above_target": 0.8},
    "scenarios": [{"name": "x", "laws": {"A": {"kind": "weibull", "shape": 1.5, "median_months": 2.5},
                                         "B": {"kind": "exponential", "landmark_pfs": 0.3}}}],
}


def _trial(spec, scenario, uniforms, i):
    """(ending code, look index, month, enrolled) per stratum of trial i, by the documented rules."""
    prior = spec.model.prior
    rule = spec.decision

    def prob_above(d, T, s):
        return special.gammainc(prior.shape + d, (prior.rate + T) * (-math.log(s) / L))

    patients = []
    for j, stratum in enumerate(spec.strata):
        u_accrual, u_event = uniforms[j][0][i], uniforms[j][1][i]
        if spec.accrual == "poisson":
            entry = np.concatenate([[0.0], np.cumsum(-np.log(u_accrual[1:]) / stratum.accrual_per_month)])
        else:
            entry = np.arange(stratum.n_planned) / stratum.accrual_per_month
        event_time = scenario.laws[stratum.name].sample(u_event)
        evaluable = entry + np.minimum(event_time, L)
        final = evaluable.max()
        if stratum.looks_by == "calendar":
            months = [m for m in stratum.looks if m < final] + [final]
            index = [k for k, m in enumerate(stratum.looks) if m < final] + [len(stratum.looks)]
        else:
            ordered = np.sort(evaluable)
            months = [ordered[int(p) - 1] for p in stratum.looks]
            index = list(range(len(months)))
        patients.append((entry, event_time, evaluable, months, index))
    state, stopped_at = [None] * len(spec.strata), [math.inf] * len(spec.strata)
    for t in sorted({m for p in patients for m in p[3]}):
        for j, stratum in enumerate(spec.strata):
            entry, event_time, evaluable, months, index = patients[j]
            if state[j] is not None or t not in months:
                continue
            inside = entry <= min(t, stopped_at[j])
            event = inside & (event_time <= CAP) & (entry + event_time <= t)
            exposure = np.where(event, event_time, np.minimum(t - entry, CAP))[inside].sum()
            final = (inside & (evaluable <= t)).sum() >= stratum.n_planned
            p_b, p_t = prob_above(event.sum(), exposure, 0.15), prob_above(event.sum(), exposure, 0.35)
            code = (3 if final and p_b > rule.final_threshold else 4 if final else
                    1 if p_b < rule.futility_prob_above_benchmark else 2 if p_t > rule.efficacy_prob_above_target else 0)
            if code:
                state[j], stopped_at[j] = (code, index[months.index(t)], t, int(inside.sum())), t
    return state


@pytest.mark.parametrize("accrual", ["poisson", "uniform"])
def test_simulated_trials_follow_the_documented_rules_trial_by_trial(accrual):
    spec = PFSDesignSpec.from_mapping(BODY | {"accrual": {"kind": accrual}})
    scenario, n = spec.scenarios[0], 300
    out = simulate_block(spec, scenario, 3, 2, n)
    uniforms = _uniforms(3, 2, spec, n)
    for i in range(n):
        for j, want in enumerate(_trial(spec, scenario, uniforms, i)):
            got = (int(out.ending[i, j]), int(out.look[i, j]), float(out.month[i, j]), int(out.enrolled[i, j]))
            assert got[:2] == want[:2] and got[2] == pytest.approx(want[2], abs=1e-12) and got[3] == want[3], (i, j)
    assert set(np.unique(out.ending)) >= {1, 2, 3, 4}  # futility, early go, final go and final no-go all occur

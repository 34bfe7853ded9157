"""Simulated PFS trials with accrual, looks and the go / no-go rule, in seeded blocks.

Block b of a request's trials draws its uniforms from ``SeedSequence(seed, spawn_key=(b,))`` (as the
response OC, ``designs.oc.simulate``): per stratum one uniform per patient for the accrual gap and one
for the event time (by inversion, ``SurvivalLaw.sample``), so that every scenario sees the same patients
(common random numbers) and a block's numbers do not depend on how blocks are grouped in chunks. The
posterior of a look is computed for the block's trials at that look together (the quadrature grid is
the block's), so that chunking cannot change a number either.

One trial: stratum j enrols n_planned patients (``designs.pfsdesign.spec``: Poisson or uniform accrual,
the first at month 0); patient i, entering at e_i with event time X_i, is evaluable from
e_i + min(X_i, L). Its looks are at calendar months or when that many patients are evaluable; its final
analysis when all are. At an analysis at month t the data of a stratum are its enrolled patients
(e_i ≤ t, and e_i ≤ its stopping month once stopped: a stratum that stopped accrues no more, though
its patients stay on follow-up), each followed for min(X_i, t − e_i, max follow-up), with an event if
X_i comes first. Strata are analysed together at every month at which any stratum has a look (a joint,
hierarchical model borrows from all strata's data as they stand then); only the strata whose own look
it is, and that are still enrolling, take a decision, each by its own P(S_j(L) > benchmark) and
P(S_j(L) > target) (``designs.survival.decisions.decide_pfs``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from designs.core.decisions import CONTINUE
from designs.oc.simulate import RNG_BLOCK_TRIALS
from designs.pfsdesign.posterior import closed_form_prob_above, hierarchical_prob_above
from designs.pfsdesign.spec import LawScenario, PFSDesignSpec
from designs.survival.decisions import PFSDecisionRule, decide_pfs




@dataclass
class BlockOutcome:
    """How each stratum of each trial of a block ended (arrays (trials, J)): ``ending`` the decision code
    (1 futility, 2 early go, 3 final go, 4 final no-go), ``look`` its own look index, ``month`` the
    analysis month, ``enrolled`` patients enrolled then, ``final_prob`` P(S(L) > benchmark) at the final
    analysis (NaN when stopped before it: what calibration re-thresholds)."""

    ending: np.ndarray
    look: np.ndarray
    month: np.ndarray
    enrolled: np.ndarray
    final_prob: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[BlockOutcome]) -> BlockOutcome:
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in
                     ("ending", "look", "month", "enrolled", "final_prob")))


def _uniforms(seed: int, block: int, spec: PFSDesignSpec, n_trials: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(accrual uniforms, event uniforms), each (trials, n_planned), per stratum: from (seed, block) only."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    out = []
    for stratum in spec.strata:
        pair = rng.random((2, RNG_BLOCK_TRIALS, stratum.n_planned))
        # (0, 1]: −log U and the inversion T = H⁻¹(−log U) stay finite.
        out.append((1.0 - pair[0, :n_trials], 1.0 - pair[1, :n_trials]))
    return out


def _entries(spec: PFSDesignSpec, rate: float, accrual_uniforms: np.ndarray) -> np.ndarray:
    m, n = accrual_uniforms.shape
    if spec.accrual == "uniform":
        return np.broadcast_to(np.arange(n) / rate, (m, n))
    gaps = -np.log(accrual_uniforms[:, 1:]) / rate
    return np.concatenate([np.zeros((m, 1)), np.cumsum(gaps, axis=1)], axis=1)


def _look_months(stratum, evaluable_from: np.ndarray) -> np.ndarray:
    """(trials, K) months of the stratum's analyses, the final last; inf for calendar looks at or after it."""
    ordered = np.sort(evaluable_from, axis=1)
    final = ordered[:, -1]
    if stratum.looks_by == "evaluable":
        return ordered[:, np.asarray(stratum.looks, dtype=int) - 1]
    calendar = np.broadcast_to(np.asarray(stratum.looks), (final.size, len(stratum.looks)))
    return np.concatenate([np.where(calendar < final[:, None], calendar, np.inf), final[:, None]], axis=1)


def _patients(spec: PFSDesignSpec, scenario: LawScenario, seed: int, block: int, n_trials: int) -> tuple[list, ...]:
    """Per stratum (trials, n_planned) arrays: entry months, event times, calendar months of the event
    (never, beyond the follow-up) and of evaluability; and (trials, looks) look months."""
    L = spec.landmark_months
    cap = np.inf if spec.max_follow_up_months is None else spec.max_follow_up_months
    entries, times, event_months, evaluable_months, looks = [], [], [], [], []
    for stratum, (u_accrual, u_event) in zip(spec.strata, _uniforms(seed, block, spec, n_trials), strict=True):
        entry = _entries(spec, stratum.accrual_per_month, u_accrual)
        event_time = scenario.laws[stratum.name].sample(u_event)
        entries.append(entry)
        times.append(event_time)
        # Both months are compared with the analysis month as computed, so that the patient whose
        # evaluability sets a look's month counts at that look (no rounding of t − entry).
        event_months.append(np.where(event_time <= cap, entry + event_time, np.inf))
        evaluable_months.append(entry + np.minimum(event_time, L))
        looks.append(_look_months(stratum, evaluable_months[-1]))
    return entries, times, event_months, evaluable_months, looks


def patient_records(spec: PFSDesignSpec, scenario: LawScenario, seed: int, block: int, trial: int,
                    month: float) -> list[dict]:
    """The data of trial ``trial`` of RNG block ``block`` at ``month`` had no stratum stopped before it, as
    the PFS analysis request's patients ``{id, stratum, time_months, event}``: what lets a test analyse a
    simulated look with ``designs.survival.analysis`` and compare."""
    entries, times, event_months, evaluable_months, _ = _patients(spec, scenario, seed, block, trial + 1)
    cap = np.inf if spec.max_follow_up_months is None else spec.max_follow_up_months
    L = spec.landmark_months
    out = []
    for stratum, entry, x, at, evaluable in zip(spec.strata, entries, times, event_months, evaluable_months, strict=True):
        for i in np.flatnonzero(entry[trial] <= month):
            event = bool(at[trial, i] <= month)
            time = float(x[trial, i]) if event else float(min(max(month - entry[trial, i], 0.0), cap))
            if not event and evaluable[trial, i] <= month:
                time = max(time, L)  # month − entry may round just below L for the look's last patient
            out.append({"id": f"{stratum.name}-{i}", "stratum": stratum.name, "time_months": time, "event": event})
    return out


def simulate_block(spec: PFSDesignSpec, scenario: LawScenario, seed: int, block: int, n_trials: int,
                   rule: PFSDecisionRule | None = None) -> BlockOutcome:
    """The first ``n_trials`` (≤ RNG_BLOCK_TRIALS) trials of RNG block ``block`` under ``scenario``."""
    rule = spec.decision if rule is None else rule
    cap = np.inf if spec.max_follow_up_months is None else spec.max_follow_up_months
    n_strata = len(spec.strata)
    entries, times, event_months, evaluable_months, looks = _patients(spec, scenario, seed, block, n_trials)
    # Every analysis month of a trial, in order (a month shared by several strata's looks once).
    all_months = np.sort(np.concatenate(looks, axis=1), axis=1)
    repeated = np.zeros_like(all_months, dtype=bool)
    repeated[:, 1:] = all_months[:, 1:] == all_months[:, :-1]
    all_months[repeated] = np.inf

    m = n_trials
    ending = np.zeros((m, n_strata), dtype=np.int8)
    look_at = np.full((m, n_strata), -1, dtype=np.int16)
    month_at = np.full((m, n_strata), np.nan)
    enrolled_at = np.zeros((m, n_strata), dtype=np.int32)
    final_prob = np.full((m, n_strata), np.nan)
    stop = np.full((m, n_strata), np.inf)
    thresholds = (spec.benchmark_landmark_pfs, spec.target_landmark_pfs)
    for a in range(all_months.shape[1]):
        t = all_months[:, a]
        owner = np.stack([(lk == t[:, None]).any(axis=1) for lk in looks], axis=1) & (ending == 0)
        rows = np.flatnonzero(np.isfinite(t) & owner.any(axis=1))
        if rows.size == 0:
            continue
        tr = t[rows, None]
        events = np.empty((rows.size, n_strata))
        exposure = np.empty((rows.size, n_strata))
        evaluable = np.empty((rows.size, n_strata), dtype=np.int64)
        enrolled = np.empty((rows.size, n_strata), dtype=np.int64)
        for j in range(n_strata):
            entry, x = entries[j][rows], times[j][rows]
            inside = entry <= np.minimum(tr, stop[rows, j][:, None])
            event = inside & (event_months[j][rows] <= tr)
            seen = np.minimum(np.maximum(tr - entry, 0.0), cap)
            events[:, j] = event.sum(axis=1)
            exposure[:, j] = np.where(inside, np.where(event, x, seen), 0.0).sum(axis=1)
            evaluable[:, j] = (inside & (evaluable_months[j][rows] <= tr)).sum(axis=1)
            enrolled[:, j] = inside.sum(axis=1)
        probs = _prob_above(spec, events, exposure, thresholds, owner[rows])
        planned = np.array([s.n_planned for s in spec.strata])
        final = evaluable >= planned[None, :]
        codes, _ = decide_pfs(rule, probs[..., 0], probs[..., 1], final)
        for j in range(n_strata):
            deciding = owner[rows, j]
            r = rows[deciding]
            code = codes[deciding, j]
            stops = code != CONTINUE
            r_stop = r[stops]
            ending[r_stop, j] = code[stops]
            look_at[r_stop, j] = np.argmax(looks[j][r_stop] == t[r_stop, None], axis=1)
            month_at[r_stop, j] = t[r_stop]
            enrolled_at[r_stop, j] = enrolled[deciding, j][stops]
            stop[r_stop, j] = t[r_stop]
            is_final = final[deciding, j][stops]
            final_prob[r_stop[is_final], j] = probs[deciding, j, 0][stops][is_final]
    return BlockOutcome(ending, look_at, month_at, enrolled_at, final_prob)


def _prob_above(spec: PFSDesignSpec, events: np.ndarray, exposure: np.ndarray, thresholds: tuple[float, float],
                wanted: np.ndarray) -> np.ndarray:
    """(rows, J, 2): P(S_j(L) > benchmark), P(S_j(L) > target) by the model's engine (quadrature: only
    for the ``wanted`` strata, those deciding at this look; NaN for the others)."""
    model = spec.model
    if model.engine == "closed-form":
        return closed_form_prob_above(model.prior, events, exposure, thresholds, spec.landmark_months)
    return hierarchical_prob_above(model.prior, events, exposure, thresholds, spec.landmark_months, wanted)

"""Operating characteristics and calibration of a PFS go / no-go rule, as computations in chunks.

``PFSOCPlan`` and ``PFSCalibrationPlan`` follow the computation protocol of ``service.jobs``
(``prepare``, ``run_chunk``, ``reduce``, as ``designs.oc.computation.OCPlan``, with its chunks: ``designs.oc.simulate.Chunk``,
``plan_chunks``): a chunk is whole RNG blocks of one scenario (``designs.pfsdesign.simulate``), its output the per-trial endings, and the
reduction concatenates them in block order, so any chunking gives the same numbers.

Per scenario and stratum: P(go), P(no-go), P(stop at each look) by what stopped it (futility, early
efficacy, final go, final no-go), the expected number enrolled and the expected duration (months from
the first patient in to the stratum's decision), each with its Monte Carlo standard error
(√(p(1 − p)/N) for probabilities, sd/√N for means).

Calibration runs the trials once per scenario and re-thresholds them: the interim criteria do not
involve ``final_threshold`` and a stratum's data do not depend on the final decisions (the final
analysis ends the stratum's accrual whichever way it goes), so P(go) at threshold c is
P(early go) + P(final analysis and P(S(L) > benchmark) > c) on the same simulated trials (common
random numbers): it falls as c rises, exactly.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from designs.core.caveats import caveat
from designs.core.errors import InvalidInputError
from designs.core.decisions import EARLY_GO, ENDINGS, FINAL_GO, FINAL_NO_GO, FUTILITY
from designs.core.posterior_summary import resolve_seed
from designs.core.provenance import provenance
from designs.oc.simulate import Chunk, plan_chunks
from designs.pfsdesign import logrank
from designs.pfsdesign.laws import SurvivalLaw
from designs.pfsdesign.posterior import peak_bytes as posterior_peak_bytes
from designs.pfsdesign.simulate import RNG_BLOCK_TRIALS, BlockOutcome, simulate_block
from designs.pfsdesign.spec import PFSDesignSpec
from designs.survival.decisions import PFSDecisionRule

DEFAULT_CHUNK_TRIALS = 5_000
"""Trials per chunk: two chunks per scenario of 10,000, run side by side."""
_BLAS_LOCK = threading.Lock()
_BLAS_USERS = [0, None]  # computations inside ``one_blas_thread``, and the limiter to restore at the last exit


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while any PFS design computation of this process runs: the limit is global to
    the process, so it is set by the first to enter and lifted by the last to leave (not by whichever
    leaves first, which would leave it set, or lift it under another)."""
    with _BLAS_LOCK:
        if _BLAS_USERS[0] == 0:
            _BLAS_USERS[1] = threadpool_limits(1, user_api="blas")
        _BLAS_USERS[0] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_USERS[0] -= 1
            if _BLAS_USERS[0] == 0:
                _BLAS_USERS[1].restore_original_limits()
                _BLAS_USERS[1] = None
CALIBRATION_MARGIN_SES = 2.0


def _mc(p: float, n: int) -> float:
    return math.sqrt(max(p * (1.0 - p), 0.0) / n)


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    n = values.size
    mean = math.fsum(values.tolist()) / n
    sd = math.sqrt(math.fsum(((values - mean) ** 2).tolist()) / max(n - 1, 1))
    return mean, sd / math.sqrt(n)


METHOD = (
    "Monte Carlo: {n_trials:,} simulated trials per scenario ({accrual} accrual, event times by inversion of the "
    "scenario's survival law from common random numbers); at each look the {engine} posterior of every stratum "
    "from its events and follow-up then, and the go / no-go rule applied to the strata whose look it is; "
    "standard errors √(p(1 − p)/N) and sd/√N"
)
ENGINE_TEXT = {
    "closed-form": "exact conjugate Gamma (independent-exponential)",
    "quadrature": "hierarchical-exponential quadrature (vectorised over the trials of a block)",
}


@dataclass
class PFSOCPlan:
    """The operating characteristics of a PFS design spec, split into chunks (see the module).

    Pure (``service.jobs.backends.is_pure``): a chunk is whole RNG blocks drawn from (seed, block), so a
    chunk whose worker died may be computed again with the same value."""

    pure = True

    spec: PFSDesignSpec
    seed: int
    chunks: list[Chunk] = field(default_factory=list)
    kind: str = "pfs-operating-characteristics"

    @classmethod
    def build(cls, spec: PFSDesignSpec, chunk_trials: int = DEFAULT_CHUNK_TRIALS) -> PFSOCPlan:
        seed = resolve_seed(spec.seed, dict(spec.request))
        return cls(spec, seed, plan_chunks(len(spec.scenarios), spec.n_trials, chunk_trials))

    @property
    def simulated_trials(self) -> int:
        return self.spec.n_trials * len(self.spec.scenarios)

    @property
    def workers(self) -> int:
        """Chunks run side by side by ``run``: one per core, at most one per chunk."""
        return max(1, min(os.cpu_count() or 1, len(self.chunks)))

    @property
    def peak_bytes(self) -> int:
        """A rough upper bound of the memory ``run`` takes: per worker, the posterior's grid and
        intermediates (``designs.pfsdesign.posterior.peak_bytes``, at most every patient an event) and a
        block's patients (a dozen arrays of trials × patients)."""
        spec = self.spec
        block = 12 * 8 * RNG_BLOCK_TRIALS * sum(s.n_planned for s in spec.strata)
        grid = 0
        if spec.model.engine == "quadrature":
            grid = posterior_peak_bytes(spec.model.prior, [s.n_planned for s in spec.strata])
        return self.workers * (block + grid)

    @property
    def decision_seconds(self) -> float:
        """No tables to build before the chunks (what ``service.budget.design_wants_job`` reads)."""
        return 0.0

    def prepare(self) -> PFSOCPlan:
        return self

    def run_chunk(self, chunk: Chunk) -> BlockOutcome:
        """One chunk, with BLAS on one thread: the matrix products of a block are too small for threads
        to pay (measured 3× slower on 2); cores are used by running chunks side by side."""
        with one_blas_thread():
            return self.simulate_chunk(chunk)

    def simulate_chunk(self, chunk: Chunk) -> BlockOutcome:
        scenario = self.spec.scenarios[chunk.scenario]
        n_blocks = -(-chunk.n_trials // RNG_BLOCK_TRIALS)
        parts = []
        for b in range(n_blocks):
            size = min(RNG_BLOCK_TRIALS, chunk.n_trials - b * RNG_BLOCK_TRIALS)
            parts.append(simulate_block(self.spec, scenario, self.seed, chunk.first_block + b, size, self.rule))
        return BlockOutcome.concatenate(parts)

    @property
    def rule(self) -> PFSDecisionRule:
        """The rule simulated (calibration: its interim criteria; the final threshold is re-applied)."""
        return self.spec.decision

    def outcomes(self, pairs: Iterable[tuple[Chunk, BlockOutcome]]) -> list[BlockOutcome]:
        """Each scenario's trials, in block order whatever the order the chunks came back in."""
        by_scenario: dict[int, list[tuple[int, BlockOutcome]]] = {}
        for chunk, outcome in pairs:
            by_scenario.setdefault(chunk.scenario, []).append((chunk.first_block, outcome))
        return [BlockOutcome.concatenate([o for _, o in sorted(by_scenario[s], key=lambda p: p[0])])
                for s in range(len(self.spec.scenarios))]

    def reduce(self, pairs: Iterable[tuple[Chunk, BlockOutcome]]) -> dict[str, Any]:
        spec = self.spec
        rows = [scenario_summary(spec, s, outcome) for s, outcome in zip(spec.scenarios, self.outcomes(pairs), strict=True)]
        return {
            "method": "simulation",
            "n_trials": spec.n_trials,
            "seed": self.seed,
            "accrual": spec.accrual,
            "landmark_months": spec.landmark_months,
            "strata": [s.as_dict() for s in spec.strata],
            "model": spec.model.to_dict(),
            "decision": spec.decision.as_dict(),
            "scenarios": rows,
            "comparator": (compared := comparator(spec, self.seed)),
            "settings": self.settings(),
            "warnings": silent_looks(spec, rows) + impractical(compared),
            "provenance": self.provenance(),
        }

    def settings(self) -> dict[str, Any]:
        """Every rule and model setting simulated, defaults filled in (echoed as ``settings``, one shape for the
        operating characteristics and the calibration): rates, landmark, strata with their looks and accrual,
        the model (kind, prior as applied, engine), the decision thresholds, n_trials, the seed used."""
        spec = self.spec
        return {
            "benchmark_landmark_pfs": spec.benchmark_landmark_pfs,
            "target_landmark_pfs": spec.target_landmark_pfs,
            "landmark_months": spec.landmark_months,
            "strata": [s.as_dict() for s in spec.strata],
            "accrual": spec.accrual,
            "max_follow_up_months": spec.max_follow_up_months,
            "model": spec.model.to_dict(),
            "engine": spec.model.engine,
            "decision": spec.decision.as_dict(),
            "method": "simulation",
            "n_trials": spec.n_trials,
            "seed": self.seed,
            "comparator": None if spec.comparator is None else dict(spec.comparator),
        }

    def provenance(self) -> dict[str, Any]:
        spec = self.spec
        text = METHOD.format(n_trials=spec.n_trials, accrual=spec.accrual, engine=ENGINE_TEXT[spec.model.engine])
        return provenance(dict(spec.request), model=spec.model.to_dict(), engine=spec.model.engine, seed=self.seed, method=text)


def run(plan: Any, progress: Callable[[float], None] | None = None, workers: int | None = None) -> dict[str, Any]:
    """Every chunk in this process, on ``workers`` threads (default: one per core; numpy releases the
    GIL in the products), BLAS on one thread meanwhile; then the reduction (``service.jobs`` runs
    chunks in a pool or on Dask). The numbers do not depend on ``workers``."""
    plan.prepare()
    workers = workers or plan.workers
    done = []
    with one_blas_thread(), ThreadPoolExecutor(workers) as pool:
        for i, (chunk, outcome) in enumerate(zip(plan.chunks, pool.map(plan.simulate_chunk, plan.chunks)), start=1):
            done.append((chunk, outcome))
            if progress is not None:
                progress(i / len(plan.chunks))
    return plan.reduce(done)


def scenario_summary(spec: PFSDesignSpec, scenario, outcome: BlockOutcome) -> dict[str, Any]:
    """One scenario's per-stratum operating characteristics with their Monte Carlo SEs."""
    n = outcome.ending.shape[0]
    strata = []
    for j, stratum in enumerate(spec.strata):
        ending, look = outcome.ending[:, j], outcome.look[:, j]
        went = (ending == EARLY_GO) | (ending == FINAL_GO)
        p_go = float(went.mean())
        looks = []
        for k in range(stratum.n_looks):
            here = look == k
            counts = {name: float(((ending == code) & here).mean()) for name, code in
                      zip(ENDINGS, (FUTILITY, EARLY_GO, FINAL_GO, FINAL_NO_GO))}
            p_stop = float(here.mean())
            final = k == stratum.n_looks - 1
            looks.append({
                "look": k + 1,
                "final": final,
                "planned": _planned_look(stratum, k),
                "prob_stop": p_stop,
                "prob_futility": counts["futility"],
                "prob_early_go": counts["early_go"],
                "prob_final_go": counts["final_go"],
                "prob_final_no_go": counts["final_no_go"],
                "monte_carlo_se": {"prob_stop": _mc(p_stop, n)} | {f"prob_{name}": _mc(p, n) for name, p in counts.items()},
            })
        enrolled, enrolled_se = _mean_se(outcome.enrolled[:, j].astype(float))
        months, months_se = _mean_se(outcome.month[:, j])
        strata.append({
            "name": stratum.name,
            "prob_go": p_go,
            "prob_no_go": 1.0 - p_go,
            "looks": looks,
            "expected_enrolled": enrolled,
            "expected_duration_months": months,
            "monte_carlo_se": {"prob_go": _mc(p_go, n), "prob_no_go": _mc(p_go, n), "expected_enrolled": enrolled_se,
                               "expected_duration_months": months_se},
        })
    trial_months, trial_se = _mean_se(np.nanmax(outcome.month, axis=1))
    any_go = float(((outcome.ending == EARLY_GO) | (outcome.ending == FINAL_GO)).any(axis=1).mean())
    return {
        "name": scenario.name,
        "laws": {name: law.to_dict(spec.landmark_months) for name, law in scenario.laws.items()},
        "strata": strata,
        "prob_any_go": any_go,
        "expected_trial_duration_months": trial_months,
        "monte_carlo_se": {"prob_any_go": _mc(any_go, n), "expected_trial_duration_months": trial_se},
    }


def _planned_look(stratum, k: int) -> dict[str, Any]:
    if k == stratum.n_looks - 1:
        return {"when": f"all {stratum.n_planned} patients evaluable at the landmark"}
    if stratum.looks_by == "calendar":
        return {"when": f"month {stratum.looks[k]:g} (if before the final analysis)", "month": stratum.looks[k]}
    return {"when": f"{int(stratum.looks[k])} patients evaluable at the landmark", "patients": int(stratum.looks[k])}


IMPRACTICAL_ACCRUAL_MONTHS = 60.0
"""A comparator needing longer than five years of accrual at the stratum's rate is flagged."""


def silent_looks(spec: PFSDesignSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``look-never-stops`` caveat per interim look at which no simulated trial of any scenario stopped."""
    out = []
    for j, stratum in enumerate(spec.strata):
        for k in range(stratum.n_looks - 1):
            if all(row["strata"][j]["looks"][k]["prob_stop"] == 0.0 for row in rows):
                when = _planned_look(stratum, k)["when"]
                out.append(caveat("look-never-stops", f"'{stratum.name}': no simulated trial stopped at interim look "
                                  f"{k + 1}, {when}, in any scenario: it may come after the final analysis, or its "
                                  "futility and efficacy criteria never fire there", stratum.name))
    return out


def impractical(compared: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A ``comparator-impractical`` caveat per stratum whose log-rank sample size needs years of accrual."""
    out = []
    for row in (compared or {}).get("strata", []):
        size = row.get("sample_size")
        if size and size["accrual_months"] > IMPRACTICAL_ACCRUAL_MONTHS:
            out.append(caveat("comparator-impractical", f"'{row['name']}': the one-sample log-rank test needs n = "
                              f"{size['n']}, {size['accrual_months'] / 12:.1f} years of accrual at "
                              f"{size['accrual_per_month']:g} a month", row["name"]))
    return out


def comparator(spec: PFSDesignSpec, seed: int) -> dict[str, Any] | None:
    """The one-sample log-rank comparator (``designs.pfsdesign.logrank``), when the request asks for it:
    per stratum the test's sample size at the stratum's accrual (benchmark against the target, both
    exponential at their landmark rates) and its simulated power in each scenario at n_planned.

    The log-rank test follows every patient at least ``follow_up_months`` after the last one enters: the
    design's ``max_follow_up_months``, else the landmark (when the rule's final analysis comes).
    """
    if spec.comparator is None:
        return None
    L = spec.landmark_months
    benchmark = SurvivalLaw.from_landmark(spec.benchmark_landmark_pfs, L)
    target = SurvivalLaw.from_landmark(spec.target_landmark_pfs, L)
    follow_up = spec.max_follow_up_months or L
    alpha, power = spec.comparator["alpha"], spec.comparator["power"]
    strata = []
    for stratum in spec.strata:
        row: dict[str, Any] = {"name": stratum.name}
        laws = {s.name: s.laws[stratum.name] for s in spec.scenarios}
        calls = {
            "sample_size": lambda: logrank.logrank_sample_size(
                benchmark, target, alpha=alpha, power=power, accrual_per_month=stratum.accrual_per_month,
                follow_up_months=follow_up),
            "operating_characteristics": lambda: logrank.logrank_operating_characteristics(
                benchmark, laws, n=stratum.n_planned, accrual_per_month=stratum.accrual_per_month,
                follow_up_months=follow_up, alpha=alpha, n_trials=spec.n_trials, seed=seed, accrual=spec.accrual),
        }
        for key, call in calls.items():
            try:
                row[key] = call()
            except InvalidInputError as error:  # e.g. more patients than the test allows: said, not raised
                row[key] = None
                row[f"{key}_problems"] = [{"field": p.field, "reason": p.reason} for p in error.problems]
        strata.append(row)
    return {"available": True, "alpha": alpha, "power": power, "follow_up_months": follow_up, "strata": strata}


# --------------------------------------------------------------------------------------------------
# Calibration of the final threshold


@dataclass
class PFSCalibrationPlan(PFSOCPlan):
    """The final threshold over the spec's candidates (see the module): one simulation per scenario."""

    kind: str = "pfs-calibration"

    @classmethod
    def build(cls, spec: PFSDesignSpec, chunk_trials: int = DEFAULT_CHUNK_TRIALS) -> PFSCalibrationPlan:
        """Only the 'benchmark' and 'target' scenarios are simulated."""
        seed = resolve_seed(spec.seed, dict(spec.request))
        spec = replace(spec, scenarios=tuple(s for s in spec.scenarios if s.name in ("benchmark", "target")))
        return cls(spec, seed, plan_chunks(len(spec.scenarios), spec.n_trials, chunk_trials))

    def reduce(self, pairs: Iterable[tuple[Chunk, BlockOutcome]]) -> dict[str, Any]:
        spec = self.spec
        outcomes = dict(zip((s.name for s in spec.scenarios), self.outcomes(pairs), strict=True))
        null, alternative = outcomes["benchmark"], outcomes["target"]
        n = spec.n_trials
        alpha = spec.target_type_i_error
        curve = []
        for c in spec.thresholds:
            t1, power = _go_rates(null, c), _go_rates(alternative, c)
            curve.append({
                "final_threshold": c,
                "strata": [{"name": s.name, "type_i_error": float(t1[j]), "power": float(power[j]),
                            "monte_carlo_se": {"type_i_error": _mc(float(t1[j]), n), "power": _mc(float(power[j]), n)}}
                           for j, s in enumerate(spec.strata)],
                "meets_target": bool((t1 <= alpha).all()),
            })
        chosen = next((i for i, row in enumerate(curve) if row["meets_target"]), None)
        warnings = []
        if chosen is not None:
            row = curve[chosen]
            for s in row["strata"]:
                if alpha - s["type_i_error"] < CALIBRATION_MARGIN_SES * s["monte_carlo_se"]["type_i_error"]:
                    warnings.append(caveat("calibration-margin", (
                        f"{s['name']}: type I error {s['type_i_error']:.4f} at threshold {row['final_threshold']:g} is within "
                        f"{CALIBRATION_MARGIN_SES:g} Monte Carlo SEs ({s['monte_carlo_se']['type_i_error']:.4f}) of the target "
                        f"{alpha:g}: simulate more trials to be sure"), s["name"]))
            if chosen == 0:
                warnings.append(caveat("calibration-edge", f"the lowest candidate ({row['final_threshold']:g}) meets the "
                                       "target: a lower threshold might too, with more power"))
        decision = spec.decision.as_dict()
        if chosen is not None:
            decision["final_threshold"] = curve[chosen]["final_threshold"]
        return {
            "method": "simulation",
            "n_trials": n,
            "seed": self.seed,
            "target_type_i_error": alpha,
            "final_threshold": None if chosen is None else curve[chosen]["final_threshold"],
            "met": chosen is not None,
            "decision": decision,
            "curve": curve,
            "landmark_months": spec.landmark_months,
            "model": spec.model.to_dict(),
            "scenarios": [{"name": s.name, "laws": {k: law.to_dict(spec.landmark_months) for k, law in s.laws.items()}}
                          for s in spec.scenarios if s.name in ("benchmark", "target")],
            "comparator": comparator(spec, self.seed),
            "settings": {**self.settings(), "target_type_i_error": alpha, "thresholds": list(spec.thresholds)},
            "warnings": warnings,
            "provenance": self.provenance(),
        }

    def provenance(self) -> dict[str, Any]:
        block = super().provenance()
        block["method"] += (
            "; calibration: the same simulated trials re-thresholded at each candidate final threshold (common "
            "random numbers), the lowest candidate whose type I error (benchmark scenario) is at most the target in "
            "every stratum chosen (the most power)"
        )
        return block


def _go_rates(outcome: BlockOutcome, threshold: float) -> np.ndarray:
    """Per stratum P(go) were the final threshold ``threshold``: early go, or the final P_B above it."""
    with np.errstate(invalid="ignore"):
        final_go = outcome.final_prob > threshold
    return ((outcome.ending == EARLY_GO) | final_go).mean(axis=0)

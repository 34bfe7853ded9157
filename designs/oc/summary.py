"""Summaries of tallies: the rows of the canonical result, the borrowing report and the Simon column."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from designs.core.caveats import caveat
from designs.oc.design import OCDesign, Scenario, StratumPlan
from designs.oc.tally import Tally
from designs.simon import evaluate_design

# A null stratum's go probability beside active strata is reported as inflated when it exceeds its
# global-null value by more than this many Monte Carlo standard errors of the difference ...
INFLATION_MCSE_MULTIPLE = 3
# ... and by more than this much at least (exact results have no Monte Carlo error).
INFLATION_FLOOR = 0.005


def summarise_stratum(stratum: StratumPlan, ends: np.ndarray, trials: float, simulated: bool) -> dict[str, Any]:
    """One stratum's row: P(go), P(enrolment ends at each look), E[N], the N distribution, MCSEs."""
    k = len(stratum.looks)
    weights = ends[:k].astype(float) / trials
    prob_end = weights.sum(axis=1)
    prob_go = float(weights[:, 1].sum() + weights[:, 2].sum())
    looks = np.asarray(stratum.looks, dtype=float)
    expected_n = float((prob_end * looks).sum())
    row: dict[str, Any] = {
        "name": stratum.name,
        "prob_go": prob_go,
        "prob_early_go": float(weights[:, 1].sum()),
        "prob_stop_at_look": [float(p) for p in prob_end],
        "prob_futility_at_look": [float(p) for p in weights[:, 0]],
        "prob_early_go_at_look": [float(p) for p in weights[:, 1]],
        "prob_early_stop": float(prob_end[:-1].sum()),
        "expected_n": expected_n,
        "n_distribution": [{"n": int(n), "prob": float(p)} for n, p in zip(stratum.looks, prob_end, strict=True)],
    }
    if simulated:
        def se(p: float | np.ndarray) -> Any:
            return np.sqrt(np.clip(p * (1 - p), 0, None) / trials)

        var_n = max(float((prob_end * looks**2).sum()) - expected_n**2, 0.0)
        row["mcse"] = {
            "prob_go": float(se(prob_go)),
            "prob_early_go": float(se(row["prob_early_go"])),
            "prob_stop_at_look": [float(v) for v in se(prob_end)],
            "expected_n": math.sqrt(var_n / trials),
        }
    else:
        row["mcse"] = {"prob_go": 0.0, "prob_early_go": 0.0, "prob_stop_at_look": [0.0] * k, "expected_n": 0.0}
    return row


def summarise_scenario(design: OCDesign, scenario: Scenario, tally: Tally, simulated: bool) -> dict[str, Any]:
    """One scenario's row: family-wise P(any go), E[total N] and each stratum's row."""
    prob_any_go = float(tally.any_go) / float(tally.trials)
    strata = [
        summarise_stratum(stratum, tally.ends[j], float(tally.trials), simulated) for j, stratum in enumerate(design.strata)
    ]
    return {
        "name": scenario.name,
        "rates": {name: float(scenario.rates[name]) for name in design.names},
        "prob_any_go": prob_any_go,
        "mcse": {"prob_any_go": math.sqrt(prob_any_go * (1 - prob_any_go) / tally.trials) if simulated else 0.0},
        "expected_total_n": float(sum(s["expected_n"] for s in strata)),
        "strata": strata,
    }


def borrowing_report(design: OCDesign, rows: list[dict[str, Any]], null_row: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """Go probability of each null stratum (true rate ≤ p0) against its value under the global null.

    Under a model that borrows, a null stratum beside an active one says "go" more often than under
    the global null: its per-stratum type I error is inflated. Users must see this: a
    ``borrowing-inflation`` caveat names the stratum when the inflation exceeds
    max(3 · hypot(MCSE, MCSE under the global null), 0.005).
    """
    reference = {s["name"]: s["prob_go"] for s in null_row["strata"]}
    report, warnings = [], []
    for row in rows:
        for stratum in row["strata"]:
            rate = row["rates"][stratum["name"]]
            if rate > design.p0 + 1e-12 or all(r <= design.p0 + 1e-12 for r in row["rates"].values()):
                continue
            inflation = stratum["prob_go"] - reference[stratum["name"]]
            stratum["prob_go_global_null"] = reference[stratum["name"]]
            stratum["type_i_inflation"] = inflation
            entry = {
                "scenario": row["name"],
                "stratum": stratum["name"],
                "prob_go": stratum["prob_go"],
                "prob_go_global_null": reference[stratum["name"]],
                "inflation": inflation,
            }
            report.append(entry)
            threshold = INFLATION_MCSE_MULTIPLE * math.hypot(stratum["mcse"]["prob_go"], _mcse_of(null_row, stratum["name"]))
            if inflation > max(threshold, INFLATION_FLOOR):
                warnings.append(caveat(
                    "borrowing-inflation",
                    f"scenario {row['name']!r}: stratum {stratum['name']!r} is inactive (rate {rate:g} ≤ p0) but says go "
                    f"with probability {stratum['prob_go']:.3f} against {reference[stratum['name']]:.3f} under the global "
                    f"null: borrowing from active strata inflates its type I error by {inflation:.3f}",
                    stratum=stratum["name"],
                ))
    return report, warnings


def _mcse_of(row: dict[str, Any], name: str) -> float:
    return next(s["mcse"]["prob_go"] for s in row["strata"] if s["name"] == name)


def simon_column(simon: Mapping[str, int] | None, rate: float) -> dict[str, float] | None:
    """Exact OC of a Simon design at ``rate`` (from ``designs.simon.evaluate_design``)."""
    if simon is None:
        return None
    (row,) = evaluate_design(simon["r1"], simon["n1"], simon["r"], simon["n"], [float(rate)])
    return {"prob_reject_null": float(row["prob_reject_null"]), "pet": float(row["pet"]), "expected_n": float(row["expected_n"])}


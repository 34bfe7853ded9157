"""An interim response analysis end to end: core objects in, the canonical result dict out.

    validate → model spec as applied (``designs.response.spec``) → posterior per stratum
      (closed form | quadrature | PyMC draws) → predictive probability of success
      (``designs.response.predictive``) → decision (``designs.response.decisions``) → Simon status → warnings,
      diagnostics, provenance.

Engines: ``independent`` and ``pooled`` are closed form (any requested engine is ignored, with a
warning). ``hierarchical`` and ``exnex`` use ``engine="quadrature"`` (deterministic, ~1e-6 accurate)
or ``"mcmc"`` (the default, as in the service's schema), which calls the PyMC engine through one
seam, ``designs.engines.pymc.sample_response(spec, responders, n, settings, seed) -> draws`` with
draws.p (S, J), draws.tau (S,), draws.prob_exchangeable (S, J) or None, draws.diagnostics and
draws.chains (draws stacked chain after chain). When that engine cannot be imported the quadrature
is used and a warning says so.

Summaries of draws: mean, median, the 95% equal-tailed interval (quantiles 0.025 and 0.975, stated
explicitly), probabilities as indicator means with their Monte Carlo standard errors
(√(p̂(1 − p̂)/ESS) from ``designs.engines.diagnostics``); these, the default seed and the diagnostics block
are ``designs.core.posterior_summary``'s, shared with the PFS analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from designs.engines import closed_form as beta_binomial
from designs.response import decisions
from designs.response import predictive
from designs.response import spec as priors
from designs.core import posterior_summary as summary
from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.posterior_summary import CI_PROB
from designs.core.provenance import provenance
from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy

MAX_STRATA = 12
ENGINES = ("mcmc", "quadrature")
SMALL_STRATUM = 3
"""Below this many evaluable patients a stratum's posterior is mostly prior (and borrowing)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _validate(p0: Any, p1: Any, strata: Sequence[Any]) -> list[dict[str, Any]]:
    problems: list[FieldProblem] = []
    for name, value in (("p0", p0), ("p1", p1)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
            problems.append(FieldProblem(name, "must lie in (0, 1)"))
    if not problems and not p0 < p1:
        problems.append(FieldProblem("p1", f"must be greater than p0 (p0 = {p0}, p1 = {p1})"))
    if not isinstance(strata, Sequence) or not 1 <= len(strata) <= MAX_STRATA:
        problems.append(FieldProblem("strata", f"need between 1 and {MAX_STRATA} strata"))
        raise InvalidInputError(problems)
    clean: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(strata):
        name, n, y, planned = (_field(item, k) for k in ("name", "n", "responders", "n_planned"))
        where = f"strata/{i}"
        if not isinstance(name, str) or not name:
            problems.append(FieldProblem(f"{where}/name", "must be a non-empty string"))
        elif name in seen:
            problems.append(FieldProblem(f"{where}/name", f"repeats strata/{seen[name]}/name '{name}'"))
        else:
            seen[name] = i
        if not _is_int(n) or n < 0:
            problems.append(FieldProblem(f"{where}/n", "must be an integer ≥ 0"))
        elif not _is_int(y) or not 0 <= y <= n:
            problems.append(FieldProblem(f"{where}/responders", f"must be an integer in [0, n = {n}]"))
        if not _is_int(planned) or planned < 1:
            problems.append(FieldProblem(f"{where}/n_planned", "must be an integer ≥ 1"))
        elif _is_int(n) and n > planned:
            problems.append(FieldProblem(f"{where}/n_planned", f"must be at least n (n = {n})"))
        clean.append({"name": name, "n": n, "responders": y, "n_planned": planned})
    if problems:
        raise InvalidInputError(problems)
    return [{k: (int(v) if k != "name" else v) for k, v in s.items()} for s in clean]


def _check_simon(simon: Mapping[str, Any]) -> tuple[int, int, int, int]:
    problems: list[FieldProblem] = []
    values = {}
    for key in ("r1", "n1", "r", "n"):
        value = _field(simon, key)
        if not _is_int(value) or value < 0:
            problems.append(FieldProblem(f"simon/{key}", "must be an integer ≥ 0"))
        values[key] = value
    if not problems:
        r1, n1, r, n = (int(values[k]) for k in ("r1", "n1", "r", "n"))
        if not (0 <= r1 < n1 < n and r1 <= r < n):
            problems.append(FieldProblem("simon", "need 0 ≤ r1 < n1 < n and r1 ≤ r < n"))
    if problems:
        raise InvalidInputError(problems)
    return r1, n1, r, n


def simon_status(simon: Mapping[str, Any], n: int, responders: int) -> dict[str, Any]:
    """Where a stratum with ``responders`` of ``n`` stands under Simon's rule {r1, n1, r, n}:
    stop after n1 when ≤ r1 responded; declare promising when > r of n responded."""
    r1, n1, r, n_total = _check_simon(simon)
    y = responders
    if n > n_total:
        status, needed, remaining = "beyond_design", None, 0
        verdict = "would have been declared promising" if y > r else "would not have been declared promising"
        text = (
            f"n = {n} exceeds the design's n = {n_total}: Simon's rule is defined at n = {n_total}; "
            f"with {y} responders among {n} patients the stratum {verdict} if the excess patients changed nothing."
        )
    elif n < n1:
        remaining = n1 - n
        if y > r1:
            status, needed = "stage1_passed", max(0, r + 1 - y)
            text = (
                f"Stage 1 ongoing ({n} of {n1}): {y} > r1 = {r1} responders already, so the stratum continues to "
                f"stage 2; {needed} more responders are needed among the remaining {n_total - n} to declare it promising."
            )
        elif y + remaining <= r1:
            status, needed = "stage1_futile", None
            text = (
                f"Stage 1 ongoing ({n} of {n1}): even if all {remaining} remaining stage-1 patients respond, "
                f"responders cannot exceed r1 = {r1}: the stratum will stop after stage 1."
            )
        else:
            status, needed = "stage1_ongoing", r1 + 1 - y
            text = (
                f"Stage 1 ongoing ({n} of {n1}): {needed} more responders among the next {remaining} are needed "
                f"to exceed r1 = {r1} and continue to stage 2."
            )
    elif n == n1:
        remaining = n_total - n1
        if y <= r1:
            status, needed = "stopped_stage1", None
            text = f"Stopped after stage 1: {y} ≤ r1 = {r1} responders among n1 = {n1}; not promising."
        else:
            status, needed = "continue_stage2", max(0, r + 1 - y)
            tail = (
                "it already exceeds r and will be declared promising."
                if needed == 0
                else f"{needed} more responders among the {remaining} stage-2 patients are needed to exceed r = {r}."
            )
            if needed > remaining:
                tail = f"{needed} more responders would be needed but only {remaining} patients remain: it cannot be declared promising."
            text = f"Continue to stage 2 ({y} > r1 = {r1} of n1 = {n1}); {tail}"
    elif n < n_total:
        remaining = n_total - n
        if y <= r1:
            status, needed = "stopped_stage1", None
            text = (
                f"{y} ≤ r1 = {r1} responders in total, so at most r1 among the first n1 = {n1}: "
                "Simon's rule stops after stage 1 (not promising)."
            )
        else:
            needed = max(0, r + 1 - y)
            if needed > remaining:
                status = "stage2_futile"
                text = (
                    f"Stage 2 ongoing ({n} of {n_total}): {needed} more responders would be needed to exceed "
                    f"r = {r} but only {remaining} patients remain: it cannot be declared promising."
                )
            else:
                status = "stage2_ongoing"
                text = (
                    f"Stage 2 ongoing ({n} of {n_total}): "
                    + (
                        f"{y} > r = {r} responders already: it will be declared promising."
                        if needed == 0
                        else f"{needed} more responders among the remaining {remaining} are needed to exceed r = {r}."
                    )
                )
            text += " (Cumulative counts cannot show stage 1's own count; it is assumed to have exceeded r1.)"
    else:
        remaining = 0
        needed = None
        status = "promising" if y > r else "not_promising"
        text = f"Final ({n} of {n_total}): {y} {'>' if y > r else '≤'} r = {r} responders: {'promising' if y > r else 'not promising'}."
    return {"status": status, "responders_needed": needed, "patients_remaining": remaining, "text": text}


def _plain(value: Any) -> dict[str, Any]:
    """A mapping or a plain object (e.g. a request model) as a dict without None values."""
    if value is None:
        return {}
    items = value.items() if isinstance(value, Mapping) else vars(value).items()
    return {k: v for k, v in items if v is not None}


def _spec(model: Any, p0: float) -> priors.ResponseModelSpec:
    """The model spec as applied: a ResponseModelSpec, or {kind, prior} (mapping or object)."""
    if model is None:
        return priors.resolve("hierarchical", None, p0)
    if isinstance(model, priors.ResponseModelSpec):
        return model
    kind = model.get("kind", "hierarchical") if isinstance(model, Mapping) else getattr(model, "kind", "hierarchical")
    prior = model.get("prior") if isinstance(model, Mapping) else getattr(model, "prior", None)
    return priors.resolve(kind, _plain(prior), p0)


def _rule(rule: Any) -> decisions.DecisionRule:
    """A DecisionRule, or its fields as a mapping or object; None values mean "disabled" (efficacy_ppos ...)."""
    if isinstance(rule, decisions.DecisionRule):
        return rule
    if rule is None:
        return decisions.DecisionRule()
    return decisions.DecisionRule.from_mapping(dict(rule) if isinstance(rule, Mapping) else dict(vars(rule)))


def _sampler_settings(mcmc: Any):
    from designs.engines.pymc import SamplerSettings

    if mcmc is None:
        return SamplerSettings()
    if isinstance(mcmc, SamplerSettings):
        return mcmc
    return SamplerSettings(**_plain(mcmc))


def _load_sampler():
    """The PyMC engine's seam, or None when it cannot be imported."""
    try:
        from designs.engines import pymc as sampling
    except ImportError:
        return None
    return getattr(sampling, "sample_response", None)


def analyse_response(
    p0: float,
    p1: float,
    strata: Sequence[Mapping[str, Any]],
    model: priors.ResponseModelSpec | Mapping[str, Any] | None = None,
    decision_rule: decisions.DecisionRule | Mapping[str, Any] | None = None,
    simon: Mapping[str, int] | None = None,
    engine: str | None = None,
    mcmc: Any = None,
    seed: int | None = None,
    request_payload_for_hash: Any = None,
) -> dict[str, Any]:
    """The canonical result of an interim response analysis (see the module docstring).

    ``strata``: [{name, n, responders, n_planned}] in report order. ``seed`` None: derived from the
    SHA-256 of the request payload (``request_payload_for_hash``, else the arguments). Same inputs
    and seed give identical numbers.
    """
    clean = _validate(p0, p1, strata)
    spec = _spec(model, p0)
    rule = _rule(decision_rule)
    if simon is not None:
        _check_simon(simon)
    if engine is not None and engine not in ENGINES:
        raise InvalidInputError("engine", f"must be one of {', '.join(ENGINES)} or null")
    payload = request_payload_for_hash
    if payload is None:
        payload = {
            "p0": p0,
            "p1": p1,
            "strata": clean,
            "model": spec.as_dict(),
            "decision": rule.as_dict(),
            "simon": None if simon is None else {k: int(_field(simon, k)) for k in ("r1", "n1", "r", "n")},
            "engine": engine,
            "mcmc": None if mcmc is None else _plain(mcmc),
        }
    seed = summary.resolve_seed(seed, payload)

    y = np.array([s["responders"] for s in clean])
    n = np.array([s["n"] for s in clean])
    n_planned = np.array([s["n_planned"] for s in clean])
    warnings: list[str] = []
    sampler_settings = None

    if spec.closed_form:
        used = "closed-form"
        if engine is not None:
            warnings.append(f"engine '{engine}' ignored: the {spec.kind} model has a closed-form (Beta–binomial) posterior.")
        fit = _closed_form(spec, y, n, n_planned, p0, p1, rule)
    else:
        used = "mcmc" if engine in (None, "mcmc") else "quadrature"
        sampler = _load_sampler() if used == "mcmc" else None
        w = getattr(spec.prior, "weight_exchangeable", None)
        if used == "mcmc" and sampler is None:
            used = "quadrature"
            warnings.append("The MCMC engine is not available in this installation: the deterministic quadrature engine was used.")
        elif used == "mcmc" and w is not None and w in (0.0, 1.0):
            used = "quadrature"
            warnings.append(f"weight_exchangeable = {w:g} is a boundary case the MCMC engine does not sample: quadrature was used.")
        if used == "mcmc":
            sampler_settings = _sampler_settings(mcmc)
            fit = _mcmc(sampler, spec, y, n, n_planned, p0, p1, rule, sampler_settings, seed)
        else:
            if engine is None and mcmc is not None:
                warnings.append("mcmc settings ignored: the quadrature engine was used.")
            fit = _quadrature(spec, y, n, n_planned, p0, p1, rule, seed)
    warnings.extend(fit.pop("warnings"))
    warnings.extend(summary.diagnostics_warnings(fit["diagnostics"]))

    out_strata = []
    for j, s in enumerate(clean):
        row = fit["strata"][j]
        decision = decisions.explain(rule, s["n"], s["n_planned"], row["prob_above_p0"], row["predictive_probability_of_success"], p0)
        entry = {
            "name": s["name"],
            "n": s["n"],
            "responders": s["responders"],
            "n_planned": s["n_planned"],
            "posterior_mean": row["posterior_mean"],
            "posterior_median": row["posterior_median"],
            "ci95": row["ci95"],
            "prob_above_p0": row["prob_above_p0"],
            "prob_above_p1": row["prob_above_p1"],
            "predictive_probability_of_success": row["predictive_probability_of_success"],
            "decision": decision.decision,
            "decision_criterion": decision.criterion_dict(),
        }
        if "monte_carlo_se" in row:
            entry["monte_carlo_se"] = row["monte_carlo_se"]
        if fit.get("prob_exchangeable") is not None:
            entry["prob_exchangeable"] = fit["prob_exchangeable"][j]
        if simon is not None:
            entry["simon"] = simon_status(simon, s["n"], s["responders"])
        out_strata.append(entry)
        if s["n"] == 0:
            warnings.append(f"Stratum '{s['name']}' has no evaluable patients yet: its posterior is the prior" + (
                " informed by the other strata." if not spec.closed_form and len(clean) > 1 and spec.kind != "independent" else "."))
        elif s["n"] < SMALL_STRATUM:
            warnings.append(
                f"Stratum '{s['name']}' has only n = {s['n']} evaluable patients: its posterior is dominated by the prior"
                + (" and by borrowing from the other strata." if spec.kind in priors.HIERARCHICAL_KINDS + ("pooled",) and len(clean) > 1 else ".")
            )
    if spec.kind == "pooled" and len(clean) > 1:
        warnings.append("The pooled model gives every stratum the same posterior (one shared response rate).")

    result: dict[str, Any] = {
        "p0": float(p0),
        "p1": float(p1),
        "model": spec.as_dict(),
        "engine": used,
        "decision_rule": rule.as_dict(),
        "strata": out_strata,
        "tau": fit.get("tau"),
        "prob_exchangeable": None
        if fit.get("prob_exchangeable") is None
        else {s["name"]: fit["prob_exchangeable"][j] for j, s in enumerate(clean)},
        "predictive": fit["predictive"],
        "diagnostics": fit["diagnostics"],
        "provenance": provenance(
            payload,
            model=spec.as_dict(),
            engine=used,
            sampler=None if sampler_settings is None else _settings_dict(sampler_settings),
            seed=seed,
            method=fit["diagnostics"].get("method"),
        ),
        "warnings": warnings,
    }
    return result


def _settings_dict(settings: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(settings).items()}


# --------------------------------------------------------------------------------------------------
# Engines


def _closed_form(spec, y, n, n_planned, p0, p1, rule) -> dict[str, Any]:
    a, b = spec.prior.a, spec.prior.b
    rows = []
    if spec.kind == "independent":
        pp = predictive.predictive_probability_beta(a, b, y, n, n_planned, p0, rule.final_threshold)
        posts = [beta_binomial.summarise(a + yj, b + nj - yj, (p0, p1), CI_PROB) for yj, nj in zip(y, n, strict=True)]
        method = "exact Beta–binomial sums per stratum"
    else:
        pooled = beta_binomial.summarise(a + y.sum(), b + (n - y).sum(), (p0, p1), CI_PROB)
        posts = [pooled] * len(y)
        pp = np.full(len(y), predictive.predictive_probability_pooled(a, b, y, n, n_planned, p0, rule.final_threshold))
        method = "exact Beta–binomial sums over the pooled totals"
    for post, pp_j in zip(posts, pp, strict=True):
        rows.append(
            {
                "posterior_mean": post.mean,
                "posterior_median": post.median,
                "ci95": [post.ci95[0], post.ci95[1]],
                "prob_above_p0": post.prob_above[float(p0)],
                "prob_above_p1": post.prob_above[float(p1)],
                "predictive_probability_of_success": float(pp_j),
            }
        )
    return {
        "strata": rows,
        "tau": None,
        "prob_exchangeable": None,
        "predictive": {"method": method},
        "diagnostics": summary.closed_form_diagnostics(
            "exact: conjugate Beta posterior; quantiles and tail probabilities from scipy.stats.beta"
        ),
        "warnings": [],
    }


def _quadrature(spec, y, n, n_planned, p0, p1, rule, seed) -> dict[str, Any]:
    hierarchy = NormalHierarchy.from_prior(spec.prior)
    engine = predictive.engine_for(hierarchy, n_planned)
    likelihoods = [BinomialLikelihood(int(a), int(b)) for a, b in zip(y, n, strict=True)]
    post = engine.analyse(likelihoods, thresholds=(p0, p1))
    pp = predictive.predictive_probability_hierarchical(
        hierarchy, y, n, n_planned, p0, rule.final_threshold, engine=engine, seed=seed
    )
    warnings = []
    rows = []
    for j, s in enumerate(post.strata):
        row = {
            "posterior_mean": s.mean,
            "posterior_median": s.median,
            "ci95": [s.ci95[0], s.ci95[1]],
            "prob_above_p0": s.prob_above[float(p0)],
            "prob_above_p1": s.prob_above[float(p1)],
            "predictive_probability_of_success": float(pp.probability[j]),
        }
        if pp.monte_carlo_se is not None:
            row["monte_carlo_se"] = {"predictive_probability_of_success": float(pp.monte_carlo_se[j])}
        rows.append(row)
    if pp.monte_carlo_se is not None:
        warnings.append(
            f"Predictive probabilities by Monte Carlo over future outcomes (max MCSE {pp.monte_carlo_se.max():.4f}): "
            "too many future outcome tuples to enumerate."
        )
    return {
        "strata": rows,
        "tau": {"mean": post.tau.mean, "median": post.tau.median, "ci95": [post.tau.ci95[0], post.tau.ci95[1]]},
        "prob_exchangeable": None if not hierarchy.exnex else [s.prob_exchangeable for s in post.strata],
        "predictive": {"method": pp.method, **summary.jsonable(pp.details)},
        "diagnostics": summary.quadrature_diagnostics(post),
        "warnings": warnings,
    }


def _mcmc(sampler, spec, y, n, n_planned, p0, p1, rule, settings, seed) -> dict[str, Any]:
    draws = sampler(spec, [int(v) for v in y], [int(v) for v in n], settings, seed)
    chains = int(getattr(draws, "chains", 1))
    p = np.asarray(draws.p, dtype=float)
    hierarchy = NormalHierarchy.from_prior(spec.prior)

    def fallback() -> predictive.PredictiveResult:
        return predictive.predictive_probability_hierarchical(hierarchy, y, n, n_planned, p0, rule.final_threshold, seed=seed)

    pp = predictive.pp_by_reweighting(p, n_planned - n, p0=p0, final_threshold=rule.final_threshold, fallback=fallback, seed=seed)
    prob0, mcse0 = summary.probability_above(p, p0, chains)
    prob1, mcse1 = summary.probability_above(p, p1, chains)
    mcse_mean = summary.mcse_of_mean(p, chains)
    rows = []
    for j, post in enumerate(summary.summarise_draws(p)):
        mc = {
            "posterior_mean": float(mcse_mean[j]),
            "prob_above_p0": float(mcse0[j]),
            "prob_above_p1": float(mcse1[j]),
        }
        # A quadrature fallback is deterministic: its Monte Carlo error is 0.
        mc["predictive_probability_of_success"] = 0.0 if pp.monte_carlo_se is None else float(pp.monte_carlo_se[j])
        rows.append(
            {
                "posterior_mean": post["mean"],
                "posterior_median": post["median"],
                "ci95": post["ci95"],
                "prob_above_p0": float(prob0[j]),
                "prob_above_p1": float(prob1[j]),
                "predictive_probability_of_success": float(pp.probability[j]),
                "monte_carlo_se": mc,
            }
        )
    prob_exch = None
    if draws.prob_exchangeable is not None:
        prob_exch = [float(v) for v in np.asarray(draws.prob_exchangeable, dtype=float).mean(axis=0)]
    warnings = []
    if "fallback" in pp.method:
        warnings.append("Predictive probabilities: " + pp.method)
    return {
        "strata": rows,
        "tau": summary.summarise_scalar_draws(draws.tau, chains),
        "prob_exchangeable": prob_exch,
        "predictive": {"method": pp.method, **summary.jsonable(pp.details)},
        "diagnostics": summary.mcmc_diagnostics(draws.diagnostics),
        "warnings": warnings,
    }

"""An interim response analysis end to end: core objects in, the canonical result dict out.

    spec (``designs.response.spec``, checked at the boundary) → posterior per stratum
      (closed form | quadrature | PyMC draws) → predictive probability of success
      (``designs.response.predictive``) → decision (``designs.response.decisions``) → Simon status → warnings,
      diagnostics, provenance.

Engines: ``independent`` and ``pooled`` are closed form (any requested engine is ignored, with a
warning). ``hierarchical`` and ``exnex`` use ``engine="quadrature"`` (deterministic, ~1e-6 accurate)
or ``"mcmc"`` (the default, as in the service's schema), which calls the PyMC engine through one
seam, ``designs.engines.pymc.sample_response(spec, responders, n, settings, seed) -> draws`` with
draws.p (S, J), draws.tau (S,), draws.prob_exchangeable (S, J) or None, draws.diagnostics and
draws.chains (draws stacked chain after chain). EXNEX with weight_exchangeable 0 or 1 is the
independent-normal or the hierarchical model, which the sampler does not take: quadrature computes it.

Summaries of draws: mean, median, the 95% equal-tailed interval (quantiles 0.025 and 0.975, stated
explicitly; ``ci_level`` 0.95 beside every ``ci95``), probabilities as indicator means with their Monte Carlo standard errors
(√(p̂(1 − p̂)/ESS) from ``designs.engines.diagnostics``); these, the default seed and the diagnostics block
are ``designs.core.posterior_summary``'s, shared with the PFS analysis. EXNEX's P(exchangeable) is the
mean of the per-draw (Rao-Blackwellised) membership probabilities, with the MCSE of that mean.
Warnings are typed caveats (``designs.core.caveats``).

Densities (``designs.core.densities``, for the report's figures): per stratum ``posterior_density`` of
p on [0, 1] from the engine used (closed form: Beta CDF differences; quadrature: the engine's CDF of the
stratum's marginal; MCMC: a histogram of the draws) and ``independent_posterior``, the no-borrowing
Beta(a0 + y, b0 + n − y) with the model's Beta prior (Beta(1, 1) when the model has none: ``prior_note``);
``tau_density`` of τ on [0, upper] (None for closed-form models and a fixed τ). They add keys only:
every other number is as without them.

Results explain themselves (issue 14): ``ci_level`` beside every ``ci95``; τ's summary names its scale
(``scale: "logit"``, τ being the between-stratum sd of logit p_j); a ``decision-near-threshold`` caveat
when a Monte Carlo probability that decides lies within two MCSEs of its threshold
(``designs.core.caveats.near_threshold``); a ``simon-design-misfit`` caveat when the Simon design beside
does not fit p0 and p1 (``designs.response.simon_status.simon_fit``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from scipy import special

from designs.core import densities
from designs.core import posterior_summary as summary
from designs.core.caveats import Comparison, caveat, near_threshold
from designs.core.posterior_summary import CI_PROB
from designs.core.provenance import provenance
from designs.engines import closed_form
from designs.engines.pymc import sample_response
from designs.engines.quadrature import LOGIT, BinomialLikelihood, NormalHierarchy
from designs.engines.sampler_settings import SamplerSettings
from designs.response import decisions, predictive
from designs.response.simon_status import simon_fit, simon_status
from designs.response.spec import ResponseAnalysisSpec, ResponseModelSpec, StratumData

SMALL_STRATUM = 3
"""Below this many evaluable patients a stratum's posterior is mostly prior (and borrowing)."""
NO_BORROWING_PRIOR = (1.0, 1.0)
"""The Beta prior of the no-borrowing posterior drawn beside a model without a Beta prior."""


def analyse_response(spec: ResponseAnalysisSpec) -> dict[str, Any]:
    """The canonical result of an interim response analysis (see the module docstring).

    ``spec`` is trusted (build it with ``ResponseAnalysisSpec.from_mapping``). ``spec.seed`` None:
    derived from the SHA-256 of the request. Same inputs and seed give identical numbers.
    """
    p0, p1, model, rule, engine = spec.p0, spec.p1, spec.model, spec.decision, spec.engine
    payload = spec.payload()
    seed = summary.resolve_seed(spec.seed, payload)
    y = np.array([s.responders for s in spec.strata])
    n = np.array([s.n for s in spec.strata])
    n_planned = np.array([s.n_planned for s in spec.strata])
    warnings: list[dict[str, Any]] = []
    sampler_settings = None

    if model.closed_form:
        used = "closed-form"
        if engine is not None:
            warnings.append(caveat("engine-ignored", f"engine '{engine}' ignored: the {model.kind} model has a closed-form (Beta–binomial) posterior."))
        fit = _closed_form(model, y, n, n_planned, p0, p1, rule)
    else:
        used = "mcmc" if engine in (None, "mcmc") else "quadrature"
        w = getattr(model.prior, "weight_exchangeable", None)
        if used == "mcmc" and w is not None and w in (0.0, 1.0):
            used = "quadrature"
            warnings.append(caveat("engine-substituted", f"weight_exchangeable = {w:g} is a boundary case the MCMC engine does not sample: quadrature was used."))
        if used == "mcmc":
            sampler_settings = spec.sampler or SamplerSettings()
            fit = _mcmc(model, y, n, n_planned, p0, p1, rule, sampler_settings, seed)
        else:
            if engine is None and spec.sampler is not None:
                warnings.append(caveat("engine-ignored", "mcmc settings ignored: the quadrature engine was used."))
            fit = _quadrature(model, y, n, n_planned, p0, p1, rule, seed)
    warnings.extend(fit.pop("warnings"))
    warnings.extend(summary.diagnostics_warnings(fit["diagnostics"]))

    names = [s.name for s in spec.strata]
    out_strata = []
    for j, s in enumerate(spec.strata):
        row = fit["strata"][j]
        decision = decisions.explain(rule, s.n, s.n_planned, row["prob_above_p0"], row["predictive_probability_of_success"], p0)
        entry = {
            **asdict(s),
            **row,
            "ci_level": CI_PROB,
            "decision": decision.decision,
            "decision_criterion": decision.criterion_dict(),
            "posterior_density": fit["densities"][j],
            "independent_posterior": _independent_posterior(model, s),
        }
        if fit["prob_exchangeable"] is not None:
            entry["prob_exchangeable"] = fit["prob_exchangeable"][j]
        if spec.simon is not None:
            entry["simon"] = simon_status(spec.simon, s.n, s.responders)
        out_strata.append(entry)
        warnings.extend(_stratum_warnings(s, model, len(names)))
        warnings.extend(_near_threshold(s, row, rule, p0, decision, used))
    if spec.simon is not None:
        warnings.extend(simon_fit(spec.simon, p0, p1))
    if model.kind == "pooled" and len(names) > 1:
        warnings.append(caveat("pooled-model", "The pooled model gives every stratum the same posterior (one shared response rate)."))

    return {
        "p0": float(p0),
        "p1": float(p1),
        "model": model.as_dict(),
        "engine": used,
        "decision_rule": rule.as_dict(),
        "strata": out_strata,
        "tau": _tau_summary(fit["tau"]),
        "tau_density": fit["tau_density"],
        "prob_exchangeable": None if fit["prob_exchangeable"] is None else dict(zip(names, fit["prob_exchangeable"], strict=True)),
        "predictive": fit["predictive"],
        "diagnostics": fit["diagnostics"],
        "provenance": provenance(
            payload,
            model=model.as_dict(),
            engine=used,
            sampler=None if sampler_settings is None else asdict(sampler_settings),
            seed=seed,
            method=fit["diagnostics"].get("method"),
        ),
        "warnings": warnings,
    }


TAU_SCALE = "logit"
"""τ is the between-stratum sd of θ_j = logit p_j: a number on the logit scale, not a response rate."""


def _tau_summary(tau: dict[str, Any] | None) -> dict[str, Any] | None:
    """τ's posterior summary with its scale and the level of its interval stated beside it."""
    if tau is None:
        return None
    return {**tau, "ci_level": CI_PROB, "scale": TAU_SCALE,
            "description": "between-stratum standard deviation of the logits of the response rates"}


_REMEDY = {
    "mcmc": "Confirm with engine 'quadrature' (deterministic) or more draws (mcmc.draws).",
    "quadrature": "The predictive probability was estimated by Monte Carlo over future outcomes (too many to enumerate).",
}


def _near_threshold(stratum: StratumData, row: dict[str, Any], rule: decisions.DecisionRule, p0: float,
                    decision: Any, engine: str) -> list[dict[str, Any]]:
    """``decision-near-threshold`` caveats: a Monte Carlo probability that decides lies within two of its
    Monte Carlo SEs of the threshold it is compared with (the rule's comparisons, in its order)."""
    mcse = row.get("monte_carlo_se")
    if not mcse:
        return []
    prob = ("futility_posterior", f"P(p > {p0:g} | data)", row["prob_above_p0"], mcse.get("prob_above_p0"))
    ppos = ("predictive probability of success", row["predictive_probability_of_success"],
            mcse.get("predictive_probability_of_success"))
    if stratum.n >= stratum.n_planned:
        comparisons = [Comparison("final_success", *prob[1:], rule.final_threshold)]
    else:
        comparisons = [
            Comparison(*prob, rule.futility_prob_above_p0),
            Comparison("futility_predictive", *ppos, rule.futility_ppos),
            Comparison("efficacy_predictive", *ppos, rule.efficacy_ppos),
        ]
    return near_threshold(stratum.name, decision.decision, decision.criterion, comparisons, _REMEDY.get(engine, ""))


def _stratum_warnings(stratum: StratumData, model: ResponseModelSpec, n_strata: int) -> list[dict[str, Any]]:
    """A stratum with no or few evaluable patients: its posterior rests on the prior (and borrowing)."""
    borrows = n_strata > 1 and model.kind != "independent"
    if stratum.n == 0:
        tail = " informed by the other strata." if borrows and not model.closed_form else "."
        text = f"Stratum '{stratum.name}' has no evaluable patients yet: its posterior is the prior{tail}"
        return [caveat("stratum-empty", text, stratum.name)]
    if stratum.n < SMALL_STRATUM:
        tail = " and by borrowing from the other strata." if borrows else "."
        text = f"Stratum '{stratum.name}' has only n = {stratum.n} evaluable patients: its posterior is dominated by the prior{tail}"
        return [caveat("stratum-sparse", text, stratum.name)]
    return []


def _beta_density(a: float, b: float, method: str) -> dict[str, Any]:
    """Beta(a, b) on [0, 1]: exact bin averages from its CDF (its survival function P(1 − p < 1 − x) in the
    upper tail; scipy's betaincc is some 50 times slower than betainc)."""
    return densities.from_cdf(lambda x: special.betainc(a, b, x), 0.0, 1.0, method,
                              sf=lambda x: special.betainc(b, a, 1.0 - x))


def _independent_posterior(model: ResponseModelSpec, stratum: StratumData) -> dict[str, Any]:
    """The no-borrowing posterior Beta(a0 + y, b0 + n − y) of one stratum, drawn beside the model's."""
    if model.closed_form:
        a0, b0 = model.prior.a, model.prior.b
        note = f"the model's Beta({a0:g}, {b0:g}) prior"
    else:
        a0, b0 = NO_BORROWING_PRIOR
        note = f"Beta({a0:g}, {b0:g}) (uniform): the {model.kind} model has no Beta prior on p"
    a, b = a0 + stratum.responders, b0 + stratum.n - stratum.responders
    return {
        "prior": {"a": float(a0), "b": float(b0)},
        "a": float(a),
        "b": float(b),
        "prior_note": note,
        "density": _beta_density(a, b, "exact: Beta CDF differences"),
    }


# --------------------------------------------------------------------------------------------------
# Engines


def _closed_form(model, y, n, n_planned, p0, p1, rule) -> dict[str, Any]:
    a, b = model.prior.a, model.prior.b
    rows = []
    if model.kind == "independent":
        ppos = predictive.predictive_probability_beta(a, b, y, n, n_planned, p0, rule.final_threshold)
        posts = [closed_form.summarise(a + yj, b + nj - yj, (p0, p1), CI_PROB) for yj, nj in zip(y, n, strict=True)]
        method = "exact Beta–binomial sums per stratum"
        params = [(a + yj, b + nj - yj) for yj, nj in zip(y, n, strict=True)]
    else:
        pooled = closed_form.summarise(a + y.sum(), b + (n - y).sum(), (p0, p1), CI_PROB)
        posts = [pooled] * len(y)
        ppos = np.full(len(y), predictive.predictive_probability_pooled(a, b, y, n, n_planned, p0, rule.final_threshold))
        method = "exact Beta–binomial sums over the pooled totals"
        params = [(a + y.sum(), b + (n - y).sum())] * len(y)
    for post, ppos_j in zip(posts, ppos, strict=True):
        rows.append(
            {
                "posterior_mean": post.mean,
                "posterior_median": post.median,
                "ci95": [post.ci95[0], post.ci95[1]],
                "prob_above_p0": post.prob_above[float(p0)],
                "prob_above_p1": post.prob_above[float(p1)],
                "predictive_probability_of_success": float(ppos_j),
            }
        )
    return {
        "strata": rows,
        "densities": [_beta_density(float(pa), float(pb), "exact: Beta CDF differences") for pa, pb in params],
        "tau": None,
        "tau_density": None,
        "prob_exchangeable": None,
        "predictive": {"method": method},
        "diagnostics": summary.closed_form_diagnostics(
            "exact: conjugate Beta posterior; quantiles and tail probabilities from scipy.stats.beta"
        ),
        "warnings": [],
    }


def _quadrature(model, y, n, n_planned, p0, p1, rule, seed) -> dict[str, Any]:
    hierarchy = NormalHierarchy.from_prior(model.prior)
    engine = predictive.engine_for(hierarchy, n_planned)
    likelihoods = [BinomialLikelihood(int(a), int(b)) for a, b in zip(y, n, strict=True)]
    post = engine.analyse(likelihoods, thresholds=(p0, p1))
    ppos = predictive.predictive_probability_hierarchical(
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
            "predictive_probability_of_success": float(ppos.probability[j]),
        }
        if ppos.monte_carlo_se is not None:
            row["monte_carlo_se"] = {"predictive_probability_of_success": float(ppos.monte_carlo_se[j])}
        rows.append(row)
    if ppos.monte_carlo_se is not None:
        warnings.append(
            caveat(
                "predictive-monte-carlo",
                f"Predictive probabilities by Monte Carlo over future outcomes (max MCSE {ppos.monte_carlo_se.max():.4f}): "
                "too many future outcome tuples to enumerate.",
            )
        )
    return {
        "strata": rows,
        "densities": [
            densities.from_cdf(lambda x, m=s.marginal: m.parameter_cdf(x, LOGIT), 0.0, 1.0, densities.QUADRATURE)
            for s in post.strata
        ],
        "tau": {"mean": post.tau.mean, "median": post.tau.median, "ci95": [post.tau.ci95[0], post.tau.ci95[1]]},
        "tau_density": None if post.tau.fixed
        else densities.from_cdf_on_half_line(post.tau.cdf, post.tau.quantile, densities.QUADRATURE_TAU),
        "prob_exchangeable": _quadrature_membership(model, post),
        "predictive": {"method": ppos.method, **summary.jsonable(ppos.details)},
        "diagnostics": summary.quadrature_diagnostics(post),
        "warnings": warnings,
    }


def _quadrature_membership(model: ResponseModelSpec, post: Any) -> list[float] | None:
    """EXNEX's P(exchangeable) per stratum; with weight_exchangeable 1 the engine runs the hierarchical model: 1."""
    if model.kind != "exnex":
        return None
    return [1.0 if s.prob_exchangeable is None else s.prob_exchangeable for s in post.strata]


def _mcmc(model, y, n, n_planned, p0, p1, rule, settings, seed) -> dict[str, Any]:
    draws = sample_response(model, [int(v) for v in y], [int(v) for v in n], settings, seed)
    chains = draws.chains
    p = np.asarray(draws.p, dtype=float)
    hierarchy = NormalHierarchy.from_prior(model.prior)

    def fallback() -> predictive.PredictiveResult:
        return predictive.predictive_probability_hierarchical(hierarchy, y, n, n_planned, p0, rule.final_threshold, seed=seed)

    ppos = predictive.predictive_probability_by_reweighting(
        p, n_planned - n, p0=p0, final_threshold=rule.final_threshold, fallback=fallback, seed=seed
    )
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
        mc["predictive_probability_of_success"] = 0.0 if ppos.monte_carlo_se is None else float(ppos.monte_carlo_se[j])
        rows.append(
            {
                "posterior_mean": post["mean"],
                "posterior_median": post["median"],
                "ci95": post["ci95"],
                "prob_above_p0": float(prob0[j]),
                "prob_above_p1": float(prob1[j]),
                "predictive_probability_of_success": float(ppos.probability[j]),
                "monte_carlo_se": mc,
            }
        )
    prob_exch = None
    if draws.prob_exchangeable is not None:
        membership = np.asarray(draws.prob_exchangeable, dtype=float)
        prob_exch = [float(v) for v in membership.mean(axis=0)]
        for row, se in zip(rows, summary.mcse_of_mean(membership, chains), strict=True):
            row["monte_carlo_se"]["prob_exchangeable"] = float(se)
    warnings = []
    if "fallback" in ppos.method:
        warnings.append(caveat("predictive-fallback", "Predictive probabilities: " + ppos.method))
    return {
        "strata": rows,
        "densities": [densities.from_draws(p[:, j], 0.0, 1.0, densities.MCMC) for j in range(p.shape[1])],
        "tau": summary.summarise_scalar_draws(draws.tau, chains),
        "tau_density": densities.from_draws_on_half_line(draws.tau, densities.MCMC),
        "prob_exchangeable": prob_exch,
        "predictive": {"method": ppos.method, **summary.jsonable(ppos.details)},
        "diagnostics": summary.mcmc_diagnostics(draws.diagnostics),
        "warnings": warnings,
    }

"""Designing PFS rules: simulated operating characteristics with accrual and looks, calibration, and
the one-sample log-rank comparator.

* ``laws``: the true survival laws of a scenario (exponential, Weibull, piecewise exponential);
* ``spec``: a design request checked once (strata, accrual, looks, model, rule, scenarios);
* ``posterior``: P(S_j(L) > s) for many simulated data sets at once (exact Gamma tails; vectorised
  hierarchical-exponential quadrature);
* ``simulate``: seeded blocks of simulated trials with accrual, looks and the go / no-go rule;
* ``operating``: the operating characteristics and the calibration of the final threshold, as
  computations in chunks (``service.jobs`` protocol);
* ``logrank``: the one-sample log-rank test against a benchmark curve, its sample size and simulated OC.

See docs/PFS_DESIGN.md.
"""

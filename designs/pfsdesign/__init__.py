"""Designing PFS rules: simulated operating characteristics with accrual and looks, calibration, and
the one-sample log-rank comparator.

* ``laws``: the true survival laws of a scenario (exponential, Weibull, piecewise exponential);
* ``logrank``: the one-sample log-rank test against a benchmark curve, its sample size and simulated OC.
"""

"""Benchmark of the PyMC engine: compile time, warm fit time and ESS per model kind.

    .venv/bin/python benchmarks/sampling.py [--repeats 5] [--kinds hierarchical exnex ...]

Prints, per kind (two strata): first compilation (and whether its machine code came from the
cache directory of ``designs.engines.pymc.compile``), first fit after compiling (one-off costs), the
median warm fit of ``--repeats`` fits with the default settings (data swapped each time), its min
bulk ESS over the reported quantities and over every checked quantity, reruns and divergences, and
the ratio to ``pm.sample`` with nutpie, which compiles on every call (hierarchical model only).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs.engines import pymc as pymc_engine  # noqa: E402
from designs.engines.pymc import PFSData, SamplerSettings  # noqa: E402
from designs.engines.pymc.compile import compile_seconds, from_disk_cache  # noqa: E402
from designs.response import spec as response_spec  # noqa: E402
from designs.survival.models import resolve_model  # noqa: E402

RESPONSE_PRIOR = {"mu_mean": -1.0, "mu_sd": 2.0, "tau_scale": 1.0}
EXNEX_PRIOR = RESPONSE_PRIOR | {"weight_exchangeable": 0.5, "nex_mean": -1.0, "nex_sd": 2.0}


def _pfs_data(rng: np.random.Generator, n: int = 30) -> PFSData:
    times, events = [], []
    for scale in (4.0, 6.0):
        t, c = scale * rng.weibull(1.2, n), rng.uniform(0, 12, n)
        times.append(np.minimum(t, c))
        events.append((t <= c).astype(int))
    return PFSData(times=tuple(times), events=tuple(events))


def _fit(kind: str, rng: np.random.Generator, seed: int):
    settings = SamplerSettings()
    if kind in pymc_engine.RESPONSE_KINDS:
        y = [int(rng.integers(2, 8)), int(rng.integers(4, 12))]
        prior = EXNEX_PRIOR if kind == "exnex" else RESPONSE_PRIOR
        return pymc_engine.sample_response(response_spec.resolve(kind, prior, 0.2), y, [20, 20], settings, seed)
    return pymc_engine.sample_pfs(resolve_model(kind), _pfs_data(rng), settings, seed)


def _reported_ess(kind: str, draws) -> float:
    quantities = draws.diagnostics["quantities"]
    names = ["p"] if kind in pymc_engine.RESPONSE_KINDS else ["log_hazard", "median_survival"]
    return min(quantities[name]["min_ess_bulk"] for name in names if name in quantities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kinds", nargs="*", default=list(pymc_engine.ALL_KINDS))
    args = parser.parse_args()
    settings = SamplerSettings()
    print(f"default settings: {settings.chains} chains x {settings.draws} draws, tune {settings.tune}, "
          f"target_accept {settings.target_accept}; two strata")
    print(f"{'kind':<36}{'compile s':>10}{'cached':>7}{'1st fit s':>10}{'warm fit s':>11}"
          f"{'ESS rep':>9}{'ESS all':>9}{'reruns':>8}{'div':>5}")
    rng = np.random.default_rng(2024)
    warm_hierarchical = None
    for kind in args.kinds:
        start = time.perf_counter()
        _fit(kind, rng, seed=0)
        first_total = time.perf_counter() - start
        key = next(k for k in compile_seconds if k[0] == kind)
        compile_s, cached = compile_seconds[key], "yes" if from_disk_cache[key] else "no"
        fits, reported, overall, reruns, divergences = [], [], [], 0, 0
        for repeat in range(args.repeats):
            start = time.perf_counter()
            draws = _fit(kind, rng, seed=repeat + 1)
            fits.append(time.perf_counter() - start)
            reported.append(_reported_ess(kind, draws))
            overall.append(draws.diagnostics["min_ess_bulk"])
            reruns += draws.diagnostics["reruns"]
            divergences += draws.diagnostics["divergences"]
        warm = statistics.median(fits)
        if kind == "hierarchical":
            warm_hierarchical = warm
        print(f"{kind:<36}{compile_s:>10.1f}{cached:>7}{first_total - compile_s:>10.2f}{warm:>11.3f}"
              f"{min(reported):>9.0f}{min(overall):>9.0f}{reruns:>8d}{divergences:>5d}")
    if warm_hierarchical is not None:
        import pymc as pm  # deferred, as in the engine: the first compilation above includes PyMC's import

        model = pymc_engine.build_model("hierarchical", 2)
        with model:
            spec = response_spec.resolve("hierarchical", RESPONSE_PRIOR, 0.2)
            pm.set_data(pymc_engine.model_inputs(spec, ([3, 7], [20, 20])))
        options = {"nuts_sampler": "nutpie", "progressbar": False, "model": model,
                   "compute_convergence_checks": False}
        pm.sample(draws=10, tune=10, chains=1, random_seed=0, **options)  # warm PyTensor's caches
        start = time.perf_counter()
        pm.sample(draws=settings.draws, tune=settings.tune, chains=settings.chains,
                  target_accept=settings.target_accept, random_seed=1, **options)
        pm_seconds = time.perf_counter() - start
        print(f"pm.sample(nuts_sampler='nutpie'), which compiles on every call, hierarchical: "
              f"{pm_seconds:.2f} s = {pm_seconds / warm_hierarchical:.0f} x the warm fit with data swapped")


if __name__ == "__main__":
    main()

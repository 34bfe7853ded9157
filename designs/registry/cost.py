"""The estimated cost of a protocol's look at its planned size (``designs.core.cost``), from the
protocol alone, so that the service can refuse a protocol whose final look would not fit the compute
budget before any data arrive.

The look's response analysis is estimated by ``designs.response.cost.estimate_response`` with every
stratum at n_planned (half responding); its PFS analysis by ``designs.survival.cost.estimate_pfs``
with n_planned patients per stratum, each followed to the landmark, half with an event. The drivers
are located in the protocol (``response/model/prior/mu_sd``, ``pfs/strata``).
"""

from __future__ import annotations

from dataclasses import replace

from designs.core import cost as c
from designs.core.cost import Cost
from designs.registry.protocol import ProtocolSpec
from designs.response.cost import estimate_response
from designs.response.spec import ResponseAnalysisSpec, StratumData
from designs.survival.cost import estimate_pfs
from designs.survival.spec import PatientRecord, PFSAnalysisSpec


_PROTOCOL_FIELD = {"patients": "strata/n_planned"}
"""An analysis driver as the protocol names it: a look's patients are the planned ones."""


def _located(cost: Cost, prefix: str) -> Cost:
    drivers = (f"{prefix}/{_PROTOCOL_FIELD.get(d, d)}" for d in cost.drivers)
    return replace(cost, drivers=tuple(dict.fromkeys(drivers)))


def estimate_look_cost(spec: ProtocolSpec) -> Cost:
    """The cost of ``designs.registry.look.run_look`` on a cut with every planned patient."""
    cost = Cost(c.BASE_SECONDS, c.BASE_BYTES, (), parts={})
    r = spec.response
    if r is not None:
        strata = tuple(StratumData(s.name, s.n_planned, s.n_planned // 2, s.n_planned) for s in r.strata)
        analysis = ResponseAnalysisSpec(r.p0, r.p1, strata, r.model, r.decision, r.simon, r.engine, r.sampler, 0)
        cost = cost.then(_located(estimate_response(analysis), "response"))
    p = spec.pfs
    if p is not None:
        patients = tuple(PatientRecord(f"{s.name}-{i}", s.name, p.landmark_months, i % 2 == 0)
                         for s in p.strata for i in range(s.n_planned))
        analysis = PFSAnalysisSpec(patients, tuple(s.name for s in p.strata), p.benchmark_landmark_pfs,
                                   p.target_landmark_pfs, p.landmark_months, p.model, p.decision, p.sampler, 0,
                                   None, tuple(s.n_planned for s in p.strata))
        cost = cost.then(_located(estimate_pfs(analysis), "pfs"))
    return cost

"""No NaN or infinity reaches a result: the response and PFS analyses by quadrature at the extremes of
every bounded field (prior locations and scales, the EXNEX weight, the rates, counts, times, the
landmark), each request built as a client would send it and checked by the spec first.

Fuzzing found an IndexError (412 patients in one PFS stratum), a ZeroDivisionError (tau_scale 1e-9 …
5e-324), grids of tens of GiB (prior scales 1e6) and a predictive probability of NaN (p0 = 5e-324);
each has its own test beside its fix, and this property keeps the whole request space honest.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designs.core.errors import InvalidInputError
from designs.core.validation import RESPONSE_RATE
from designs.response import spec as response_spec
from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec
from designs.survival import models as survival_models
from designs.survival.analysis import analyse_pfs
from designs.survival.spec import LANDMARK_BOUNDS, PFSAnalysisSpec


def _ends(bounds) -> list[float]:
    """The closed ends of a bounded field (an open end is approached to within 1e-9 of its width)."""
    low = bounds.ge if bounds.ge is not None else bounds.gt + 1e-9
    high = bounds.le if bounds.le is not None else bounds.lt - 1e-9
    return [low, high]


def _prior(parameters: dict, names: tuple[str, ...]) -> st.SearchStrategy[dict[str, float]]:
    """Each prior field at an end of its bounds or omitted (its default)."""
    return st.fixed_dictionaries({}, optional={name: st.sampled_from(_ends(parameters[name].bounds)) for name in names})


def _non_finite(value: Any, where: str = "") -> list[str]:
    """Where a float in the result is NaN or ±∞, or a text shows one."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where]
    if isinstance(value, str):
        return [where] if "nan" in value.split() or "inf" in value.split() else []
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _non_finite(v, f"{where}/{k}")]
    if isinstance(value, list | tuple):
        return [w for i, v in enumerate(value) for w in _non_finite(v, f"{where}/{i}")]
    return []


def _assert_finite(result: dict) -> None:
    assert _non_finite(result) == []
    json.dumps(result, allow_nan=False)  # canonical JSON: no NaN or Infinity tokens


@st.composite
def response_requests(draw) -> dict:
    kind = draw(st.sampled_from(response_spec.HIERARCHICAL_KINDS))
    low, high = _ends(RESPONSE_RATE)
    p0 = draw(st.sampled_from([low, 0.15, high - 0.001]))
    p1 = draw(st.sampled_from([p0 + 0.001, high]))
    strata = []
    for j in range(draw(st.sampled_from([1, 2]))):
        n_planned = draw(st.sampled_from([1, 12, 40]))  # larger looks: see the commit (predictive cost)
        n = draw(st.sampled_from([0, n_planned // 2, n_planned]))
        responders = draw(st.sampled_from([0, n // 3, n]))
        strata.append({"name": f"s{j}", "n": n, "responders": responders, "n_planned": n_planned})
    prior = draw(_prior(response_spec.PRIOR_PARAMETERS, response_spec.PRIOR_FIELDS[kind]))
    return {"p0": p0, "p1": p1, "strata": strata, "model": {"kind": kind, "prior": prior}, "engine": "quadrature"}


@st.composite
def pfs_requests(draw) -> dict:
    patients = []
    n_strata = draw(st.sampled_from([1, 3]))
    for j in range(n_strata):
        n = draw(st.sampled_from([1, 5, 150]))
        time = draw(st.sampled_from([0.0, 1e-6, 3.0, 1200.0]))
        events = draw(st.sampled_from([0, 1, n]))
        patients += [{"id": f"s{j}-{i}", "stratum": f"s{j}", "time_months": time, "event": i < events} for i in range(n)]
    benchmark, target = draw(st.sampled_from([(1e-6, 2e-6), (0.15, 0.35), (0.999, 0.999999)]))
    prior = draw(_prior(survival_models.PRIOR_PARAMETERS, survival_models.PRIOR_FIELDS["hierarchical-exponential"]))
    return {
        "patients": patients,
        "strata": [f"s{j}" for j in range(n_strata)],
        "landmark_months": draw(st.sampled_from([*_ends(LANDMARK_BOUNDS), 4.0])),
        "benchmark_landmark_pfs": benchmark,
        "target_landmark_pfs": target,
        "model": {"kind": "hierarchical-exponential", "prior": prior},
        "engine": "quadrature",
    }


def _analysed_or_refused(analyse, request: dict) -> None:
    """A finite result, or a 422 for a prior–data conflict beyond double precision (never a NaN)."""
    try:
        result = analyse(request)
    except InvalidInputError as error:
        assert [p.field for p in error.problems] == ["model/prior"] and "double precision" in error.problems[0].reason
        return
    _assert_finite(result)


@settings(max_examples=15, deadline=None)
@given(response_requests())
def test_response_quadrature_at_the_extremes_of_every_field_returns_no_nan(request):
    _analysed_or_refused(lambda body: analyse_response(ResponseAnalysisSpec.from_mapping(body)), request)


@settings(max_examples=20, deadline=None)
@given(pfs_requests())
def test_pfs_quadrature_at_the_extremes_of_every_field_returns_no_nan(request):
    _analysed_or_refused(lambda body: analyse_pfs(PFSAnalysisSpec.from_mapping(body)), request)


def test_a_prior_data_conflict_beyond_double_precision_is_refused_naming_the_prior():
    """Found by the property above: 40/40 responders under logit p ~ N(−20, 0.01²) (EXNEX, w = 0) have
    likelihood below e^-745 wherever the prior has mass; the joint mass underflowed to 0 and E[τ] was
    0/0. It is now a 422 naming model/prior, not a NaN."""
    request = {
        "p0": 0.001, "p1": 0.002, "engine": "quadrature",
        "strata": [{"name": "s0", "n": 0, "responders": 0, "n_planned": 1}, {"name": "s1", "n": 40, "responders": 40, "n_planned": 40}],
        "model": {"kind": "exnex", "prior": {"mu_mean": -20.0, "nex_mean": -20.0, "nex_sd": 0.01, "weight_exchangeable": 0.0}},
    }  # fmt: skip
    with pytest.raises(InvalidInputError) as info:
        analyse_response(ResponseAnalysisSpec.from_mapping(request))
    assert [p.field for p in info.value.problems] == ["model/prior"]

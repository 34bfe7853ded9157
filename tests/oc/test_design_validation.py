"""The core's own check of an OCDesign's rates: the schema bounds p0 and p1 for HTTP, the core for every
caller (the command line, a job resubmitted, a script)."""

from __future__ import annotations

import pytest

from designs import oc
from designs.core.errors import InvalidInputError


def _design(p0: float, p1: float) -> oc.OCDesign:
    return oc.OCDesign(p0, p1, (oc.StratumPlan("NF1", (7, 21)),), oc.SimonStoppingRule(r1=0, r=2))


@pytest.mark.parametrize(("p0", "p1", "fields"), [
    (5e-324, 0.25, {"p0"}),
    (0.05, 1.0, {"p1"}),
    (float("nan"), 0.25, {"p0"}),
    (0.25, 0.05, {"p1"}),
])
def test_a_design_with_rates_outside_a_response_rate_or_p1_not_above_p0_is_refused_naming_them(p0, p1, fields):
    with pytest.raises(InvalidInputError) as refused:
        oc.validate_design(_design(p0, p1))
    assert {p.field for p in refused.value.problems} == fields


def test_the_sarc031_rates_pass():
    oc.validate_design(_design(0.05, 0.25))

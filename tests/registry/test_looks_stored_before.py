"""A look stored by an earlier version still reproduces (``designs.registry.look.compare``): what later
versions add to a look (issue 14: every interval's ``ci_level``, τ's scale and description, the
sampler's parameter names, the caveats ``simon-design-misfit`` and ``decision-near-threshold``) is
listed under ``additions``, never as a difference, and every number the stored look holds is the same.

``data/looks_before_issue14.json``: looks 1 and 2 of the built-in SARC031 example as the version before
issue 14 (commit 789ae0f) computed them, run as below."""

from __future__ import annotations

import json
from pathlib import Path

from designs.registry import example
from designs.registry.datacut import DataCutSpec
from designs.registry.look import compare, look_seed, run_look
from designs.registry.protocol import ProtocolSpec

STORED = Path(__file__).parent / "data" / "looks_before_issue14.json"
CONTEXT = {"trial": "x", "protocol_version": 1, "data_cut": {"number": 1}, "amendments_since_previous_look": [],
           "actor": "s", "at": "t"}


def _looks_now() -> list[dict]:
    protocol = ProtocolSpec.from_mapping(example.protocol())
    return [run_look(protocol.document, DataCutSpec.from_mapping(cut, protocol).document, look_number=i + 1,
                     seed=look_seed(protocol.seed, protocol.id, i + 1), context=CONTEXT)
            for i, cut in enumerate(example.data_cuts()[:2])]


def test_looks_stored_before_issue_14_reproduce_with_its_fields_as_additions():
    for stored, rerun in zip(json.loads(STORED.read_text()), _looks_now(), strict=True):
        verdict = compare(stored, rerun)
        assert verdict["identical"], verdict["differences"]
        assert "response/strata/0/ci_level" in verdict["additions"]
        assert "response/tau/scale" in verdict["additions"]
        assert "warnings/simon-design-misfit" in verdict["additions"]


def test_a_changed_number_or_an_unknown_new_warning_is_still_a_difference():
    stored, rerun = json.loads(STORED.read_text())[0], _looks_now()[0]
    stored["response"]["strata"][0]["posterior_mean"] += 1e-12
    rerun["warnings"].append({"code": "stratum-sparse", "message": "x", "stratum": None})
    paths = {d["path"] for d in compare(stored, rerun)["differences"]}
    assert paths == {"response/strata/0/posterior_mean", "warnings"}

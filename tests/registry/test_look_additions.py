"""compare(stored, rerun) when newer software records more (issue 12: the posterior densities): keys
only the rerun has are "additions", not differences; keys only the stored look has stay differences.
And what the densities cost a look document."""

from __future__ import annotations

import copy
import json

import pytest

from designs.core.provenance import canonical_json
from designs.registry import example
from designs.registry.datacut import DataCutSpec
from designs.registry.look import compare, look_seed, run_look
from designs.registry.protocol import ProtocolSpec

DENSITY_KEYS = {"posterior_density", "independent_posterior", "tau_density", "density"}
CONTEXT = {"trial": example.TRIAL_ID, "protocol_version": 1, "data_cut": {"number": 3, "sha256": "x", "cutoff_date": "-"},
           "amendments_since_previous_look": [], "actor": "stat", "at": "2026-01-01T00:00:00Z"}


@pytest.fixture(scope="module")
def example_look():
    """The SARC031-like example's third look (hierarchical quadrature response and PFS, 2 strata)."""
    protocol = ProtocolSpec.from_mapping(example.protocol())
    cut = DataCutSpec.from_mapping(example.data_cuts()[-1], protocol)
    seed = look_seed(protocol.seed, protocol.id, 3)
    return run_look(protocol.document, cut.document, look_number=3, seed=seed, context=CONTEXT)


def before_densities(value):
    """A look as stored by software that did not record densities."""
    if isinstance(value, dict):
        return {k: before_densities(v) for k, v in value.items() if k not in DENSITY_KEYS}
    if isinstance(value, list):
        return [before_densities(v) for v in value]
    return value


def test_a_look_stored_before_the_densities_reproduces_identically_with_the_densities_as_additions(example_look):
    stored = json.loads(json.dumps(before_densities(example_look)))  # as read back from the database
    report = compare(stored, example_look)
    assert report["identical"] and report["differences"] == []
    assert report["additions"] == [
        "pfs/between_stratum_spread/density",
        "pfs/strata/0/posterior/landmark_pfs/density",
        "pfs/strata/1/posterior/landmark_pfs/density",
        "response/strata/0/independent_posterior",
        "response/strata/0/posterior_density",
        "response/strata/1/independent_posterior",
        "response/strata/1/posterior_density",
        "response/tau_density",
    ]
    assert compare(example_look, example_look)["additions"] == []


def test_a_key_only_the_stored_look_has_is_a_difference_and_a_changed_number_beside_an_addition_too(example_look):
    stored = before_densities(example_look)
    stored["response"]["strata"][0]["retired_field"] = 1.0
    stored["response"]["strata"][1]["prob_above_p0"] += 1e-15
    report = compare(stored, example_look)
    assert not report["identical"]
    assert report["differences"] == [
        {"path": "response/strata/0/retired_field", "stored": 1.0, "rerun": "<absent>"},
        {"path": "response/strata/1/prob_above_p0", "stored": stored["response"]["strata"][1]["prob_above_p0"],
         "rerun": example_look["response"]["strata"][1]["prob_above_p0"]},
    ]
    assert "response/tau_density" in report["additions"]


def test_software_keys_only_the_rerun_has_are_reported_under_software_not_as_additions(example_look):
    stored = copy.deepcopy(example_look)
    del stored["provenance"]["software"]["numpy"]
    report = compare(stored, example_look)
    assert report["identical"] and report["additions"] == []
    assert "numpy" not in report["software"]["stored"] and "numpy" in report["software"]["rerun"]


def test_the_densities_add_at_most_12_kb_per_stratum_to_a_look_document(example_look):
    added = len(canonical_json(example_look)) - len(canonical_json(before_densities(example_look)))
    strata = len(example_look["response"]["strata"])
    assert 0 < added <= 12_000 * strata


def test_a_stratum_or_warning_only_the_rerun_has_is_a_difference_not_an_addition(example_look):
    """Only the fields later versions record (look.ADDED_FIELDS) are additions: a rerun that gains a
    stratum's accrual or a decision key does not reproduce the stored look."""
    rerun = json.loads(json.dumps(example_look))
    rerun["accrual"]["another stratum"] = {"enrolled": 5}
    rerun["decisions"][0]["response"]["extra"] = "go"
    report = compare(example_look, rerun)
    assert not report["identical"] and report["additions"] == []
    assert {d["path"] for d in report["differences"]} == {"accrual/another stratum", "decisions/0/response/extra"}

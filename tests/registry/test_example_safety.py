"""The SARC031 example's safety monitoring: declared in its protocol (pooled Bayesian DLT boundaries),
toxicity statuses in its cuts that later cuts keep, efficacy data exactly as before safety was added
(the report tests' bundles were made from the example before), and looks that continue."""

from __future__ import annotations

import json

from designs.registry import example
from designs.registry.datacut import DataCutSpec
from designs.registry.look import look_seed, run_look
from designs.registry.protocol import ProtocolSpec
from tests.reports.bundles import DATA


def test_the_efficacy_data_are_those_the_example_gave_before_it_had_toxicity():
    before = json.loads((DATA / "bundle_look3.json").read_text(encoding="utf-8"))["cut"]["patients"]
    now = [{k: v for k, v in p.items() if k != "toxicity"} for p in example.data_cuts()[-1]["patients"]]
    assert sorted(now, key=lambda p: p["id"]) == sorted(before, key=lambda p: p["id"])


def test_every_cut_keeps_the_toxicity_statuses_of_the_one_before_and_the_looks_continue():
    protocol = ProtocolSpec.from_mapping(example.protocol())
    assert protocol.document["safety"] == {**example.SAFETY, "prior": {"a": 1.0, "b": 1.0},
                                           "strata": ["NF1-associated", "sporadic"]}
    previous, decisions = None, []
    for number, body in enumerate(example.data_cuts(), start=1):
        cut = DataCutSpec.from_mapping(body, protocol, previous, previous_number=number - 1 if previous else None)
        result = run_look(protocol.document, cut.document, look_number=number,
                          seed=look_seed(protocol.seed, protocol.id, number), context={})
        pooled = result["safety"]["pooled"]
        decisions.append((pooled["evaluable"], pooled["toxicities"], pooled["decision"]))
        previous = cut
    assert decisions == [(16, 1, "continue"), (35, 3, "continue"), (42, 3, "continue")]  # as docs/REGISTRY.md says
    last = example.data_cuts()[-1]["patients"]
    assert all(p["toxicity"] is not None for p in last)  # every patient past the DLT window at the last cut

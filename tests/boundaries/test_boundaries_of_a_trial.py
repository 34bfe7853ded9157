"""designs.boundaries.plan: the SARC031-like example trial's boundaries, from its stored protocol and looks."""

from __future__ import annotations

import json
from pathlib import Path

from designs.boundaries import boundary_table, next_look, observed_counts, response_design
from designs.registry.protocol import ProtocolSpec

FIXTURES = Path(__file__).resolve().parents[1] / "reports" / "data"


def bundle(k: int) -> dict:
    path = FIXTURES / f"bundle_look{k}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_example_trial_table_has_simons_0_7_2_21_beside_the_hierarchical_rule():
    d, simon = response_design(ProtocolSpec.from_mapping(bundle(2)["protocol"]["protocol"]).response)
    assert simon == {"r1": 0, "n1": 7, "r": 2, "n": 21} and d.model.kind == "hierarchical"
    table = boundary_table(d, simon=simon)
    for stratum in table["strata"]:
        assert [look["n"] for look in stratum["looks"]] == [7, 14, 21]
        assert stratum["simon"]["looks"][0]["no_go_max"] == 0 and stratum["simon"]["looks"][1]["go_min"] == 3


def test_example_trial_next_look_sentences_at_looks_2_and_3():
    b = bundle(2)
    d, _ = response_design(ProtocolSpec.from_mapping(b["protocol"]["protocol"]).response)
    observed = observed_counts(b["look"]["result"]["response"])
    assert observed == {"NF1-associated": (15, 5), "sporadic": (16, 3)}
    rows = next_look(d, observed)
    assert [(r["next_look"], r["next_n"]) for r in rows] == [(3, 21), (3, 21)]
    assert rows[0]["text"].startswith("NF1-associated needs ")
    assert " among the next 6 to avoid no-go at look 3 (n = 21)" in rows[0]["text"]
    final = next_look(d, observed_counts(bundle(3)["look"]["result"]["response"]))
    assert all(r["next_look"] is None and "has reached its final look" in r["text"] for r in final)


def test_a_simon_design_of_another_schedule_is_shown_with_a_warning_per_stratum():
    d, simon = response_design(ProtocolSpec.from_mapping(bundle(2)["protocol"]["protocol"]).response)
    assert boundary_table(d, simon=simon)["warnings"] == []  # 0/7 -> 2/21 on looks 7, 14, 21
    warned = boundary_table(d, simon={**simon, "n1": 8})["warnings"]
    assert [(w["code"], w["stratum"]) for w in warned] == [
        ("simon-schedule-mismatch", "NF1-associated"), ("simon-schedule-mismatch", "sporadic")]

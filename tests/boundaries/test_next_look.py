"""designs.boundaries.next_look: the boundaries at each stratum's next planned look, and its sentence."""

from __future__ import annotations

import pytest

from designs.boundaries import boundary_table, next_look
from designs.core.errors import InvalidInputError
from designs.oc import OCDesign, SimonStoppingRule, StratumPlan
from designs.response import spec
from designs.response.decisions import DecisionRule

STRATA = (StratumPlan("NF1-associated", (7, 14, 21)), StratumPlan("sporadic", (7, 14, 21)))


def design(kind: str, strata=STRATA) -> OCDesign:
    return OCDesign(0.15, 0.35, strata, DecisionRule(), spec.resolve(kind, None, 0.15))


def by_name(rows):
    return {row["stratum"]: row for row in rows}


def test_independent_next_look_reads_the_tables_row_at_that_look():
    d = design("independent")
    table = {s["name"]: s["looks"] for s in boundary_table(d)["strata"]}
    rows = by_name(next_look(d, {"NF1-associated": (14, 2), "sporadic": (10, 1)}))
    nf1, sporadic = rows["NF1-associated"], rows["sporadic"]
    look3, look2 = table["NF1-associated"][2], table["sporadic"][1]
    assert (nf1["next_look"], nf1["next_n"], nf1["no_go_max"], nf1["go_min"]) == (3, 21, look3["no_go_max"], look3["go_min"])
    assert nf1["avoid_no_go_needs"] == look3["no_go_max"] + 1 - 2
    assert nf1["text"].startswith(
        f"NF1-associated needs {nf1['avoid_no_go_needs']} more responders among the next 7 to avoid no-go at look 3 (n = 21)"
    )
    assert (sporadic["next_look"], sporadic["next_n"], sporadic["no_go_max"]) == (2, 14, look2["no_go_max"])
    assert sporadic["avoid_no_go_needs"] == look2["no_go_max"] + 1 - 1


def test_next_look_sentences_at_the_edges():
    """Final look already reached; no count avoids no-go; every count avoids it; one responder (singular)."""
    rows = by_name(next_look(design("independent"), {"NF1-associated": (21, 5), "sporadic": (20, 1)}))
    final = rows["NF1-associated"]
    assert final["next_look"] is None and final["avoid_no_go_needs"] is None and final["go_needs"] is None
    assert final["text"] == "NF1-associated has reached its final look (n = 21 of 21 planned): no look is left."
    hopeless = rows["sporadic"]
    assert hopeless["avoid_no_go_needs"] is None and hopeless["go_needs"] is None
    assert hopeless["text"] == (
        "sporadic cannot avoid no-go at look 3 (n = 21), even if the next patient responds; go is out of reach at that look."
    )
    rows = by_name(next_look(design("independent"), {"NF1-associated": (3, 3), "sporadic": (0, 0)}))
    safe = rows["NF1-associated"]
    assert safe["avoid_no_go_needs"] == 0
    assert safe["text"].startswith("NF1-associated avoids no-go at look 1 (n = 7) whatever the next 4 patients' responses")
    fresh = rows["sporadic"]
    assert fresh["avoid_no_go_needs"] == 1
    assert fresh["text"].startswith("sporadic needs 1 more responder among the next 7 to avoid no-go at look 1 (n = 7)")


def test_coupled_next_look_equals_the_table_conditional_on_a_finished_strata_count():
    """A stratum whose other has finished (its data frozen) at a planned look: the one-analysis design
    decides as the whole design's table conditional on the other's final count."""
    strata = (StratumPlan("A", (7, 14, 21)), StratumPlan("B", (7,)))
    d = design("hierarchical", strata)
    for y_b in (0, 3, 6):
        look2 = boundary_table(d, conditional={"B": [y_b]})["strata"][0]["looks"][1]
        row = by_name(next_look(d, {"A": (7, 1), "B": (7, y_b)}))["A"]
        assert (row["next_n"], row["no_go_max"], row["go_min"]) == (14, look2["no_go_max"], look2["go_min"])
        assert by_name(next_look(d, {"A": (7, 1), "B": (7, y_b)}))["B"]["next_look"] is None


def test_borrowing_from_a_responding_stratum_lowers_what_a_coupled_stratum_needs():
    d = design("hierarchical")
    poor = by_name(next_look(d, {"NF1-associated": (7, 1), "sporadic": (7, 0)}))["NF1-associated"]
    rich = by_name(next_look(d, {"NF1-associated": (7, 1), "sporadic": (7, 6)}))["NF1-associated"]
    assert rich["go_min"] <= poor["go_min"] and rich["no_go_max"] <= poor["no_go_max"]


def test_simon_rule_next_look_is_simons_boundary():
    d = OCDesign(0.05, 0.25, (StratumPlan("A", (7, 21)),), SimonStoppingRule(r1=0, r=2))
    (row,) = next_look(d, {"A": (7, 1)})
    assert (row["next_look"], row["no_go_max"], row["go_min"], row["avoid_no_go_needs"], row["go_needs"]) == (2, 2, 3, 2, 2)
    assert row["text"] == "A needs 2 more responders among the next 14 to avoid no-go at look 2 (n = 21); 2 more responders give go."


def test_bad_observed_data_is_named_at_once():
    with pytest.raises(InvalidInputError) as error:
        next_look(design("hierarchical"), {"NF1-associated": (5, 6), "other": (3, 1)})
    assert {p.field for p in error.value.problems} == {"observed/other", "observed/NF1-associated", "observed"}

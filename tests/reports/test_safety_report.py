"""Safety in the report of a look: the closed report's safety section (table, boundary chart, the
rule's OC from the stored design), the recommendation table's Safety column, the data-quality counts,
and an open report that reads no toxicity count, safety analysis or safety decision."""

from __future__ import annotations

import copy
import functools

from designs.reports import figures, render, tables
from tests.reports import bundles
from tests.reports.test_render import CLOSED_ORDER, Parsed, as_open


@functools.cache
def _closed(scope: str = "per-stratum") -> dict:
    return bundles.with_safety(bundles.with_design(bundles.stored(3)), scope=scope)


def closed(scope: str = "per-stratum") -> dict:
    return copy.deepcopy(_closed(scope))


def test_the_closed_report_has_a_safety_section_after_pfs_numbered_in_turn():
    document = render.render_html(closed())
    order = Parsed(document).sections
    assert order == [*CLOSED_ORDER[:5], "safety", *CLOSED_ORDER[5:]]
    assert "<h2>5. Safety</h2>" in document and "<h2>9. Appendix: provenance</h2>" in document
    assert "Safety: dose-limiting toxicities" in document and "Operating characteristics of the safety rule" in document
    assert "sporadic: safety boundaries: stop for safety at n = 5: ≥ 4, n = 10: ≥ 6, n = 15: ≥ 7, n = 20: ≥ 9" in document
    assert '<td class="decision stop-for-safety">stop for safety</td>' in document
    assert Parsed(render.render_html(bundles.stored(3))).sections == CLOSED_ORDER  # without safety: as before


def test_the_safety_table_reads_the_looks_safety_section():
    bundle = closed()
    safety = bundle["look"]["result"]["safety"]
    table = tables.safety_table(bundle)
    rows = {r[0]: r for r in table.rows}
    sporadic = next(s for s in safety["strata"] if s["name"] == "sporadic")
    assert (sporadic["evaluable"], sporadic["toxicities"]) == (21, 9)  # bundles._toxicity: the first 9 had a DLT
    assert rows["sporadic"] == ["sporadic", "21", "9", tables.num(sporadic["posterior_mean"]), tables.interval(sporadic["ci95"]),
                                tables.prob(sporadic["prob_above_p0"]),
                                "look 1: 5 of the first 5 (stop at ≥ 4, crossed); look 2: 9 of the first 10 (stop at ≥ 6, "
                                "crossed); look 3: 9 of the first 15 (stop at ≥ 7, crossed); look 4: 9 of the first 20 "
                                "(stop at ≥ 9, crossed)",
                                "stop for safety"]
    assert rows["NF1-associated"][-1] == "continue"
    assert ("stop at planned look n when the dose-limiting toxicities among the first n evaluable patients (by "
            "enrolment) reach: n = 5: ≥ 4; n = 10: ≥ 6") in table.notes[1]
    assert "P(some stratum stops | all at p0) = " in table.notes[1]  # two strata monitored one by one
    family = bundle["design"]["safety"]["family_wise"]
    assert family["strata"] == 2 and "alpha is per stratum" in oc.notes[1] if (oc := tables.safety_operating_characteristics(bundle)) else False
    # a look stored before the rule was applied look by look shows its one boundary as it was
    for row in safety["strata"]:
        row.pop("looks_applied")
    safety["strata"][1]["boundary"] = {"look": 4, "n": 20, "stop_at": 9}
    assert tables.safety_table(bundle).rows[1][6] == "all DLTs so far against look 4 (n = 20): stop at ≥ 9"
    oc = tables.safety_operating_characteristics(bundle)
    assert oc.rows[0][:2] == ["0.250", tables.prob(bundle["design"]["safety"]["calibration"]["prob_stop_null"])]
    assert tables.safety_table(bundles.stored(3)).rows == []  # a look without safety: a sentence, no rows


def test_the_recommendation_table_fills_its_safety_column_and_notes_why():
    for scope, expected, crossed in (("per-stratum", ["continue", "stop for safety"], 1),
                                     ("pooled", ["stop for safety"] * 2, 2)):
        table = tables.recommendation(closed(scope))
        assert table.columns[-1] == "Safety" and [r[-1] for r in table.rows] == expected
        why = next(note for note in table.notes if note.startswith("sporadic: "))
        assert why.endswith(f"stop for safety (boundary crossed at safety look {crossed}; response 'no-go', PFS 'no-go' stop the "
                            "stratum too)"
                            + ("; a pooled crossing stops every monitored stratum" if scope == "pooled" else ""))
    assert len(tables.recommendation(bundles.stored(3)).columns) == 6


def test_data_quality_counts_the_patients_evaluable_for_safety_in_the_closed_report_only():
    # review 13a finding 3: with enrolment dates, safety-evaluable counts tell early DLTs to the sponsor
    bundle = closed()
    quality = tables.data_quality(bundle)
    assert quality.columns[3:] == ("Safety evaluable", "Not evaluable for safety", "No toxicity status")
    assert [r[3:] for r in quality.rows] == [["21", "0", "0"], ["21", "0", "0"]]
    opened = as_open(bundle)
    assert tables.data_quality(render.open_subset(opened)).columns == ("Stratum", "Not evaluable", "Pending")
    assert {k for counts in render.open_subset(opened)["look"]["result"]["accrual"].values() for k in counts} == {
        "enrolled", "response_evaluable", "not_evaluable", "pending", "pfs_patients"}
    assert tables.data_quality(bundles.stored(3)).columns == ("Stratum", "Not evaluable", "Pending")


def poison_safety(bundle: dict) -> dict:
    """``bundle`` with the safety analysis, safety decisions and toxicity statuses replaced by markers."""
    bundle = copy.deepcopy(bundle)
    result = bundle["look"]["result"]
    result["safety"] = "LEAK-safety"
    for entry in result["decisions"]:
        entry["safety"] = "LEAK-decision"
    for patient in bundle["cut"]["patients"]:
        patient["toxicity"] = "LEAK-toxicity"
    bundle["design"]["safety"] = "LEAK-design"
    return bundle


def test_the_open_report_reads_no_toxicity_count_nor_safety_decision():
    bundle = as_open(closed())
    document = render.render_html(bundle)
    assert render.render_html(poison_safety(bundle)) == document and "LEAK" not in document
    subset = render.open_subset(bundle)
    assert subset["protocol"]["protocol"]["safety"] == {"looks": [5, 10, 15, 20], "scope": "per-stratum",
                                                        "strata": ["NF1-associated", "sporadic"]}
    text = str({k: v for k, v in subset.items() if k != "protocol"})
    for word in ("toxicities", "dose_limiting", "stop for safety", "prob_above_p0", "stop_counts"):
        assert word not in text, word
    assert "stop for safety" not in document and "DLTs" not in document
    plan = "looks at 5, 10, 15, 20 safety-evaluable patients, each of NF1-associated, sporadic"
    assert plan in document and plan in render.render_html(closed())  # the plan, as the docs promise, in both


def test_the_closed_report_says_its_cut_corrects_an_earlier_one_and_why_and_the_open_one_does_not():
    bundle = closed()
    bundle["cut"].update(supersedes=2, reason="four toxicities adjudicated late")
    correction = "a correction of cut 2: four toxicities adjudicated late"
    assert correction in render.render_html(bundle)
    assert "adjudicated" not in render.render_html(as_open(bundle))


def test_the_boundary_chart_draws_the_rule_and_the_observed_path():
    bundle = closed("pooled")
    assert figures.safety_units(bundle) == ["pooled"]
    assert figures.safety_path(bundle, "pooled") == [{"look": 3, "n": 42, "toxicities": 12}]
    assert figures.safety_boundary_svg(bundle, "pooled").startswith("<svg")
    assert figures.safety_boundary_svg(bundle, "sporadic") is None  # pooled: no per-stratum chart
    assert figures.safety_boundary_svg(bundles.stored(3), "pooled") is None


def test_earlier_looks_show_their_safety_decision_and_the_safety_caveats_are_listed():
    bundle = closed()
    earlier = copy.deepcopy(bundle["look"])
    earlier["look"] = 2
    bundle["history"] = [{"look": 2, "created_at": "x", "result": earlier["result"]}]
    rows = tables.history(bundle).rows
    assert rows[0][-1].endswith(" / safety: stop for safety") and rows[0][-2].endswith(" / safety: continue")
    assert tables.history(bundles.stored(3)).rows[-1][-1].count("/") == 1  # looks without safety: as before
    bundle["look"]["result"]["safety"]["warnings"] = [{"code": "stratum-sparse", "stratum": "sporadic", "message": "m"}]
    assert "stratum-sparse [sporadic]: m" in tables.warnings_and_notes(bundle)

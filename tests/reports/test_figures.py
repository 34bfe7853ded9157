"""The report's figures: one self-contained inline SVG each, drawn from the bundle and nothing else.

The example bundles are real report bundles of the SARC031-like example trial; they predate the
recorded densities and the design block, which :func:`with_additions` adds in the shapes of the
contract (a density is bin mass / bin width on equal bins, rounded to 6 significant digits).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from designs.reports import figures
from tests.reports import bundles

DATA = [Path(__file__).resolve().parent / "data"]


def load_bundle(look: int) -> dict:
    """An example report bundle of tests/reports/data."""
    for directory in DATA:
        path = directory / f"bundle_look{look}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"bundle_look{look}.json in none of {DATA}")


def binned(cdf, lower: float, upper: float, bins: int, method: str) -> dict:
    """A density as the contract stores it: bin mass / bin width, 6 significant digits."""
    edges = np.linspace(lower, upper, bins + 1)
    values = np.diff(cdf(edges)) / np.diff(edges)
    return {"lower": lower, "upper": upper, "bins": bins, "density": [float(f"{v:.6g}") for v in values], "method": method}


def boundary_rows(looks: list[int], no_go_max: list[int | None], go_min: list[int | None], conditional=None) -> list[dict]:
    rows = []
    for k, (n, lo, hi) in enumerate(zip(looks, no_go_max, go_min)):
        decisions = ["no-go" if lo is not None and y <= lo else "go" if hi is not None and y >= hi else "continue"
                     for y in range(n + 1)]
        rows.append({"look": k + 1, "analysis": k, "n": n, "final": k == len(looks) - 1, "no_go_max": lo, "go_min": hi,
                     "continue": None, "decisions": decisions, "at_boundaries": {"no_go_max": None, "go_min": None},
                     "monotone": True, "note": None,
                     "conditional_on": None if conditional is None else {conditional[0]: conditional[1][k]}})
    return rows


def with_additions(bundle: dict) -> dict:
    """The bundle with the recorded densities of contract section 2 and a design block (section 3)."""
    bundle = copy.deepcopy(bundle)
    result = bundle["look"]["result"]
    response = result["response"]
    for entry in response["strata"]:
        y, n = entry["responders"], entry["n"]
        entry["posterior_density"] = binned(stats.beta(0.5 + y, 1.5 + n - y).cdf, 0.0, 1.0, 100, "closed form")
        entry["independent_posterior"] = {"prior": {"a": 1, "b": 1}, "a": 1 + y, "b": 1 + n - y,
                                          "prior_note": "Beta(1, 1)",
                                          "density": binned(stats.beta(1 + y, 1 + n - y).cdf, 0.0, 1.0, 100, "closed form")}
    response["tau_density"] = binned(stats.halfnorm(scale=1.0).cdf, 0.0, 4.0, 80, "quadrature")
    pfs = result["pfs"]
    for entry in pfs["strata"]:
        entry["posterior"]["landmark_pfs"]["density"] = binned(stats.beta(8, 14).cdf, 0.0, 1.0, 100, "quadrature")
    pfs["between_stratum_spread"]["density"] = binned(stats.halfnorm(scale=0.8).cdf, 0.0, 3.0, 60, "quadrature")
    names = [s["name"] for s in bundle["trial"]["strata"]]
    strata = []
    for j, name in enumerate(names):
        other = names[1 - j]
        strata.append({"name": name, "coupled": True,
                       "looks": boundary_rows([7, 14, 21], [0, 2, 4], [None, 7, 5], (other, [1, 2, 4])),
                       "two_way": None, "simon": {"r1": 0, "n1": 7, "r": 2, "n": 21}})
    bundle["design"] = {"protocol_version": 1, "sha256": "0" * 64, "computed_at": "2026-11-30T19:00:00+00:00",
                        "software": {}, "operating_characteristics": {},
                        "boundaries": {"p0": 0.15, "p1": 0.35, "model": {}, "decision_rule": {}, "method": "quadrature",
                                       "conditioning": {"counts": {name: [1, 2, 4] for name in names},
                                                        "default": "expected counts under p0", "stated": []},
                                       "strata": strata, "warnings": [], "provenance": {}}}
    return bundle


STRATA = ["NF1-associated", "sporadic"]


def all_figures(bundle: dict) -> dict[str, str | None]:
    out = {"accrual": figures.accrual_svg(bundle), "tau-response": figures.tau_svg(bundle, "response"),
           "tau-pfs": figures.tau_svg(bundle, "pfs")}
    for name in STRATA:
        out[f"posterior {name}"] = figures.posterior_density_svg(bundle, name)
        out[f"boundaries {name}"] = figures.boundary_chart_svg(bundle, name)
        out[f"kaplan-meier {name}"] = figures.kaplan_meier_svg(bundle, name)
        out[f"landmark {name}"] = figures.landmark_posterior_svg(bundle, name)
    return out


@pytest.fixture(scope="module")
def full_figures() -> dict[str, str | None]:
    return all_figures(with_additions(load_bundle(3)))


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <title> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title and data.strip():
            self.titles.append(data.strip())


def parse(svg: str) -> _Elements:
    parser = _Elements()
    parser.feed(svg)
    return parser


NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_every_figure_is_one_inline_svg_with_role_img_and_a_title(full_figures):
    for key, svg in full_figures.items():
        assert svg is not None, key
        assert svg.startswith("<svg ") and svg.endswith("</svg>"), key
        assert svg.count("<svg") == 1, key
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<!--" not in svg, key
        elements = parse(svg)
        root = elements.tags[0]
        assert root[0] == "svg" and root[1]["role"] == "img", key
        assert elements.tags[1][0] == "title" and elements.titles, key
        assert root[1]["aria-labelledby"] == elements.tags[1][1]["id"], key


def test_figures_reference_nothing_outside_themselves(full_figures):
    """No script, no link out: the only URLs are the SVG and XLink namespaces, every href is "#..."."""
    for key, svg in full_figures.items():
        assert set(re.findall(r"https?://[^\"'\s)]*", svg)) <= NAMESPACES, key
        for tag, attrs in parse(svg).tags:
            assert tag not in {"script", "foreignobject", "image", "a"}, (key, tag)
            assert not any(name.startswith("on") for name in attrs), (key, tag)
            for name in ("href", "xlink:href"):
                assert attrs.get(name) is None or attrs[name].startswith("#"), (key, attrs[name])
        for target in re.findall(r"url\(([^)]*)\)", svg):
            assert target.startswith("#"), (key, target)


def test_ids_are_unique_across_all_figures_of_a_bundle_and_every_reference_resolves(full_figures):
    ids: list[str] = []
    for svg in full_figures.values():
        ids += re.findall(r'\bid="([^"]+)"', svg)
    assert len(ids) == len(set(ids))
    for key, svg in full_figures.items():
        own = set(re.findall(r'\bid="([^"]+)"', svg))
        references = set(re.findall(r'href="#([^"]+)"', svg)) | set(re.findall(r"url\(#([^)]+)\)", svg))
        assert references and references <= own, key


def test_same_bundle_gives_the_same_bytes(full_figures):
    again = all_figures(with_additions(load_bundle(3)))
    assert again == full_figures


def test_same_bundle_gives_the_same_bytes_in_another_process(tmp_path):
    """matplotlib draws fresh ids from a random salt unless one is set: compare across processes."""
    bundle = with_additions(load_bundle(2))
    (tmp_path / "bundle.json").write_text(json.dumps(bundle), encoding="utf-8")
    script = ("import json, sys; from designs.reports import figures; "
              "b = json.load(open(sys.argv[1])); "
              "sys.stdout.write(figures.accrual_svg(b) + figures.kaplan_meier_svg(b, 'sporadic'))")
    other = subprocess.run([sys.executable, "-c", script, str(tmp_path / "bundle.json")], capture_output=True,
                           encoding="utf-8", env={**os.environ, "PYTHONIOENCODING": "utf-8"}, check=True,
                           cwd=Path(__file__).resolve().parents[2]).stdout
    assert other == figures.accrual_svg(bundle) + figures.kaplan_meier_svg(bundle, "sporadic")


def test_figures_are_none_where_the_bundle_has_no_data_for_them():
    """A look stored before the densities and the design block; an open bundle holds no efficacy."""
    bundle = bundles.older(load_bundle(3))
    assert figures.tau_svg(bundle, "response") is None and figures.tau_svg(bundle, "pfs") is None
    for name in STRATA:
        assert figures.posterior_density_svg(bundle, name) is None
        assert figures.boundary_chart_svg(bundle, name) is None
        assert figures.landmark_posterior_svg(bundle, name) is None
        assert figures.kaplan_meier_svg(bundle, name) is not None
        assert figures.kaplan_meier_svg(bundle, "no such stratum") is None
    closed = load_bundle(2)
    opened = {**closed, "report": "open", "design": None,
              "look": {**closed["look"], "result": {k: closed["look"]["result"][k] for k in
                                                    ("trial", "look", "protocol_version", "data_cut",
                                                     "amendments_since_previous_look", "accrual", "run")}},
              "cut": {**closed["cut"], "patients": [{k: p[k] for k in ("id", "stratum", "enrolled_on")}
                                                    for p in closed["cut"]["patients"]]}}
    assert figures.accrual_svg(opened) is not None
    for name in STRATA:
        for figure in (figures.posterior_density_svg, figures.boundary_chart_svg, figures.kaplan_meier_svg,
                       figures.landmark_posterior_svg):
            assert figure(opened, name) is None
    assert figures.tau_svg(opened, "response") is None and figures.tau_svg(opened, "pfs") is None


def test_tau_svg_rejects_an_unknown_endpoint():
    with pytest.raises(ValueError, match="endpoint"):
        figures.tau_svg(load_bundle(3), "os")


@pytest.mark.parametrize("look", [1, 2, 3])
def test_numbers_at_risk_under_the_km_axis_equal_counts_of_the_cut_patients(look):
    """At risk at t = patients of the stratum with PFS time ≥ t, counted from the cut's patients."""
    bundle = load_bundle(look)
    for name in STRATA:
        curve = next(s for s in bundle["look"]["result"]["pfs"]["strata"] if s["name"] == name)["kaplan_meier"]["curve"]
        times = [p["pfs"]["time_months"] for p in bundle["cut"]["patients"] if p["stratum"] == name and p["pfs"]]
        grid = [*np.arange(0, 14, 0.5), *curve["times"], max(times) + 1]
        assert figures.numbers_at_risk(curve, grid) == [sum(time >= t for time in times) for t in grid]


def test_kaplan_meier_steps_start_at_one_and_follow_the_stored_curve():
    curve = load_bundle(3)["look"]["result"]["pfs"]["strata"][0]["kaplan_meier"]["curve"]
    steps = figures.kaplan_meier_steps(curve)
    assert steps["times"][0] == 0 and steps["survival"][0] == 1 and steps["lower"][0] == 1 == steps["upper"][0]
    assert steps["survival"][1:].tolist() == curve["survival"] and steps["times"][1:].tolist() == curve["times"]


def test_accrual_series_counts_each_stratum_enrolment_dates():
    bundle = load_bundle(2)
    series = figures.accrual_series(bundle)
    assert list(series) == STRATA
    for name, points in series.items():
        dates = sorted(p["enrolled_on"] for p in bundle["cut"]["patients"] if p["stratum"] == name)
        assert [d.isoformat() for d, _ in points] == dates
        assert [k for _, k in points] == list(range(1, len(dates) + 1))
        assert points[-1][1] == bundle["look"]["result"]["accrual"][name]["enrolled"]


def test_observed_path_joins_every_earlier_look_and_this_one():
    """Look 1 at n = 8 (off schedule), look 2 and look 3: the (n, responders) each look stored, each
    flagged off schedule when its n is not one of the planned looks 7, 14, 21."""
    bundle = load_bundle(3)
    for name in STRATA:
        path = figures.observed_path(bundle, name)
        looks = [*bundle["history"], bundle["look"]]
        expected = [{"look": look["look"], **{k: s[k] for k in ("n", "responders")}, "off_schedule": s["n"] not in (7, 14, 21)}
                    for look in looks for s in look["result"]["response"]["strata"] if s["name"] == name]
        assert path == expected and [p["look"] for p in path] == [1, 2, 3]


def test_off_schedule_points_are_flagged_hollow_and_labelled_with_their_n():
    """Look 3's history: NF1-associated at n = 8, 15, 21 and sporadic at n = 7, 16, 21 against planned
    looks 7, 14, 21; the chart labels an off-schedule point with its n ("look 2" over "n = 16")."""
    bundle = with_additions(load_bundle(3))
    flags = {name: [(p["n"], p["off_schedule"]) for p in figures.observed_path(bundle, name)] for name in STRATA}
    assert flags == {"NF1-associated": [(8, True), (15, True), (21, False)],
                     "sporadic": [(7, False), (16, True), (21, False)]}
    svg = figures.boundary_chart_svg(bundle, "sporadic")
    assert "n = 16" in svg and "n = 7<" not in svg and "observed off schedule" in svg
    planned = copy.deepcopy(bundle)
    planned["protocol"]["protocol"]["response"]["strata"][1]["looks"] = [7, 16, 21]
    assert [p["off_schedule"] for p in figures.observed_path(planned, "sporadic")] == [False, False, False]


def test_next_look_mark_is_drawn_from_boundaries_next():
    """Look 2: sporadic 3 of 16, boundaries_next no-go ≤ 5 / go ≥ 6 at look 3 (n = 21), the numbers of
    the "What it takes" sentence, not the design's ≤ 6 / ≥ 7 under NF1's expected counts."""
    bundle = with_additions(load_bundle(2))
    assert figures.next_look_boundaries(bundle, "sporadic") == [{"look": 3, "n": 21, "no_go_max": 5, "go_min": 6}]
    svg = figures.boundary_chart_svg(bundle, "sporadic")
    assert "given the data now: no-go at ≤ 5, go at ≥ 6" in parse(svg).titles[0]
    changed = copy.deepcopy(bundle)
    row = changed["look"]["result"]["response"]["boundaries_next"][1]
    row["no_go_max"], row["go_min"] = 4, 8
    assert figures.next_look_boundaries(changed, "sporadic") == [{"look": 3, "n": 21, "no_go_max": 4, "go_min": 8}]
    assert figures.boundary_chart_svg(changed, "sporadic") != svg
    assert figures.boundary_chart_svg(changed, "NF1-associated") == figures.boundary_chart_svg(bundle, "NF1-associated")


def test_next_look_mark_is_absent_after_the_final_look_and_in_looks_without_it():
    final = with_additions(load_bundle(3))  # n = 21 of 21: next_n None
    assert [figures.next_look_boundaries(final, name) for name in STRATA] == [[], []]
    older = with_additions(load_bundle(2))
    del older["look"]["result"]["response"]["boundaries_next"]
    assert figures.next_look_boundaries(older, "sporadic") == []
    assert "given the data now" not in figures.boundary_chart_svg(older, "sporadic")


def test_observed_path_points_are_drawn_in_the_boundary_chart():
    """The chart of a bundle whose path differs only in one look's responders differs in its bytes."""
    bundle = with_additions(load_bundle(3))
    changed = copy.deepcopy(bundle)
    changed["history"][0]["result"]["response"]["strata"][0]["responders"] += 1
    assert figures.boundary_chart_svg(bundle, STRATA[0]) != figures.boundary_chart_svg(changed, STRATA[0])
    assert figures.boundary_chart_svg(bundle, STRATA[1]) == figures.boundary_chart_svg(changed, STRATA[1])


def test_boundary_chart_heading_says_coupled_boundaries_assume_the_expected_count_under_p0(full_figures):
    """The design's default conditioning is an assumption, never written as if it were observed data."""
    title = parse(full_figures["boundaries NF1-associated"]).titles[0]
    assert ("design boundaries if sporadic has its expected count under p0 (1, 2, 4 responders at n = 7, 14, 21)"
            in title) and "conditional on" not in title
    heading = figures.boundary_heading(STRATA[0], with_additions(load_bundle(3))["design"]["boundaries"]["strata"][0]["looks"],
                                       stated=[])
    assert "expected count under p0" in heading.replace("\n", " ")
    unsaid = figures.boundary_heading(STRATA[0], with_additions(load_bundle(3))["design"]["boundaries"]["strata"][0]["looks"])
    assert "design boundaries if sporadic has 1, 2, 4 responders at n = 7, 14, 21" in unsaid.replace("\n", " ")


def test_boundary_chart_heading_says_stated_when_the_design_stated_the_other_count():
    bundle = with_additions(load_bundle(3))
    bundle["design"]["boundaries"]["conditioning"]["stated"] = ["sporadic"]
    title = parse(figures.boundary_chart_svg(bundle, STRATA[0])).titles[0]
    assert "design boundaries if sporadic has its stated count (1, 2, 4 responders" in title
    assert "expected count" not in title


def test_decision_runs_show_a_rule_that_is_not_monotone_as_two_runs():
    assert figures.decision_runs(["no-go", "no-go", "continue", "go"]) == [("no-go", 0, 1), ("continue", 2, 2), ("go", 3, 3)]
    assert figures.decision_runs(["no-go", "continue", "no-go", "go"]) == [
        ("no-go", 0, 0), ("continue", 1, 1), ("no-go", 2, 2), ("go", 3, 3)]


def test_density_steps_are_the_stored_bins():
    density = binned(stats.beta(2, 5).cdf, 0.0, 1.0, 100, "closed form")
    edges, values = figures.density_steps(density)
    assert edges[0] == 0 and edges[-1] == 1 and edges.size == 101 and values.tolist() == density["density"]
    with pytest.raises(ValueError, match="100 bins holds 99"):
        figures.density_steps({**density, "density": density["density"][:-1]})


def test_boundary_chart_heading_says_where_a_rule_is_not_monotone():
    bundle = with_additions(load_bundle(3))
    rows = bundle["design"]["boundaries"]["strata"][0]["looks"]
    rows[1]["decisions"][1:4] = ["continue", "no-go", "continue"]
    rows[1]["monotone"] = False
    heading = figures.boundary_heading(STRATA[0], rows, stated=[])
    assert heading.splitlines() == [f"{STRATA[0]}: boundaries by look", "design boundaries if sporadic has its",
                                    "expected count under p0 (1, 2, 4", "responders at n = 7, 14, 21)",
                                    "not monotone at look 2"]
    assert figures.boundary_chart_svg(bundle, STRATA[0]) != figures.boundary_chart_svg(
        with_additions(load_bundle(3)), STRATA[0])


def test_accrual_draws_a_stratum_without_patients_and_a_one_day_accrual():
    bundle = load_bundle(1)
    first = bundle["cut"]["patients"][0]
    bundle["cut"]["patients"] = [{**first, "enrolled_on": bundle["cut"]["cutoff_date"]}]
    bundle["history"] = []
    assert figures.accrual_series(bundle)["sporadic"] == []
    assert figures.accrual_svg(bundle).startswith("<svg ")


def test_names_are_drawn_literally_and_escaped_in_the_title():
    """A stratum named like TeX or markup is drawn as written (no mathtext) and escaped in <title>."""
    bundle = load_bundle(3)
    name = "$\\frac{a}{b$ <script>&"
    bundle["trial"]["strata"][0]["name"] = name
    bundle["look"]["result"]["pfs"]["strata"][0]["name"] = name
    for patient in bundle["cut"]["patients"]:
        if patient["stratum"] == STRATA[0]:
            patient["stratum"] = name
    svg = figures.kaplan_meier_svg(bundle, name)
    assert "<script>" not in svg and "$\\frac{a}{b$ &lt;script&gt;&amp;: Kaplan" in svg
    assert parse(svg).titles[0].startswith(name)
    assert figures.accrual_svg(bundle).startswith("<svg ")


def test_edge_cases_draw_without_warnings():
    """One follow-up time at 0; a density without a recorded interval; an interval outside its range."""
    bundle = with_additions(load_bundle(3))
    pfs = bundle["look"]["result"]["pfs"]["strata"][0]
    pfs["kaplan_meier"]["curve"] = {"times": [0.0], "survival": [0.0], "at_risk": [3], "events": [3], "censored": [0],
                                    "ci95_lower": [0.0], "ci95_upper": [0.0]}
    assert figures.kaplan_meier_svg(bundle, STRATA[0]).startswith("<svg ")
    assert figures.numbers_at_risk(pfs["kaplan_meier"]["curve"], [0.0, 1.0]) == [3, 0]
    response = bundle["look"]["result"]["response"]["strata"]
    response[0]["ci95"], response[1]["ci95"] = None, [1.5, 2.0]
    assert all(figures.posterior_density_svg(bundle, name).startswith("<svg ") for name in STRATA)


def test_figures_carry_no_stylesheet_and_weasyprint_reads_them_without_a_warning(full_figures, caplog):
    """A <style> inlined in HTML styles the whole page, and WeasyPrint reads every style attribute of the
    page as HTML CSS, warning once per SVG property: the figures hold presentation attributes instead."""
    for key, svg in full_figures.items():
        assert not any(tag == "style" or "style" in attrs for tag, attrs in parse(svg).tags), key
    from weasyprint import HTML

    with caplog.at_level("WARNING", logger="weasyprint"):
        pdf = HTML(string=f"<html><body>{full_figures['kaplan-meier sporadic']}</body></html>").write_pdf()
    assert pdf.startswith(b"%PDF") and not caplog.records


def test_figures_do_not_depend_on_prefixes_other_libraries_register_with_elementtree(monkeypatch):
    """Importing WeasyPrint once changed ElementTree's global namespace map, and the figures with it
    (<ns0:svg>, which an HTML page does not draw)."""
    from xml.etree import ElementTree

    bundle = load_bundle(3)
    before = figures.kaplan_meier_svg(bundle, STRATA[1])
    monkeypatch.setitem(ElementTree._namespace_map, "http://www.w3.org/2000/svg", "ns0")
    monkeypatch.setitem(ElementTree._namespace_map, "http://www.w3.org/1999/xlink", "ns1")
    after = figures.kaplan_meier_svg(bundle, STRATA[1])
    assert after == before and after.startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
    assert "xlink:href=" in after and "ns0" not in after and "ns1" not in after

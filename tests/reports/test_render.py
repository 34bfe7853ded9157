"""The report of a look: sections in the issue's order, an open report that shows no efficacy,
escaping, self-containment, determinism, and the PDF's pages and text (issue 12)."""

from __future__ import annotations

import builtins
import copy
import functools
import html.parser
import io
import math
import re
import socket

import pypdf
import pytest

from designs.reports import render, tables
from tests.reports import bundles

CLOSED_ORDER = ["cover", "recommendation", "accrual", "response", "pfs", "spread", "operating-characteristics",
                "history", "appendix"]
OPEN_ORDER = ["cover", "accrual", "data-quality", "history", "appendix"]
SVG_NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://purl.org/dc/elements/1.1/",
                  "http://creativecommons.org/ns#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")


class Parsed(html.parser.HTMLParser):
    """Section ids in order, every tag with its attributes, the text of <style> elements."""

    def __init__(self, document: str):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(document)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section":
            self.sections.append(attributes.get("id"))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


def closed(look: int = 3) -> dict:
    return bundles.with_next_look(bundles.with_design(bundles.stored(look)))


@functools.cache
def closed_html() -> str:
    """The closed report of look 3 (with design and next-look sentences), rendered once for the tests that read it."""
    return render.render_html(closed())


@functools.cache
def open_html() -> str:
    return render.render_html(as_open(closed()))


def as_open(bundle: dict) -> dict:
    bundle = copy.deepcopy(bundle)
    bundle["report"] = "open"
    return bundle


def poison_efficacy(bundle: dict) -> dict:
    """``bundle`` with every efficacy field replaced by a marker: what an open report must never read."""
    bundle = copy.deepcopy(bundle)
    for result in [bundle["look"]["result"], *(h["result"] for h in bundle["history"])]:
        for key in ("response", "pfs", "decisions", "warnings", "notes", "provenance"):
            result[key] = "LEAK-" + key
        for counts in result["accrual"].values():
            counts["pfs_events"] = "LEAK-events"
    for patient in bundle["cut"]["patients"]:
        patient["response"], patient["pfs"] = "LEAK-response", "LEAK-pfs"
    bundle["design"] = "LEAK-design"
    bundle["look"]["seed"] = "LEAK-seed"
    return bundle


# --------------------------------------------------------------------------------------------------
# Structure


@pytest.mark.parametrize("look", [1, 2, 3])
def test_closed_report_has_the_issues_nine_sections_in_order(look):
    assert Parsed(closed_html() if look == 3 else render.render_html(closed(look))).sections == CLOSED_ORDER


def test_open_report_has_cover_accrual_data_quality_history_appendix_in_order():
    assert Parsed(open_html()).sections == OPEN_ORDER


def test_closed_and_open_reports_carry_their_confidentiality_banner():
    assert render.CLOSED_BANNER in closed_html()
    assert render.OPEN_BANNER in open_html() and "CLOSED" not in open_html()


# --------------------------------------------------------------------------------------------------
# The open report reveals no efficacy


def test_open_report_reads_no_efficacy_field():
    """An open report rendered from a closed bundle is the same byte for byte when every efficacy field
    is replaced by a marker: it never reads them."""
    document = open_html()
    assert render.render_html(poison_efficacy(as_open(closed()))) == document
    assert "LEAK" not in document


def test_open_report_of_an_open_bundle_is_that_of_the_closed_bundle():
    """The repository's open bundles (open views of the looks, no design) give the same report."""
    assert render.render_html(render.open_subset(as_open(closed()))) == open_html()


def test_open_report_from_closed_bundle_shows_no_responders_decisions_posteriors_or_probabilities():
    bundle = closed()
    text = " ".join(Parsed(open_html()).text)
    for word in ("responder", "posterior", "Posterior", "no-go", "decision", "Decision", "P(p", "P(S", "PPoS", "τ",
                 "promising", "Events", "credible"):
        assert word not in text, word
    assert not re.search(r"\bgo\b", text)
    for s in bundle["look"]["result"]["response"]["strata"]:
        assert s["decision_criterion"]["text"] not in text
        for value in (s["posterior_mean"], s["prob_above_p0"], s["prob_above_p1"]):
            assert tables.num(value) not in text and tables.prob(value) not in text


# --------------------------------------------------------------------------------------------------
# Safety of the document


def test_trial_title_and_criterion_with_markup_come_out_escaped():
    document = render.render_html(bundles.hostile_title(closed()))
    assert "<script>" not in document and "<img src=x" not in document
    assert "&lt;script&gt;alert(" in document and "&lt;img src=x onerror=alert(1)&gt;" in document
    assert not any(tag in ("script", "img") for tag, _ in Parsed(document).tags)


@pytest.mark.parametrize("report", ["closed", "open"])
def test_html_is_self_contained(report):
    """No script, link, frame or object; no URL outside SVG namespace declarations; no url() or @import."""
    document = closed_html() if report == "closed" else open_html()
    parsed = Parsed(document)
    for tag, attributes in parsed.tags:
        assert tag not in ("script", "link", "iframe", "frame", "object", "embed", "base"), tag
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name)
            if value and re.search(r"(?i)(https?:|//|file:|data:)", value):
                assert tag == "svg" or name.startswith("xmlns"), (tag, name, value)
                assert value in SVG_NAMESPACES, value
    style = " ".join(parsed.styles)
    assert "url(" not in style and "@import" not in style
    outside = re.sub("|".join(re.escape(ns) for ns in SVG_NAMESPACES), "", document)
    assert not re.search(r"(?i)https?://", outside)


def test_html_is_byte_for_byte_the_same_for_the_same_bundle():
    assert render.render_html(closed()) == closed_html()
    assert render.render_html(as_open(closed())) == open_html()


# --------------------------------------------------------------------------------------------------
# Content: every number from the stored look, missing pieces as sentences


def test_response_table_shows_the_stored_posterior_summaries():
    bundle = closed()
    rows = {row[0]: row for row in tables.response_table(bundle).rows}
    for s in bundle["look"]["result"]["response"]["strata"]:
        assert rows[s["name"]][1:8] == [str(s["n"]), str(s["responders"]), tables.num(s["posterior_mean"]),
                                        tables.interval(s["ci95"]), tables.prob(s["prob_above_p0"]),
                                        tables.prob(s["prob_above_p1"]),
                                        "– (final)" if s["n"] >= s["n_planned"]
                                        else tables.prob(s["predictive_probability_of_success"])]
    interim = {row[0]: row for row in tables.response_table(bundles.stored(2)).rows}
    assert interim["sporadic"][7] == "0.088"  # 3 of 16: the predictive probability of success at an interim


def test_recommendation_pairs_each_strata_bayesian_decision_with_simon_and_pfs():
    bundle = closed()
    rows = {row[0]: row for row in tables.recommendation(bundle).rows}
    result = bundle["look"]["result"]
    for r, p in zip(result["response"]["strata"], result["pfs"]["strata"], strict=True):
        row = rows[r["name"]]
        assert row[1] == r["decision"] and row[2] == r["decision_criterion"]["text"]
        assert row[3] == r["simon"]["text"] and row[4] == p["decision"]  # Simon's sentence, not its status code
    assert len(tables.recommendation(bundle).columns) == 6  # no safety column: the look has no safety section
    assert tables.recommendation(bundles.with_safety(bundle)).rows[1][-1] == "stop for safety"


def test_oc_table_type_i_error_and_power_are_the_stored_global_null_and_alternative():
    bundle = closed()
    summary = tables.operating_characteristics(bundle)[0]
    scenarios = {s["name"]: {r["name"]: r for r in s["strata"]} for s in bundle["design"]["operating_characteristics"]["scenarios"]}
    for row in summary.rows:
        assert row[1] == tables.prob(scenarios["global null"][row[0]]["prob_go"])
        assert row[2] == tables.prob(scenarios["global alternative"][row[0]]["prob_go"])


def test_what_it_takes_sentences_come_from_boundaries_next():
    document = closed_html()
    assert "NF1-associated needs 3 more responders among the next 7 to avoid no-go at look 3 (n = 21)" in document
    assert "not recorded by this look" in render.render_html(bundles.older(bundles.stored(3)))


def test_mcmc_look_shows_monte_carlo_errors_and_exnex_membership():
    bundle = bundles.exnex(bundles.mcmc(closed()))
    table = tables.response_table(bundle)
    assert table.columns[-1].startswith("MCSE") and table.rows[0][-1] == "0.0012, 0.0021, 0.0034, 0.0045"
    assert "MCSE" not in " ".join(tables.response_table(closed()).columns)
    assert "NF1-associated 0.812; sporadic 0.646" in " ".join(tables.spread(bundle).notes)


@pytest.mark.parametrize("variant", ["first look, no design", "no PFS plan", "no analyses", "not finite"])
def test_missing_pieces_give_sentences_not_errors(variant):
    bundle = bundles.older(bundles.stored(1))
    if variant == "no PFS plan":
        bundle = bundles.without_pfs(bundle)
    elif variant == "no analyses":  # only what every stored look records (designs.registry.look.CONTEXT_FIELDS)
        result = bundle["look"]["result"]
        bundle["look"]["result"] = {k: result[k] for k in ("trial", "look", "protocol_version", "data_cut",
                                                            "amendments_since_previous_look", "accrual", "run")}
        bundle["history"] = []
    elif variant == "not finite":
        bundle["look"]["result"]["response"]["strata"][0]["posterior_mean"] = math.nan
        bundle["look"]["result"]["response"]["strata"][0]["prob_above_p0"] = math.inf
    document = render.render_html(bundle)
    assert Parsed(document).sections == CLOSED_ORDER
    assert not re.search(r"\b(nan|inf|None)\b", " ".join(Parsed(document).text))
    if variant == "first look, no design":
        assert "are not stored with this report" in document and "first look" in document
    if variant == "no PFS plan":
        assert "no PFS analysis" in document


@pytest.mark.parametrize(("value", "shown"), [(0.9994, ">0.999"), (0.0004, "<0.001"), (1.0, "1"), (0.0, "0"),
                                              (0.5, "0.500"), (math.nan, "–"), (None, "–"), (True, "–")])
def test_probabilities_three_decimals_clamped_at_the_ends_never_nan(value, shown):
    assert tables.prob(value) == shown


# --------------------------------------------------------------------------------------------------
# PDF


@pytest.fixture(scope="module")
def pdf_text_and_pages():
    bundle = closed()
    reader = pypdf.PdfReader(io.BytesIO(render.html_to_pdf(closed_html())))
    return bundle, "".join(page.extract_text() for page in reader.pages), len(reader.pages)


def test_pdf_has_a_page_per_section_at_least(pdf_text_and_pages):
    _, _, pages = pdf_text_and_pages
    assert pages >= len(CLOSED_ORDER)


def test_pdf_text_holds_each_strata_decision_and_the_data_cut_hash(pdf_text_and_pages):
    bundle, text, _ = pdf_text_and_pages
    squeezed = re.sub(r"\s+", "", text)
    assert bundle["cut"]["sha256"] in squeezed
    for s in bundle["look"]["result"]["response"]["strata"]:
        assert re.sub(r"\s+", "", s["decision_criterion"]["text"]) in squeezed
    assert render.CLOSED_BANNER in text


def test_pdf_printing_fetches_nothing_even_when_the_html_asks():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        pdf = render.html_to_pdf(f'<html><body><p>text</p><img src="http://127.0.0.1:{port}/x.png">'
                                 f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css"></body></html>')
        with pytest.raises(BlockingIOError):
            server.accept()
    assert pdf.startswith(b"%PDF")


def test_pdf_without_pango_raises_the_fix(monkeypatch):
    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(render.PdfUnavailableError, match="apt-get install libpango-1.0-0 libpangoft2-1.0-0"):
        render.html_to_pdf("<html></html>")
    with pytest.raises(render.PdfUnavailableError):
        render.render_pdf(bundles.stored(1))


def test_next_look_sentences_say_how_they_differ_from_the_design_table_when_the_model_borrows():
    lines = tables.what_it_takes(bundles.stored(2))  # hierarchical: the sentences condition on the data now
    assert lines[0].startswith("NF1-associated needs 2 more responders among the next 6")
    assert "expected under p0" in lines[-1]


def test_open_report_counts_the_patients_the_cut_left_out_without_naming_them_or_why():
    bundle = closed()
    bundle["cut"]["excluded"] = [{"id": "S-0042", "reason": "EFFFL = 'N', not 'Y': outside the population"}]
    closed_document, open_document = render.render_html(bundle), render.render_html(as_open(bundle))
    assert "S-0042" in closed_document and "EFFFL" in closed_document
    assert "excluded 1 patient of the datasets" in open_document
    assert "S-0042" not in open_document and "EFFFL" not in open_document
    assert "excluded no patient" not in open_document


def test_open_report_gives_the_hash_of_the_open_view_not_of_the_closed_result():
    from designs.core.provenance import input_hash
    from designs.registry.look import open_view

    bundle = closed()
    document = render.render_html(as_open(bundle))
    assert bundle["look"]["sha256"] not in document  # would let a sponsor confirm a guessed closed result
    assert input_hash(open_view(bundle["look"]["result"])) in document and "(its open view)" in document


def test_design_boundary_table_in_the_report_is_the_designs_own():
    """The independent-prior design of the example: no-go ≤ 0, 2, 6 and go ≥ 5, 7, 7 at n = 7, 14, 21
    (checked against brute force in tests/boundaries); the report prints these rows."""
    rows = tables.boundaries(closed()).rows
    assert [(r[0], r[2], r[3], r[5]) for r in rows if r[0] == "sporadic"] == [
        ("sporadic", "7", "≤ 0", "≥ 5"), ("sporadic", "14", "≤ 2", "≥ 7"), ("sporadic", "21", "≤ 6", "≥ 7")]

"""The report of a look: the bundle it renders (contract: closed and open), the route's content
negotiation (HTML by default, PDF, 406 otherwise), who reads which view, its ETag and headers, 503
when PDF rendering is unavailable, and ``gonogo report`` writing the file."""

from __future__ import annotations

import re
import sys
import types

import pytest

from designs.core.provenance import software_versions
from designs.registry.look import OPEN_ACCRUAL_FIELDS
from service.cli import build_parser
from service.cli import report as cli
from service.registry import repository
from tests.registry.conftest import TRIAL

REPORT = f"/v1/trials/{TRIAL}/looks/1/report"
BUNDLE_KEYS = {"report", "generated", "trial", "look", "protocol", "cut", "history", "design"}


def _two_looks(registry, protocol, cut):
    registry.populate(protocol, cut)
    response = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/looks", json={"data_cut": 1})
    assert response.status_code == 201, response.text


def test_closed_bundle_holds_the_look_as_stored_its_protocol_cut_history_and_design(registry, protocol, cut):
    _two_looks(registry, protocol, cut)
    bundle = repository.report_bundle(registry.engine, TRIAL, 2, closed=True, actor="dmc")
    assert set(bundle) == BUNDLE_KEYS and bundle["report"] == "closed"
    stored = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/2").json()
    assert bundle["look"] == stored
    assert bundle["generated"]["by"] == "dmc" and bundle["generated"]["software"]["gonogo"]
    assert bundle["trial"] == {"id": TRIAL, "title": protocol["title"],
                               "strata": [{"name": s["name"], "description": s["description"]} for s in protocol["strata"]]}
    assert bundle["protocol"]["version"] == 1 and bundle["protocol"]["protocol"]["id"] == TRIAL
    assert "etag" not in bundle["protocol"]
    assert bundle["cut"]["number"] == 1 and len(bundle["cut"]["patients"]) == len(cut["patients"])
    assert bundle["cut"]["sha256"] == stored["result"]["data_cut"]["sha256"]
    assert [h["look"] for h in bundle["history"]] == [1]
    assert bundle["history"][0]["result"]["decisions"]  # closed: the earlier look whole
    design = bundle["design"]
    assert design["protocol_version"] == 1 and len(design["sha256"]) == 64
    assert design["operating_characteristics"]["scenarios"][0]["name"] == "global null"
    assert set(design) >= {"protocol_version", "sha256", "computed_at", "software", "operating_characteristics",
                           "boundaries"}


def test_open_bundle_shows_accrual_and_data_quality_only(registry, protocol, cut):
    _two_looks(registry, protocol, cut)
    bundle = repository.report_bundle(registry.engine, TRIAL, 2, closed=False, actor="sponsor")
    assert set(bundle) == BUNDLE_KEYS and bundle["report"] == "open" and bundle["design"] is None
    for result in (bundle["look"]["result"], bundle["history"][0]["result"]):
        assert set(result) == {"trial", "look", "protocol_version", "data_cut", "amendments_since_previous_look",
                               "accrual", "run"}
        assert all(set(counts) == set(OPEN_ACCRUAL_FIELDS) for counts in result["accrual"].values())
    assert all(set(p) == {"id", "stratum", "enrolled_on"} for p in bundle["cut"]["patients"])
    assert "reason" not in bundle["cut"] and "excluded" not in bundle["cut"]
    text = str({k: v for k, v in bundle.items() if k != "protocol"})  # the protocol is the plan, not data
    for efficacy in ("responder", "posterior", "decision", "prob_above", "'pfs'", "event", "time_months",
                     "operating_characteristics"):
        assert efficacy not in text, efficacy


@pytest.mark.parametrize(("accept", "fmt"), [
    (None, "html"), ("*/*", "html"), ("text/*", "html"), ("text/html", "html"), ("application/pdf", "pdf"),
    ("application/*", "pdf"), ("text/html;q=0.5, application/pdf", "pdf"), ("application/pdf;q=0, */*", "html"),
])
def test_accept_chooses_html_or_pdf(accept, fmt):
    from service.api.trials import report_format

    assert report_format(accept) == fmt


@pytest.mark.parametrize("accept", ["application/json", "text/plain", "text/html;q=0, application/pdf;q=0",
                                    "*/*;q=0"])
def test_accept_admitting_neither_is_406_naming_the_types_offered(registry, protocol, cut, accept):
    registry.populate(protocol, cut)
    response = registry.request("dmc", "GET", REPORT, headers={"Accept": accept})
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["offered"] == ["text/html", "application/pdf"] and "text/html" in problem["detail"]


def test_html_and_pdf_reports_with_their_headers(registry, protocol, cut):
    registry.populate(protocol, cut)
    html = registry.request("statistician", "GET", REPORT)
    assert html.status_code == 200, html.text
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-disposition"] == f'inline; filename="{TRIAL}-look-1-closed.html"'
    assert html.headers["cache-control"].startswith("private")
    assert html.text.lstrip().lower().startswith("<!doctype html")
    pdf = registry.request("dmc", "GET", REPORT, headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"] == f'inline; filename="{TRIAL}-look-1-closed.pdf"'


def test_etag_names_the_look_design_view_and_format_and_if_none_match_is_304(registry, protocol, cut):
    registry.populate(protocol, cut)
    look = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/1").json()
    design = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1/design").json()
    tag = registry.request("dmc", "GET", REPORT).headers["etag"]
    version = software_versions()["gonogo"]
    assert tag == f'W/"{look["sha256"][:16]}-{design["sha256"][:16]}-closed-html-{version}"'  # weak: the cover names the reader
    assert registry.request("statistician", "GET", REPORT).headers["etag"] == tag  # same content, same tag
    tags = {tag, registry.request("dmc", "GET", REPORT, headers={"Accept": "application/pdf"}).headers["etag"],
            registry.request("dmc", "GET", REPORT, params={"view": "open"}).headers["etag"]}
    assert len(tags) == 3
    again = registry.request("dmc", "GET", REPORT, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    strong = registry.request("dmc", "GET", REPORT, headers={"If-None-Match": tag.removeprefix("W/")})
    assert strong.status_code == 304  # If-None-Match compares weakly (RFC 9110 13.1.2)


def test_who_reads_which_report(registry, protocol, cut):
    registry.populate(protocol, cut)
    disposition = "content-disposition"
    sponsor = registry.request("sponsor", "GET", REPORT)
    assert sponsor.status_code == 200 and sponsor.headers[disposition].endswith('-open.html"')
    assert registry.request("sponsor", "GET", REPORT, params={"view": "open"}).status_code == 200
    refused = registry.request("sponsor", "GET", REPORT, params={"view": "closed"})
    assert refused.status_code == 403 and refused.json()["status"] == 403 and "open" in refused.json()["detail"]
    assert registry.request("dmc", "GET", REPORT).headers[disposition].endswith('-closed.html"')
    assert registry.request("dmc", "GET", REPORT, params={"view": "open"}).headers[disposition].endswith('-open.html"')
    assert registry.request("dmc", "GET", REPORT, params={"view": "secret"}).status_code == 422
    assert registry.request("admin", "GET", REPORT).status_code == 403
    assert registry.request("other-statistician", "GET", REPORT).status_code == 403
    assert registry.request("every-trial-statistician", "GET", "/v1/trials/no-such-trial/looks/1/report").status_code == 404
    assert registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/9/report").status_code == 404
    assert registry.request(None, "GET", REPORT).status_code == 401


def visible_text(html: str) -> str:
    """What a reader sees of an HTML document: without its style sheet and tags, lower case."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S)).lower()


def test_open_report_shows_no_efficacy(registry, protocol, cut):
    registry.populate(protocol, cut)
    opened = visible_text(registry.request("sponsor", "GET", REPORT).text)
    closed = visible_text(registry.request("dmc", "GET", REPORT).text)
    decision = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/1").json()["result"]["decisions"][0]
    assert decision["response"]["decision"] in closed  # the closed report shows what the open one must not
    for efficacy in ("posterior", "no-go", "credible", "p(p &gt;"):
        assert efficacy not in opened, efficacy


def test_pdf_rendering_unavailable_is_a_503_problem(registry, protocol, cut, monkeypatch):
    import designs.reports

    class PdfUnavailableError(Exception):
        pass

    def render_pdf(bundle):
        raise PdfUnavailableError("Pango is missing")

    fake = types.SimpleNamespace(PdfUnavailableError=PdfUnavailableError, render_pdf=render_pdf,
                                 render_html=lambda bundle: "<!DOCTYPE html><p>report</p>")
    monkeypatch.setitem(sys.modules, "designs.reports.render", fake)
    monkeypatch.setattr(designs.reports, "render", fake, raising=False)
    registry.populate(protocol, cut)
    response = registry.request("dmc", "GET", REPORT, headers={"Accept": "application/pdf"})
    assert response.status_code == 503 and response.json()["type"] == "/problems/report-unavailable"
    assert "Pango is missing" in response.json()["detail"] and "text/html" in response.json()["detail"]
    assert registry.request("dmc", "GET", REPORT).text == "<!DOCTYPE html><p>report</p>"


def test_the_report_route_is_documented_with_both_media_types(registry):
    operation = registry.client.get("/openapi.json").json()["paths"]["/v1/trials/{trial_id}/looks/{number}/report"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/html", "application/pdf"}
    assert {"403", "404", "406"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["view"]


# --------------------------------------------------------------------------------------------------
# gonogo report


@pytest.mark.parametrize("name", ["report.html", "report.pdf"])
def test_gonogo_report_writes_the_file_in_the_extensions_format(registry, protocol, cut, tmp_path, name):
    registry.populate(protocol, cut)
    (out := tmp_path / "out").mkdir()
    output = out / name
    size = cli.fetch(registry.client, registry.tokens["dmc"], TRIAL, 1, output)
    content = output.read_bytes()
    assert size == len(content) > 0
    assert content.startswith(b"%PDF-") if name.endswith(".pdf") else b"<!DOCTYPE html>" in content[:100]
    assert [p.name for p in out.iterdir()] == [name]  # no temporary file left


def test_gonogo_report_says_why_it_was_refused_and_writes_nothing(registry, protocol, cut, tmp_path):
    registry.populate(protocol, cut)
    (out := tmp_path / "out").mkdir()
    output = out / "r.html"
    with pytest.raises(cli.ReportFailed, match="403.*sponsor reads the open report only"):
        cli.fetch(registry.client, registry.tokens["sponsor"], TRIAL, 1, output, view="closed")
    with pytest.raises(cli.ReportFailed, match="401.*GONOGO_TOKEN"):
        cli.fetch(registry.client, registry.tokens["bad"], TRIAL, 1, output)
    with pytest.raises(cli.ReportFailed, match="404.*has no look 9"):
        cli.fetch(registry.client, registry.tokens["dmc"], TRIAL, 9, output)
    assert list(out.iterdir()) == []


def test_gonogo_report_refuses_an_unknown_extension_before_asking(capsys, tmp_path):
    args = build_parser().parse_args(["report", TRIAL, "1", "-o", str(tmp_path / "r.docx"), "--token", "t",
                                      "--url", "http://127.0.0.1:9"])
    assert args.func(args) == 1
    assert ".html or .pdf" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_gonogo_report_says_when_no_server_answers(capsys, tmp_path):
    args = build_parser().parse_args(["report", TRIAL, "1", "-o", str(tmp_path / "r.pdf"), "--token", "t",
                                      "--url", "http://127.0.0.1:9"])
    assert args.func(args) == 2
    assert "no server answers at http://127.0.0.1:9" in capsys.readouterr().err

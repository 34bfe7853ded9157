"""On-site qualification: evidence that an installed copy of gonogo computes what it claims.

Data-monitoring committees' quality systems ask for it (compare RBesT's ``run-oq.R`` and rpact's
``testPackage()``). The qualification set ships with the package, not with the tests:

* ``cases``: the cases — published results the test suite reproduces (Simon 1989's designs, Lee & Liu
  2008's predictive probability, the Freireich 6-MP Kaplan–Meier estimates, bhmbasket-default
  hierarchical and EXNEX posteriors against an independent integration, exact operating
  characteristics against exact enumeration, a published toxicity stopping table, Wu's one-sample
  log-rank sample sizes, and MCMC within its Monte Carlo error of the reference), each with its source, expected values, tolerance and why;
* ``runner``: runs them and builds the report (versions, platform, CPU, times, every value with
  expected, tolerance, obtained and pass/fail) with its SHA-256; ``verify_report`` checks one;
* ``render``: the report as JSON, self-contained HTML and, where WeasyPrint renders, PDF.

Used by ``gonogo qualify`` and ``GET /v1/qualification``; no test dependency is imported.
"""

from designs.qualification.cases import CASES, Case, Check, Measured
from designs.qualification.render import render_html, write_report
from designs.qualification.runner import report_sha256, run_qualification, verify_report

__all__ = ["CASES", "Case", "Check", "Measured", "render_html", "report_sha256", "run_qualification",
           "verify_report", "write_report"]

"""Exact Simon two-stage designs: search, operating characteristics and inference after the trial.

A design ``(r1, n1, r, n)`` treats ``n1`` patients, stops after stage 1 when the responders X1 ≤ r1,
otherwise treats ``n2 = n − n1`` more and declares the treatment promising when X1 + X2 > r
(Simon 1989, Controlled Clinical Trials 10:1–10). With X1 ~ Bin(n1, p) and X2 ~ Bin(n2, p):

    PET(p)                 = P(X1 ≤ r1)
    EN(p)                  = n1 + (1 − PET(p))·n2
    P(promising | p)       = Σ_{x1=r1+1}^{n1} P(X1 = x1)·P(X2 > r − x1)

A design is feasible when P(promising | p0) ≤ alpha and P(promising | p1) ≥ 1 − beta. Designs have
0 ≤ r1 < n1 < n and r1 ≤ r < n (r1 = −1, "never stop", is a one-stage design, not a Simon design).
Every probability is an exact binomial sum (no simulation). Every result carries its provenance
(``designs.core.provenance``), hashed from the arguments as validated.

* ``search``: optimal, minimax and admissible designs (``search_designs``), returning ``results``;
* ``evaluate``: operating characteristics of a given design (``evaluate_design``; the result with
  provenance: ``design_evaluation``);
* ``inference``: UMVUE, p-value and confidence interval after the trial (``infer``);
* ``binomial``: the cached binomial tables and stage-1 terms of the search; ``validation``: argument checks;
* ``render``: the plain-text table of the command line (``format_designs_table``).
"""

from designs.simon.evaluate import design_evaluation, evaluate_design
from designs.simon.inference import infer
from designs.simon.render import format_designs_table
from designs.simon.results import AdmissibleDesign, SimonDesign, SimonSearchResult
from designs.simon.search import search_designs
from designs.simon.validation import NMAX_LIMIT

__all__ = [
    "NMAX_LIMIT",
    "AdmissibleDesign",
    "SimonDesign",
    "SimonSearchResult",
    "design_evaluation",
    "evaluate_design",
    "format_designs_table",
    "infer",
    "search_designs",
]

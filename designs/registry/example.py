"""The SARC031-like example trial: its protocol, three simulated data cuts, and a plain-text table of
a look. Pure and deterministic: the same seed gives the same protocol, cuts and dates, byte for byte
(``random.Random``, whose streams Python keeps stable), so that the example's looks reproduce.

Where the numbers come from (``NOTES`` says the same to the user):

- SARC031 (NCT03433183; selumetinib + sirolimus in unresectable or metastatic MPNST, NF1-associated
  and sporadic) registered a Simon two-stage design: 7 patients in stage 1, no further accrual if
  none of the 7 has clinical benefit, else accrual to 21. Its primary endpoint is the clinical
  benefit rate (CBR): CR, PR, or stable disease for at least 4 cycles of 28 days.
- The final threshold is not in the registration. r = 2 (declared promising with at least 3 of 21)
  is derived: Simon's optimal design for p0 = 5%, p1 = 30%, alpha = beta = 0.10 is exactly
  0/7 -> 2/21 (``gonogo simon --p0 0.05 --p1 0.30 --alpha 0.10 --beta 0.10`` finds it).
- The Bayesian rule compares the CBR with p0 = 15%, not 5%: clinical benefit needs about 3.7 months
  (112 days) without progression, and the SARC pooled benchmark of MPNST trials is a 4-month PFS of
  15%, so an inactive drug gives a CBR near 15%. p1 = 35% (20 points more) is our choice.
- PFS is compared with that benchmark: 4-month PFS 15% (median 1.77 months). The two figures are
  not one exponential law: a 1.77-month median gives exp(-4 ln 2 / 1.77) = 20.9% at 4 months, and 15%
  at 4 months gives a median of 4 ln 2 / -ln 0.15 = 1.46 months. The protocol uses the landmark
  (15%), as the analyses compare landmark PFS; the target is 30%.
- The simulated truth: in NF1-associated patients the drug is active (4-month PFS 40%), in sporadic
  ones it is not (4-month PFS 15%, the benchmark). Clinical benefit is read off the same
  progression time (no progression before day 112), so the two endpoints agree patient by patient.
  A patient who leaves before the first assessment (not evaluable) counts as without clinical
  benefit (``not_evaluable: non-responder``, intention to treat), so every stratum reaches its 21.
- Safety monitoring (our choice, not SARC031's registered design): a dose-limiting toxicity (DLT) in
  the first 28-day cycle, Bayesian beta-binomial boundaries (Geller 2003) with p0 = 25%, alpha 0.10,
  pooled over the two strata (the toxicity of selumetinib + sirolimus is the drugs', whatever the
  tumour's NF1 status, so pooling sees an excess earlier), a look every 5 evaluable patients. Why 25%:
  the doses come from a 3+3 dose escalation, which accepts a dose with at most 1 DLT in 6 patients and
  targets DLT rates near 20-30%; a first-cycle DLT rate above 25% is more than such a recommended dose
  should give, so it is the rate the rule tests. The simulated truth is a DLT rate of 15% (the rule
  should rarely stop); the draws use their own random stream, so the efficacy data are as before.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from designs.endpoints.spec import DAYS_PER_MONTH  # the registry's month: PFS follow-up checked against the cut-off

TRIAL_ID = "sarc031-example"
DEFAULT_SEED = 2026
STRATA = (
    ("NF1-associated", "MPNST in a patient with neurofibromatosis type 1"),
    ("sporadic", "MPNST without neurofibromatosis type 1"),
)
N_PLANNED = 21
LOOKS = (7, 14, 21)
SIMON = {"r1": 0, "n1": 7, "r": 2, "n": 21}
SIMON_DESIGNED_FOR = {"p0": 0.05, "p1": 0.30, "alpha": 0.10, "beta": 0.10}
P0, P1 = 0.15, 0.35
LANDMARK_MONTHS = 4.0
BENCHMARK_LANDMARK_PFS = 0.15
BENCHMARK_MEDIAN_MONTHS = 1.77
TARGET_LANDMARK_PFS = 0.30

CYCLE_DAYS = 28
BENEFIT_DAYS = 4 * CYCLE_DAYS
"""Clinical benefit: no progression for 4 cycles of 28 days (stable disease ≥ 4 cycles, or a response)."""
START = date(2023, 1, 2)
MEAN_DAYS_BETWEEN_ENROLMENTS = {"NF1-associated": 24.0, "sporadic": 28.0}
TRUE_LANDMARK_PFS = {"NF1-associated": 0.40, "sporadic": 0.15}
P_NOT_EVALUABLE = 0.06
"""A patient leaves before the first restaging (withdrawal, early toxicity): response not evaluable."""
SAFETY = {"p0": 0.25, "looks": [*range(5, N_PLANNED * 2, 5), N_PLANNED * 2], "alpha": 0.10, "method": "bayesian",
          "scope": "pooled"}
"""Safety monitoring of the example (see the module docstring): DLTs in cycle 1, pooled, every 5 evaluable."""
DLT_WINDOW_DAYS = CYCLE_DAYS
TRUE_DLT_RATE = 0.15
DAYS_TO_CLEAN_DATA = 14
"""Days between the date a look's patients are known and its cut-off (data cleaning, queries)."""


def exponential_landmark_to_median(landmark_pfs: float, landmark_months: float = LANDMARK_MONTHS) -> float:
    """The median PFS of the exponential law with ``landmark_pfs`` at ``landmark_months``."""
    return landmark_months * math.log(2) / -math.log(landmark_pfs)


def exponential_median_to_landmark(median_months: float, landmark_months: float = LANDMARK_MONTHS) -> float:
    """The landmark PFS of the exponential law with median ``median_months``."""
    return math.exp(-landmark_months * math.log(2) / median_months)


def notes() -> list[str]:
    """Where the example's numbers come from, with the figures computed here (not typed in)."""
    from designs.simon.evaluate import evaluate_design

    d = SIMON_DESIGNED_FOR
    at = {round(row["p"], 4): row for row in evaluate_design(SIMON["r1"], SIMON["n1"], SIMON["r"], SIMON["n"],
                                                             [d["p0"], d["p1"], P0, P1])}
    return [
        "SARC031 (NCT03433183, selumetinib + sirolimus in MPNST) registered a Simon two-stage design per",
        "stratum: 7 patients, stop if none of the 7 has clinical benefit (CR, PR or SD >= 4 cycles of 28 days),",
        "else accrue to 21. The final threshold is derived, not quoted: Simon's optimal design for",
        f"p0 = {d['p0']:.0%}, p1 = {d['p1']:.0%}, alpha = beta = {d['alpha']:.2f} is 0/7 -> 2/21 (promising with >= 3 of 21):",
        f"type I error {at[d['p0']]['prob_reject_null']:.3f}, power {at[d['p1']]['prob_reject_null']:.3f}.",
        f"The Bayesian rule uses p0 = {P0:.0%} for the CBR (benefit needs ~3.7 months without progression and",
        f"the SARC benchmark 4-month PFS is {BENCHMARK_LANDMARK_PFS:.0%}) and p1 = {P1:.0%} (our choice). Against a {P0:.0%} CBR,",
        f"Simon's 0/7 -> 2/21 declares a drug promising with probability {at[P0]['prob_reject_null']:.2f}"
        f" (at {P1:.0%}: {at[P1]['prob_reject_null']:.2f}).",
        f"PFS benchmark: 4-month PFS {BENCHMARK_LANDMARK_PFS:.0%}, median {BENCHMARK_MEDIAN_MONTHS} months. Under an exponential law they"
        " disagree:",
        f"median {BENCHMARK_MEDIAN_MONTHS} months gives {exponential_median_to_landmark(BENCHMARK_MEDIAN_MONTHS):.1%} at 4 months; "
        f"{BENCHMARK_LANDMARK_PFS:.0%} at 4 months gives a median of "
        f"{exponential_landmark_to_median(BENCHMARK_LANDMARK_PFS):.2f} months.",
        f"The protocol uses the landmark ({BENCHMARK_LANDMARK_PFS:.0%}); target 4-month PFS {TARGET_LANDMARK_PFS:.0%}.",
        f"Simulated truth: NF1-associated 4-month PFS {TRUE_LANDMARK_PFS['NF1-associated']:.0%} (active), sporadic"
        f" {TRUE_LANDMARK_PFS['sporadic']:.0%} (inactive);",
        "clinical benefit = no progression before day 112, so both endpoints come from one progression time;",
        "a patient who leaves before the first assessment counts as without clinical benefit (intention to treat).",
        "Safety monitoring (our choice): dose-limiting toxicity in cycle 1, Bayesian boundaries (Geller 2003) with",
        f"p0 = {SAFETY['p0']:.0%}, alpha {SAFETY['alpha']:.2f}, pooled over both strata, a look every 5 evaluable patients;",
        f"simulated DLT rate {TRUE_DLT_RATE:.0%}.",
    ]


def protocol(trial_id: str = TRIAL_ID, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The protocol of ``POST /v1/trials``: CBR with Simon's 0/7 -> 2/21 beside a hierarchical model
    (quadrature: deterministic and quick), and 4-month PFS against the SARC benchmark."""
    return {
        "id": trial_id,
        "title": "SARC031-like example: selumetinib + sirolimus in MPNST (simulated data)",
        "strata": [{"name": name, "description": description} for name, description in STRATA],
        "response": {
            "p0": P0,
            "p1": P1,
            "strata": [{"name": name, "n_planned": N_PLANNED, "looks": list(LOOKS)} for name, _ in STRATA],
            "model": {"kind": "hierarchical"},
            "engine": "quadrature",
            "decision": {"final_threshold": 0.95, "futility_ppos": 0.05, "efficacy_ppos": 0.95},
            "simon": dict(SIMON),
            "not_evaluable": "non-responder",
        },
        "pfs": {
            "landmark_months": LANDMARK_MONTHS,
            "benchmark_landmark_pfs": BENCHMARK_LANDMARK_PFS,
            "target_landmark_pfs": TARGET_LANDMARK_PFS,
            "strata": [{"name": name, "n_planned": N_PLANNED} for name, _ in STRATA],
            "model": {"kind": "hierarchical-exponential"},
            "engine": "quadrature",
        },
        "safety": dict(SAFETY),
        "seed": seed,
    }


def _patients(seed: int) -> list[dict[str, Any]]:
    """Every patient the trial will enrol, with the truth the cuts reveal little by little: the
    enrolment date, the day of progression, and (for a not-evaluable patient) the day they left."""
    rng = random.Random(seed)
    patients = []
    for name, _ in STRATA:
        hazard_per_day = -math.log(TRUE_LANDMARK_PFS[name]) / (LANDMARK_MONTHS * DAYS_PER_MONTH)
        enrolled = START
        for i in range(N_PLANNED):
            enrolled += timedelta(days=max(1, round(rng.expovariate(1 / MEAN_DAYS_BETWEEN_ENROLMENTS[name]))))
            progression_day = max(1, math.ceil(rng.expovariate(hazard_per_day)))
            left_day = rng.randint(7, 50) if rng.random() < P_NOT_EVALUABLE else None
            if left_day is not None and progression_day <= left_day:
                left_day = None  # progressed before leaving: an ordinary non-responder
            patients.append({"id": f"{name[0].upper()}{i + 1:02d}", "stratum": name, "enrolled_on": enrolled,
                             "progression_day": progression_day, "left_day": left_day})
    toxicity = random.Random(f"{seed}-toxicity")  # its own stream: the efficacy draws above are as they were
    for patient in patients:
        dlt_day = toxicity.randint(1, DLT_WINDOW_DAYS) if toxicity.random() < TRUE_DLT_RATE else None
        if dlt_day is not None and patient["left_day"] is not None and patient["left_day"] < dlt_day:
            dlt_day = None  # left before it
        patient["dlt_day"] = dlt_day
    return patients


def _toxicity(patient: Mapping[str, Any], follow: int) -> dict[str, bool] | None:
    """The patient's toxicity status ``follow`` days after enrolment: known at the DLT, else once the
    DLT window is over (evaluable) or the patient left within it (not evaluable); None before."""
    if patient["dlt_day"] is not None:
        return {"evaluable": True, "dose_limiting": True} if follow >= patient["dlt_day"] else None
    left = patient["left_day"]
    if left is not None and left < DLT_WINDOW_DAYS:
        return {"evaluable": False, "dose_limiting": False} if follow >= left else None
    return {"evaluable": True, "dose_limiting": False} if follow >= DLT_WINDOW_DAYS else None


def _known_day(patient: Mapping[str, Any]) -> int:
    """Days after enrolment when the patient's clinical-benefit outcome is known."""
    if patient["left_day"] is not None:
        return patient["left_day"]
    return min(patient["progression_day"], BENEFIT_DAYS)


def _months(days: int) -> float:
    """Days as months, rounded down (so follow-up never reaches past the cut-off)."""
    return math.floor(days / DAYS_PER_MONTH * 10_000) / 10_000


def _row(patient: Mapping[str, Any], cutoff: date) -> dict[str, Any]:
    """What the cut at ``cutoff`` knows of ``patient``."""
    follow = (cutoff - patient["enrolled_on"]).days
    response = None
    if follow >= _known_day(patient):
        if patient["left_day"] is not None:
            response = "not-evaluable"
        else:
            response = "responder" if patient["progression_day"] > BENEFIT_DAYS else "non-responder"
    pfs = None
    if follow > 0:
        if patient["progression_day"] <= follow:
            pfs = {"time_months": _months(patient["progression_day"]), "event": True}
        elif patient["left_day"] is not None and patient["left_day"] <= follow:
            pfs = {"time_months": _months(patient["left_day"]), "event": False}  # censored when they left
        else:
            pfs = {"time_months": _months(follow), "event": False}
    return {"id": patient["id"], "stratum": patient["stratum"], "enrolled_on": patient["enrolled_on"].isoformat(),
            "response": response, "pfs": pfs, "toxicity": _toxicity(patient, follow)}


def _cutoffs(patients: Sequence[Mapping[str, Any]]) -> list[date]:
    """Three cut-off dates: for look k, once 7k evaluable patients of every stratum have a known outcome
    (all of them for the last look, whose cut also waits for every patient's 4-month landmark), plus
    the days data cleaning takes."""
    dates = []
    for k, target in enumerate(LOOKS, start=1):
        ready = []
        for name, _ in STRATA:
            mine = [p for p in patients if p["stratum"] == name]
            evaluable = sorted(p["enrolled_on"] + timedelta(days=_known_day(p)) for p in mine if p["left_day"] is None)
            if k == len(LOOKS):
                landmark = timedelta(days=math.ceil(LANDMARK_MONTHS * DAYS_PER_MONTH))
                ready.append(max(max(p["enrolled_on"] + timedelta(days=_known_day(p)) for p in mine),
                                 max(p["enrolled_on"] for p in mine) + landmark))
            else:
                ready.append(evaluable[min(target, len(evaluable)) - 1])
        cutoff = max(ready) + timedelta(days=DAYS_TO_CLEAN_DATA)
        if dates and cutoff <= dates[-1]:
            cutoff = dates[-1] + timedelta(days=1)
        dates.append(cutoff)
    return dates


def data_cuts(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The bodies of the three ``POST .../data-cuts``: each extends the one before (follow-up grows, known
    outcomes stay, no patient disappears), so none needs ``supersedes``."""
    patients = _patients(seed)
    cuts = []
    for cutoff in _cutoffs(patients):
        rows = [_row(p, cutoff) for p in patients if p["enrolled_on"] <= cutoff]
        cuts.append({"cutoff_date": cutoff.isoformat(), "patients": rows})
    return cuts


# --------------------------------------------------------------------------------------------------
# A look as a table


def _by_stratum(part: Any) -> dict[str, dict]:
    """A per-stratum part of a look (a list of {name|stratum, ...} or a mapping by name) by name."""
    if isinstance(part, Mapping):
        if isinstance(part.get("strata"), (list, Mapping)):
            return _by_stratum(part["strata"])
        return {str(k): v for k, v in part.items() if isinstance(v, Mapping)}
    if isinstance(part, list):
        return {str(item.get("name", item.get("stratum"))): item for item in part if isinstance(item, Mapping)}
    return {}


def _simon_status(decision: Mapping[str, Any] | None, response: Mapping[str, Any] | None) -> str:
    for source in (((decision or {}).get("response") or {}), response or {}):
        simon = source.get("simon", source.get("simon_status"))
        if isinstance(simon, Mapping):
            simon = simon.get("status")
        if simon:
            return str(simon)
    return "-"


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None:
        return "-"
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def legend(p0: float = P0, benchmark: float = BENCHMARK_LANDMARK_PFS) -> list[str]:
    """What the columns of ``render_look`` mean."""
    return [
        "enrolled: patients in the cut; n: patients with a known outcome (a not-evaluable one counts as without",
        "benefit); CB: those with clinical benefit;",
        f"P(CBR>{p0:g}): posterior probability that the clinical benefit rate exceeds p0; CBR decision: the Bayesian rule's;",
        "Simon: the status under 0/7 -> 2/21, stage 1 counted on the first 7 patients by enrolment date;",
        f"PFS ev/n: progression events / patients with follow-up; P(S4>{benchmark:g}): posterior probability that",
        "4-month PFS exceeds the benchmark; PFS decision: the PFS rule's (go / no-go only with all 21 planned",
        "patients evaluable at 4 months).",
    ]


def render_look(look: Mapping[str, Any]) -> str:
    """A plain-text table of one look: per stratum the patients enrolled, the evaluable n, the responders
    (clinical benefit), P(CBR > p0), the Bayesian decision, Simon's status (from enrolment order), and
    the PFS events, P(4-month PFS > benchmark) and decision."""
    cut = look.get("data_cut") or {}
    response = look.get("response") or {}
    pfs = look.get("pfs") or {}
    p0 = response.get("p0", P0)
    benchmark = (pfs.get("benchmark") or {}).get("landmark_pfs", BENCHMARK_LANDMARK_PFS)
    accrual = _by_stratum(look.get("accrual"))
    responses = _by_stratum(response)
    survival = _by_stratum(pfs)
    decisions = _by_stratum(look.get("decisions"))
    names = list(dict.fromkeys([*accrual, *responses, *survival, *decisions]))
    columns = ("stratum", "enrolled", "n", "CB", f"P(CBR>{p0:g})", "CBR decision", "Simon", "PFS ev/n",
               f"P(S4>{benchmark:g})", "PFS decision")
    rows = []
    for name in names:
        r, s, a, d = responses.get(name, {}), survival.get(name, {}), accrual.get(name, {}), decisions.get(name, {})
        rows.append((
            name,
            _fmt(a.get("enrolled"), "d"),
            _fmt(r.get("n"), "d"),
            _fmt(r.get("responders"), "d"),
            _fmt(r.get("prob_above_p0")),
            _fmt(r.get("decision", ((d.get("response") or {}).get("decision")))),
            _simon_status(d, r),
            "-" if not s else f"{_fmt(s.get('events'), 'd')}/{_fmt(s.get('n'), 'd')}",
            _fmt(s.get("prob_landmark_above_benchmark")),
            _fmt(s.get("decision", ((d.get("pfs") or {}).get("decision")))),
        ))
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = zip(cells, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)]).rstrip()

    sha = str(cut.get("sha256", ""))[:12]
    header = (f"Look {look.get('look', '?')}: data cut {cut.get('number', '?')} (cut-off {cut.get('cutoff_date', '?')},"
              f" sha256 {sha}...), protocol version {look.get('protocol_version', '?')}")
    out = [header, line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    out += _safety_lines(look)
    amendments = look.get("amendments_since_previous_look") or []
    if amendments:
        out.append(f"amendments since the previous look: {len(amendments)}")
    for warning in look.get("warnings") or []:
        text = warning.get("message", warning) if isinstance(warning, Mapping) else warning
        out.append(f"warning: {text}")
    return "\n".join(out)


def _safety_lines(look: Mapping[str, Any]) -> list[str]:
    """One line per safety decision of the look (pooled: one for every monitored stratum)."""
    safety = look.get("safety")
    if not isinstance(safety, Mapping):
        return []
    rows = [safety["pooled"]] if safety.get("scope") == "pooled" else list(safety.get("strata") or [])
    lines = []
    for row in rows:
        boundary = row.get("boundary")
        rule = "no boundary yet" if boundary is None else (
            f"safety look {boundary['look']} (n = {boundary['n']}): stop at >= {_fmt(boundary['stop_at'], 'd')}")
        lines.append(f"safety [{row['name']}]: {row['toxicities']} DLT of {row['evaluable']} evaluable, "
                     f"P(p_tox>{safety['p0']:g}) {_fmt(row['prob_above_p0'])}, {rule}: {row['decision']}")
    return lines

"""Where a stratum stands under a classical Simon two-stage rule, reported beside the Bayesian analysis.

Simon (1989), Controlled Clin Trials 10:1–10: stop after n1 patients when ≤ r1 responded; declare the
stratum promising when > r of n responded. From cumulative counts alone (a stateless analysis),
within stage 2 ``simon_status`` assumes stage 1 exceeded r1 (and says so). A registered trial knows
the enrolment order: ``simon_status_in_order`` takes stage 1 as the first n1 patients enrolled
(pending ones included: stage 1 stays ongoing until they are known), and a stratum that Simon
stopped at stage 1 but that enrolled beyond n1 is reported as stopped, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from designs.core.caveats import caveat
from designs.core.validation import MAX_ERROR_RATE, Bounds, Checker
from designs.simon.validation import order_problem


@dataclass(frozen=True)
class SimonRule:
    """Simon's design {r1, n1, r, n}; checked on construction: 0 ≤ r1 < n1 < n and r1 ≤ r < n, each broken
    ordering named by its field in ``designs.simon.validation.order_problem``'s words (as the schemas)."""

    r1: int
    n1: int
    r: int
    n: int
    alpha: float | None = None
    """The type I error the design was planned for (None: not stated; ``simon_fit`` then holds it to 0.05)."""
    beta: float | None = None
    """The type II error it was planned for (None: not stated; 0.20)."""

    def __post_init__(self) -> None:
        check = Checker()
        valid: dict[str, int] = {}
        for key in ("r1", "n1", "r", "n"):
            value = check.count(f"simon/{key}", getattr(self, key))
            if value is None:
                continue
            problem = order_problem(key, value, valid)
            if problem is None:
                valid[key] = value
            else:
                check.add(f"simon/{key}", problem)
        for key in ("alpha", "beta"):
            if getattr(self, key) is not None:
                check.number(f"simon/{key}", getattr(self, key), ERROR_RATE)
        check.raise_if_any()

    def as_dict(self) -> dict[str, Any]:
        """{r1, n1, r, n}, with alpha and beta where they are stated."""
        return {k: v for k, v in asdict(self).items() if v is not None or k not in ("alpha", "beta")}


_ASSUMED_STAGE1 = " (Cumulative counts cannot show stage 1's own count; it is assumed to have exceeded r1.)"


def simon_status(simon: SimonRule, n: int, responders: int, *, stage1_responders: int | None = None) -> dict[str, Any]:
    """Where a stratum with ``responders`` of ``n`` stands under Simon's rule {r1, n1, r, n}:
    stop after n1 when ≤ r1 responded; declare promising when > r of n responded.

    ``stage1_responders``: responders among the first n1 evaluable patients in enrolment order
    (known to a registered trial; used only once n ≥ n1). None: cumulative counts only."""
    r1, n1, r, n_total = simon.r1, simon.n1, simon.r, simon.n
    y = responders
    if stage1_responders is not None and n > n1:
        if stage1_responders <= r1:
            return {
                "status": "stopped_stage1",
                "responders_needed": None,
                "patients_remaining": 0,
                "text": (
                    f"Stopped after stage 1: {stage1_responders} ≤ r1 = {r1} responders among the first n1 = {n1} "
                    f"evaluable patients (in enrolment order); not promising. {n - n1} patients were enrolled "
                    f"beyond n1 although Simon's rule stops at stage 1 ({y} responders among all {n})."
                ),
                "stage1_responders": stage1_responders,
            }
        status = simon_status(simon, n, y)  # y ≥ stage1_responders > r1: the cumulative rule's assumption holds
        status["text"] = status["text"].replace(
            _ASSUMED_STAGE1, f" (Stage 1: {stage1_responders} > r1 = {r1} responders among the first n1 = {n1}.)"
        )
        return {**status, "stage1_responders": stage1_responders}
    if stage1_responders is not None:
        return {**simon_status(simon, n, y), "stage1_responders": min(stage1_responders, y)}
    if n > n_total:
        status, needed, remaining = "beyond_design", None, 0
        verdict = "would have been declared promising" if y > r else "would not have been declared promising"
        text = (
            f"n = {n} exceeds the design's n = {n_total}: Simon's rule is defined at n = {n_total}; "
            f"with {y} responders among {n} patients the stratum {verdict} if the excess patients changed nothing."
        )
    elif n < n1:
        remaining = n1 - n
        if y > r1:
            status, needed = "stage1_passed", max(0, r + 1 - y)
            text = (
                f"Stage 1 ongoing ({n} of {n1}): {y} > r1 = {r1} responders already, so the stratum continues to "
                + (f"stage 2, and {y} > r = {r}: it will be declared promising." if needed == 0 else
                   f"stage 2; {_more(needed)} {_are(needed)} needed among the remaining {n_total - n} to declare it promising.")
            )
        elif y + remaining <= r1:
            status, needed = "stage1_futile", None
            text = (
                f"Stage 1 ongoing ({n} of {n1}): even if all {remaining} remaining stage-1 patients respond, "
                f"responders cannot exceed r1 = {r1}: the stratum will stop after stage 1."
            )
        else:
            status, needed = "stage1_ongoing", r1 + 1 - y
            text = (
                f"Stage 1 ongoing ({n} of {n1}): {_more(needed)} among the next {remaining} {_are(needed)} needed "
                f"to exceed r1 = {r1} and continue to stage 2."
            )
    elif n == n1:
        remaining = n_total - n1
        if y <= r1:
            status, needed = "stopped_stage1", None
            text = f"Stopped after stage 1: {y} ≤ r1 = {r1} responders among n1 = {n1}; not promising."
        else:
            status, needed = "continue_stage2", max(0, r + 1 - y)
            tail = (
                "it already exceeds r and will be declared promising."
                if needed == 0
                else f"{_more(needed)} among the {remaining} stage-2 patients {_are(needed)} needed to exceed r = {r}."
            )
            if needed > remaining:
                tail = f"{_more(needed)} would be needed but only {remaining} patients remain: it cannot be declared promising."
            text = f"Continue to stage 2 ({y} > r1 = {r1} of n1 = {n1}); {tail}"
    elif n < n_total:
        remaining = n_total - n
        if y <= r1:
            status, needed = "stopped_stage1", None
            text = (
                f"{y} ≤ r1 = {r1} responders in total, so at most r1 among the first n1 = {n1}: "
                "Simon's rule stops after stage 1 (not promising)."
            )
        else:
            needed = max(0, r + 1 - y)
            if needed > remaining:
                status = "stage2_futile"
                text = (
                    f"Stage 2 ongoing ({n} of {n_total}): {_more(needed)} would be needed to exceed "
                    f"r = {r} but only {remaining} patients remain: it cannot be declared promising."
                )
            else:
                status = "stage2_ongoing"
                text = (
                    f"Stage 2 ongoing ({n} of {n_total}): "
                    + (
                        f"{y} > r = {r} responders already: it will be declared promising."
                        if needed == 0
                        else f"{_more(needed)} among the remaining {remaining} {_are(needed)} needed to exceed r = {r}."
                    )
                )
            text += _ASSUMED_STAGE1
    else:
        remaining = 0
        needed = None
        status = "promising" if y > r else "not_promising"
        text = f"Final ({n} of {n_total}): {y} {'>' if y > r else '≤'} r = {r} responders: {'promising' if y > r else 'not promising'}."
    return {"status": status, "responders_needed": needed, "patients_remaining": remaining, "text": text}


def _more(k: int) -> str:
    return f"{k} more responder{'' if k == 1 else 's'}"


def _are(k: int) -> str:
    return "is" if k == 1 else "are"


def simon_status_in_order(simon: SimonRule, outcomes: list[str | None], *, boundary_tie: str | None = None) -> dict[str, Any]:
    """Where a stratum stands under Simon's rule, knowing its patients in enrolment order.

    ``outcomes``: one entry per patient who counts for Simon, in enrolment order: "responder",
    "non-responder" or None (pending: enrolled, response not yet known). Stage 1 is the FIRST n1 of
    them, whether or not their responses are known: while one of them is pending (or fewer than n1
    are enrolled), stage 1 is ongoing, counted from what is known, and the status says how many are
    pending; it is never decided from later patients who happened to be assessed first (that would
    declare "stopped_stage1" and reverse it when a pending stage-1 patient responds). Once stage 1
    is known, stage 2 is judged on every assessed patient (the cumulative rule, its stage-1
    assumption replaced by the known count). ``boundary_tie``: a sentence when patients enrolled on
    the same day straddle the n1 boundary (stage-1 membership then rests on the id order); it is
    appended to the text and returned as ``stage1_boundary_tie``.
    """
    r1, n1 = simon.r1, simon.n1
    stage1 = outcomes[:n1]
    y1 = stage1.count("responder")
    pending1 = stage1.count(None)
    known1 = len(stage1) - pending1
    unfilled = n1 - len(stage1)
    n = sum(o is not None for o in outcomes)
    y = outcomes.count("responder")
    beyond = max(0, len(outcomes) - n1)
    extra = {"stage1_responders": y1, "stage1_assessed": known1, "stage1_pending": pending1,
             "stage1_boundary_tie": boundary_tie}
    waiting = []
    if pending1:
        waiting.append(f"{pending1} pending")
    if unfilled:  # not-evaluable patients left out of n (not_evaluable "exclude") are not among them
        waiting.append(f"{unfilled} more evaluable patient{'' if unfilled == 1 else 's'} to come")
    waiting_text = f" ({', '.join(waiting)})" if waiting else ""
    if y1 > r1:
        status = simon_status(simon, n, y)  # y ≥ y1 > r1: the cumulative rule's assumption holds
        known = (f"Stage 1: {y1} > r1 = {r1} responders among the first n1 = {n1} patients in enrolment order"
                 f"{waiting_text}.")
        if _ASSUMED_STAGE1 in status["text"]:
            status["text"] = status["text"].replace(_ASSUMED_STAGE1, f" ({known})")
        else:
            status["text"] += f" {known}"
        if status["status"] == "stage1_passed" and n >= n1:
            status["text"] += " (Assessed patients beyond stage 1 count towards stage 2.)"
        result = {**status, **extra}
    elif not waiting:
        result = {
            "status": "stopped_stage1",
            "responders_needed": None,
            "patients_remaining": 0,
            "text": (
                f"Stopped after stage 1: {y1} ≤ r1 = {r1} responders among the first n1 = {n1} patients in "
                "enrolment order; not promising."
                + (f" {beyond} patients were enrolled beyond n1 although Simon's rule stops at stage 1 "
                   f"({y} responders among all {n} assessed)." if beyond else "")
            ),
            **extra,
        }
    else:
        open_ = pending1 + unfilled
        needed = r1 + 1 - y1
        later = (f" {beyond} patients enrolled after the first n1 do not count for stage 1 "
                 f"({y - y1} responders among them so far)." if beyond else "")
        if needed > open_:
            status, text = "stage1_futile", (
                f"Stage 1 ongoing: {y1} responders among the {known1} of the first n1 = {n1} patients with a known "
                f"response{waiting_text}; even if all {open_} remaining stage-1 patients respond, responders cannot "
                f"exceed r1 = {r1}: the stratum will stop after stage 1.{later}")
            needed = None
        else:
            status, text = "stage1_ongoing", (
                f"Stage 1 ongoing: {y1} responders among the {known1} of the first n1 = {n1} patients with a known "
                f"response{waiting_text}; {_more(needed)} among these {open_} {_are(needed)} needed to exceed "
                f"r1 = {r1} and continue to stage 2.{later}")
        result = {"status": status, "responders_needed": needed, "patients_remaining": open_, "text": text, **extra}
    if boundary_tie:
        result["text"] += f" {boundary_tie}"
    return result


SIMON_DEFAULT_ALPHA = 0.05
SIMON_DEFAULT_BETA = 0.20
"""What a Simon design is held to when the request states no alpha or beta: the defaults of the Simon
search (``POST /v1/simon/designs``, ``service.schemas.simon.DesignSearchRequest``)."""
_FIT_TOLERANCE = 1e-12
ERROR_RATE = Bounds(gt=0.0, le=MAX_ERROR_RATE)


def simon_fit(
    simon: SimonRule | Mapping[str, int], p0: float, p1: float, alpha: float | None = None, beta: float | None = None
) -> list[dict[str, Any]]:
    """A ``simon-design-misfit`` caveat when the Simon design reported beside does not fit the request.

    Its exact type I error P(promising | p0) must not exceed ``alpha`` and its power P(promising | p1)
    must reach 1 − ``beta`` (Simon 1989; ``designs.simon.evaluate_design``). ``alpha`` / ``beta`` None:
    those the design states (``simon.alpha``, ``simon.beta``: what it was planned for); where it states
    none either, the Simon search's defaults 0.05 / 0.20 apply (the message says so).
    One caveat naming every shortfall, or none.
    """
    from designs.simon import evaluate_design  # deferred: designs.simon imports this package's neighbours

    design = simon.as_dict() if isinstance(simon, SimonRule) else dict(simon)
    r1, n1, r, n = (int(design[k]) for k in ("r1", "n1", "r", "n"))
    alpha = design.get("alpha") if alpha is None else alpha  # the error rates the design was planned for
    beta = design.get("beta") if beta is None else beta
    at_p0, at_p1 = evaluate_design(r1, n1, r, n, [float(p0), float(p1)])
    type_i, power = float(at_p0["prob_reject_null"]), float(at_p1["prob_reject_null"])
    stated = alpha is not None, beta is not None
    alpha = SIMON_DEFAULT_ALPHA if alpha is None else float(alpha)
    beta = SIMON_DEFAULT_BETA if beta is None else float(beta)
    problems = []
    if type_i > alpha + _FIT_TOLERANCE:
        problems.append(f"its type I error at p0 = {p0:g} is {type_i:.3f} > alpha = {alpha:g}")
    if power < 1.0 - beta - _FIT_TOLERANCE:
        problems.append(f"its power at p1 = {p1:g} is {power:.3f} < 1 − beta = {1.0 - beta:g}")
    if not problems:
        return []
    defaults = [name for name, given in zip(("alpha", "beta"), stated, strict=True) if not given]
    source = (f" ({' and '.join(defaults)}: the Simon search's default{'s' if len(defaults) > 1 else ''}, "
              "as the request states none: give simon.alpha and simon.beta, the error rates the design was planned "
              "for)") if defaults else ""
    text = (
        f"The Simon design r1/n1 = {r1}/{n1}, r/n = {r}/{n} does not fit this request: {'; '.join(problems)}{source}. "
        "It was designed for other rates or error rates: search one for these with POST /v1/simon/designs."
    )
    return [caveat("simon-design-misfit", text)]

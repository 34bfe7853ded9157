"""The boundaries at each stratum's next planned look, given every stratum's data now.

For a look of a registered trial: "NF1-associated needs 2 more responders among the next 7 to avoid
no-go at look 3 (n = 21)". A separable rule (independent model, Simon's rule) decides the stratum's
next look from its own count. A coupled rule is conditional on the other strata's observed data: a
one-analysis design whose first look is the stratum's next planned look, and every other stratum's
observed n, each followed by its remaining planned looks (so the predictive probability still sees
everyone's future enrolment); the stratum's counts 0..n_next are decided at that analysis with the
others at their observed counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from designs.boundaries.row import DecisionRow
from designs.boundaries.table import checked_decider
from designs.core.validation import Checker, did_you_mean, is_integer
from designs.oc.deciders import decider_for
from designs.oc.design import OCDesign, StratumPlan


def _observed(design: OCDesign, observed: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Every stratum's (n, responders), checked: 0 ≤ responders ≤ n, no unknown stratum."""
    check = Checker()
    names = design.names
    for name in sorted(set(observed) - set(names), key=str):
        check.add(f"observed/{name}", f"unknown stratum (strata are {sorted(names)})" + did_you_mean(name, names))
    for name in names:
        if name not in observed:
            check.add("observed", f"no (n, responders) for stratum {name!r}")
            continue
        value = observed[name]
        if not (isinstance(value, tuple | list) and len(value) == 2 and all(is_integer(v) for v in value)
                and 0 <= value[1] <= value[0]):
            check.add(f"observed/{name}", f"must be (n, responders) with 0 ≤ responders ≤ n, got {value!r}")
    check.raise_if_any()
    return {name: (int(observed[name][0]), int(observed[name][1])) for name in names}


def _more(k: int) -> str:
    return f"{k} more responder{'' if k == 1 else 's'}"


def sentence(name: str, look: int, n_next: int, added: int, avoid: int | None, go: int | None) -> str:
    """What the stratum needs among its next ``added`` patients to avoid no-go (and to go) at ``look``."""
    where = f"at look {look} (n = {n_next})"
    if avoid is None:
        patients = "the next patient responds" if added == 1 else f"all {added} next patients respond"
        text = f"{name} cannot avoid no-go {where}, even if {patients}"
    elif avoid == 0:
        text = f"{name} avoids no-go {where} whatever the next {added} patients' responses"
    else:
        text = f"{name} needs {_more(avoid)} among the next {added} to avoid no-go {where}"
    if go is None:
        text += "; go is out of reach at that look"
    elif go == 0:
        text += "; it goes there even with no further responder"
    else:
        text += f"; {_more(go)} give go"
    return text + "."


def _codes_at_next(design: OCDesign, decider: Any, j: int, look: int, data: Mapping[str, tuple[int, int]]) -> np.ndarray:
    """Decision codes of stratum j's counts 0..n_next at its look ``look`` (0-based)."""
    stratum = design.strata[j]
    n_next = stratum.looks[look]
    if decider.separable:
        part = decider_for(design.substratum(j))
        return np.asarray(part.decide(look, (look,), np.arange(n_next + 1)[:, None]))[:, 0]
    plans = []
    for l, s in enumerate(design.strata):
        now = n_next if l == j else data[s.name][0]
        plans.append(StratumPlan(s.name, (now, *(n for n in s.looks if n > now))))
    derived = replace(design, strata=tuple(plans))
    y = np.tile(np.asarray([data[s.name][1] for s in design.strata], dtype=np.int64), (n_next + 1, 1))
    y[:, j] = np.arange(n_next + 1)
    return np.asarray(decider_for(derived).decide(0, (0,) * len(plans), y))[:, j]


def next_look(design: OCDesign, observed: Mapping[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """Per stratum: the boundaries at its next planned look given everyone's (n, responders) now, what
    it needs to avoid no-go and to go, and the sentence saying so (module docstring)."""
    data = _observed(design, observed)
    decider, _ = checked_decider(design)
    rows = []
    for j, stratum in enumerate(design.strata):
        n, responders = data[stratum.name]
        row: dict[str, Any] = {
            "stratum": stratum.name, "n": n, "responders": responders, "next_look": None, "next_n": None,
            "no_go_max": None, "go_min": None, "avoid_no_go_needs": None, "go_needs": None,
        }
        upcoming = [i for i, size in enumerate(stratum.looks) if size > n]
        if not upcoming:
            row["text"] = f"{stratum.name} has reached its final look (n = {n} of {stratum.final_n} planned): no look is left."
            rows.append(row)
            continue
        look = upcoming[0]
        n_next, added = stratum.looks[look], stratum.looks[look] - n
        bounds = DecisionRow.of_codes(_codes_at_next(design, decider, j, look, data))
        avoid = 0 if bounds.no_go_max is None else max(0, bounds.no_go_max + 1 - responders)
        go = None if bounds.go_min is None else max(0, bounds.go_min - responders)
        row.update({
            "next_look": look + 1, "next_n": n_next, "no_go_max": bounds.no_go_max, "go_min": bounds.go_min,
            "avoid_no_go_needs": avoid if avoid <= added else None,
            "go_needs": go if go is not None and go <= added else None,
        })
        row["text"] = sentence(stratum.name, look + 1, n_next, added, row["avoid_no_go_needs"], row["go_needs"])
        rows.append(row)
    return rows

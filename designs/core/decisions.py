"""The decision vocabulary every rule shares: decision codes, criteria, and one stratum's decision.

Codes (int8 in vectorised code):
    CONTINUE 0    FUTILITY 1 (stop, no-go)    EARLY_GO 2 (stop, go)    FINAL_GO 3    FINAL_NO_GO 4
    INACTIVE -1   a stratum that is not analysed at this look (operating characteristics)
Criteria name the rule that fired; ``CODE_OF_CRITERION`` maps each to its decision code. The response
rule (``designs.response.decisions``), the PFS rule (``designs.survival.decisions``) and the operating
characteristics (``designs.oc``) all use these, and nothing else defines them. Both rules are an
ordered list of (condition, criterion) pairs, evaluated by :func:`first_that_applies`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONTINUE, FUTILITY, EARLY_GO, FINAL_GO, FINAL_NO_GO = 0, 1, 2, 3, 4
INACTIVE = -1
DECISION_OF_CODE: tuple[str, ...] = ("continue", "no-go", "go", "go", "no-go")
ENDINGS: tuple[str, ...] = ("futility", "early_go", "final_go", "final_no_go")
"""How a stratum's enrolment ends, codes 1..4 in this order."""

# Criteria that can fire, indexed by the criterion codes the rules return.
CRITERIA: tuple[str, ...] = (
    "continue",
    "futility_posterior",
    "futility_predictive",
    "efficacy_predictive",
    "final_success",
    "final_failure",
    "efficacy_posterior",
)
(
    CRITERION_CONTINUE,
    CRITERION_FUTILITY_POSTERIOR,
    CRITERION_FUTILITY_PREDICTIVE,
    CRITERION_EFFICACY_PREDICTIVE,
    CRITERION_FINAL_SUCCESS,
    CRITERION_FINAL_FAILURE,
    CRITERION_EFFICACY_POSTERIOR,
) = range(len(CRITERIA))
CODE_OF_CRITERION = np.array([CONTINUE, FUTILITY, FUTILITY, EARLY_GO, FINAL_GO, FINAL_NO_GO, EARLY_GO], dtype=np.int8)


def below(values: np.ndarray, threshold: float | None) -> np.ndarray:
    """values < threshold elementwise (strict); all False when the threshold is None (the criterion is off)."""
    return np.zeros(values.shape, dtype=bool) if threshold is None else values < threshold


def above(values: np.ndarray, threshold: float | None) -> np.ndarray:
    """values > threshold elementwise (strict); all False when the threshold is None (the criterion is off)."""
    return np.zeros(values.shape, dtype=bool) if threshold is None else values > threshold


def first_that_applies(rules: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Decision codes and criterion codes (int8 arrays): per element, the criterion of the first
    (condition, criterion) pair whose condition holds, else ``CRITERION_CONTINUE``."""
    criterion = np.select([condition for condition, _ in rules], [code for _, code in rules], CRITERION_CONTINUE)
    criterion = criterion.astype(np.int8)
    return CODE_OF_CRITERION[criterion], criterion


@dataclass(frozen=True)
class Decision:
    """One stratum's decision: "go" / "no-go" / "continue", the criterion id and a sentence."""

    decision: str
    criterion: str
    text: str
    code: int

    def criterion_dict(self) -> dict[str, str]:
        return {"id": self.criterion, "text": self.text}


def format_probability(x: float) -> str:
    """3 decimals in the bulk, 4 significant digits near 0 and 1 (0.9997 must not print as 1)."""
    return f"{x:.3f}" if 0.01 <= x <= 0.99 else f"{x:.4g}"

"""The core's exceptions cross process boundaries whole (compute pool, job pool, Dask workers)."""

from __future__ import annotations

import pickle

import pytest

from designs.core.errors import ConvergenceError, FieldProblem, InfeasibleDesignError, InvalidInputError
from service.problems import problem_document

ERRORS = [
    InvalidInputError([FieldProblem("strata/1/responders", "cannot exceed n"), FieldProblem("p1", "must exceed p0")]),
    InfeasibleDesignError("no design within nmax 30", suggestion="raise nmax to 45"),
    ConvergenceError("R-hat 1.2 after a rerun", {"rhat_max": 1.2, "divergences": 3}),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_a_pickled_error_gives_the_same_problem_document(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and vars(again) == vars(error) and again.args == error.args
    assert problem_document(again) == problem_document(error)

"""Example request bodies shared by the registry tests."""

from __future__ import annotations


def sarc031(**changes):
    body = {
        "id": "sarc031",
        "title": "SARC031-like basket",
        "strata": [{"name": "nf1", "description": "NF1-associated"}, {"name": "sporadic", "description": "sporadic"}],
        "response": {
            "p0": 0.05, "p1": 0.25,
            "strata": [{"name": "nf1", "n_planned": 21, "looks": [7, 21]},
                       {"name": "sporadic", "n_planned": 21, "looks": [7, 14, 21]}],
            "simon": {"r1": 0, "n1": 7, "r": 2, "n": 21},
            "engine": "quadrature",
        },
        "pfs": {"benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
                "strata": [{"name": "nf1", "n_planned": 21}, {"name": "sporadic", "n_planned": 21}],
                "engine": "quadrature"},
        "seed": 31,
    }
    body.update(changes)
    return body

"""Decision-boundary tables: per stratum and look, the responder counts that give no-go, continue and go.

* ``row``: one look's decisions over the counts 0..n read as boundaries (and whether they are monotone);
* ``conditioning``: the other strata's counts a coupled stratum's boundaries are conditional on;
* ``table``: ``boundary_table``, the whole table of a design (two-way for two coupled strata);
* ``next_look``: the boundaries at each stratum's next planned look given the data of a look;
* ``plan``: a registered protocol's response plan as the design of both.
"""

from designs.boundaries.conditioning import conditioning_counts, expected_counts
from designs.boundaries.next_look import next_look
from designs.boundaries.plan import observed_counts, response_design
from designs.boundaries.row import DecisionRow
from designs.boundaries.table import boundary_table

__all__ = [
    "DecisionRow",
    "boundary_table",
    "conditioning_counts",
    "expected_counts",
    "next_look",
    "observed_counts",
    "response_design",
]

"""What the density tests read off a recorded density (``designs.core.densities``): bin masses, mass above a bin edge."""

from __future__ import annotations

import numpy as np
import pytest

from designs.core import densities


def bin_mass(density):
    """The probability mass of each bin."""
    x = densities.edges(density["lower"], density["upper"], density["bins"])
    return np.asarray(density["density"]) * np.diff(x)


def mass_above(density, c):
    """The recorded mass above c, c a bin edge."""
    x = densities.edges(density["lower"], density["upper"], density["bins"])
    k = int(np.argmin(np.abs(x - c)))
    assert x[k] == pytest.approx(c, abs=1e-12)
    return float(bin_mass(density)[k:].sum())

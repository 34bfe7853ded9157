"""``read_only``: the one way a shared or cached array is protected from its callers."""

from __future__ import annotations

import numpy as np
import pytest

from designs.core.arrays import read_only


def test_read_only_returns_the_same_array_which_then_refuses_writes():
    array = np.arange(3.0)
    assert read_only(array) is array
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 1.0
    np.testing.assert_array_equal(array, [0.0, 1.0, 2.0])

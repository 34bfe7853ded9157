"""gonogo's statistical core: Simon designs, Bayesian response and PFS analyses, operating characteristics.

Pure Python/numpy/scipy/PyMC. Nothing here imports an HTTP framework.
"""

__version__ = "0.1.0"

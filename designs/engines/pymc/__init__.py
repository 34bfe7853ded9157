"""PyMC engine of record: hierarchical response and PFS models, compiled once, data swapped per request.

    models          the PyMC models and the data vectors a request swaps in
    compile         compiled models shared per process, the start-up warm-up, the cache directory
    nutpie_compile  nutpie's compilation, with its machine code kept on disk between starts
    run             one NUTS run with nutpie: seeds, cores (its SamplerSettings live in
                    designs.engines.sampler_settings, re-exported here)
    policy          the convergence policy: check R-hat, ESS and divergences, rerun once
    draws           PFSData in, ResponseDraws and PFSDraws out
    sample          sample_response and sample_pfs, which take the model specs
"""

from designs.engines.pymc.compile import cache_dir, compiled_model, default_cache_dir, set_cache_dir, warm_up
from designs.engines.pymc.draws import MIN_EVENT_TIME_MONTHS, PFSData, PFSDraws, ResponseDraws
from designs.engines.pymc.models import ALL_KINDS, PFS_KINDS, RESPONSE_KINDS, build_model, model_inputs
from designs.engines.pymc.sample import PFS_MIN_TARGET_ACCEPT, sample_pfs, sample_response
from designs.engines.sampler_settings import SamplerSettings

__all__ = [
    "ALL_KINDS",
    "MIN_EVENT_TIME_MONTHS",
    "PFS_KINDS",
    "PFS_MIN_TARGET_ACCEPT",
    "PFSData",
    "PFSDraws",
    "RESPONSE_KINDS",
    "ResponseDraws",
    "SamplerSettings",
    "build_model",
    "cache_dir",
    "compiled_model",
    "default_cache_dir",
    "set_cache_dir",
    "model_inputs",
    "sample_pfs",
    "sample_response",
    "warm_up",
]

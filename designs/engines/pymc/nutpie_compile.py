"""nutpie's compilation of a PyMC model, with the machine code of its two C callbacks kept on disk.

Compiling is two steps. PyTensor turns the model into a log density with its gradient and an
"expand" function, whose numba code PyTensor caches on disk itself (under ``~/.pytensor``); about a
second per model. Then numba compiles nutpie's two C callbacks around them, 2–7 s per model: this
module saves their machine code after the first compilation and loads it on later starts.

An entry lives under a directory named by :func:`source_digest`, a SHA-256 over everything the
machine code depends on: the Python, numpy, numba, llvmlite, PyTensor, PyMC and nutpie versions, the
CPU target numba compiles for, PyTensor's float and fastmath settings, and the source of this module,
of :mod:`.models` and of nutpie's compiler. A stale entry is therefore never read; an unreadable one
is recompiled. Entries are written to a temporary file and renamed, so several workers may share the
directory. The files are pickles: the directory must be as trusted as the code (like PyTensor's and
numba's own caches).

The machine code loaded is the code that was compiled, so draws are bit-identical with and without
the cache (checked by a test against ``nutpie.compile_pymc_model``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pytensor
from numba.core import sigutils
from numba.core.ccallback import CFunc
from numba.core.compiler import CompileResult
from numba.core.registry import cpu_target
from numba.core.serialize import dumps
from nutpie import compile_pymc as nutpie_pymc
from pymc.initial_point import make_initial_point_fn

# Numba names a function by a counter that restarts in each process, so two cached callbacks could
# share a symbol with different bodies; PyTensor's cache module makes numba draw random names instead.
import pytensor.link.numba.cache  # noqa: F401  # isort: skip

from designs.core.arrays import read_only
from designs.engines.pymc import models


@functools.cache
def source_digest() -> str:
    """SHA-256 over everything the compiled machine code depends on (see the module docstring)."""
    parts = [
        sys.version,
        *(f"{name}=={version(name)}" for name in ("numpy", "numba", "llvmlite", "pytensor", "pymc", "nutpie")),
        repr(cpu_target.target_context.codegen().magic_tuple()),
        f"floatX={pytensor.config.floatX} fastmath={pytensor.config.numba__fastmath}",
    ]
    digest = hashlib.sha256("\n".join(parts).encode())
    for module in (sys.modules[__name__], models, nutpie_pymc):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


class _MachineCodeFile:
    """A numba cache of one C callback in one file (``load_overload`` / ``save_overload``, as numba calls them)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hit = False

    def load_overload(self, sig, target_context) -> CompileResult | None:
        if self.path is None:
            return None
        target_context.refresh()  # initialises numba's runtime, which the loaded code links against
        try:
            result = CompileResult._rebuild(target_context, *pickle.loads(self.path.read_bytes()))
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a cache must never fail a fit: an unreadable entry is recompiled
            return None
        self.hit = True
        return result

    def save_overload(self, sig, result: CompileResult) -> None:
        if self.path is None or result.library.has_dynamic_globals or result.lifted:
            return  # addresses of this process's objects would be baked into the code
        temporary = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(dumps(result._reduce()))
            os.replace(temporary, self.path)
        except OSError:  # a read-only or full disk costs the next start its compile time, nothing more
            if temporary.exists():
                temporary.unlink()


def _c_callback(function, signature, cache: _MachineCodeFile) -> CFunc:
    """``numba.cfunc(signature)(function)``, its machine code loaded from or saved to ``cache``."""
    callback = CFunc(function, sigutils.normalize_signature(signature), locals={}, options={})
    callback._cache = cache  # numba's own hook (what cfunc(cache=True) sets), with our file and key
    callback.compile()
    return callback


def compile_pymc_model(model, cache_stem: Path | None) -> tuple[nutpie_pymc.CompiledPyMCModel, bool]:
    """``nutpie.compile_pymc_model(model)``, its C callbacks cached in ``<cache_stem>-{logp,expand}.nbc``.

    The steps of nutpie 0.16's ``compile_pymc_model`` for the numba backend and default arguments
    (initial points from the support point, jittered), with the C callbacks compiled through
    :func:`_c_callback`. ``cache_stem`` None compiles without the disk cache. Returns the compiled
    model and whether both callbacks came from the cache.
    """
    initial_point = make_initial_point_fn(
        model=model,
        overrides=None,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info, reparameterized = (
        nutpie_pymc._make_functions(
            model,
            mode="NUMBA",
            compute_grad=True,
            join_expanded=True,
            pymc_initial_point_fn=nutpie_pymc._wrap_with_lock(initial_point),
            var_names=None,
        )
    )
    shared_data: dict[str, np.ndarray] = {}
    shared_var_keys: dict[Any, str] = {}
    for variable in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
        if variable not in shared_var_keys:
            key = uuid.uuid4().hex
            shared_data[key] = read_only(np.array(variable.get_value(), order="C", copy=True))
            shared_var_keys[variable] = key
    user_data = nutpie_pymc.make_user_data(shared_var_keys, shared_data)
    files = {
        role: _MachineCodeFile(None if cache_stem is None else cache_stem.with_name(f"{cache_stem.name}-{role}.nbc"))
        for role in ("logp", "expand")
    }
    logp_function, logp_signature = nutpie_pymc._make_c_logp_func(
        n_dim, logp_fn.vm.jit_fn, user_data, [shared_var_keys[v] for v in logp_fn.get_shared()], shared_data
    )
    expand_function, expand_signature = nutpie_pymc._make_c_expand_func(
        n_dim, n_expanded, expand_fn.vm.jit_fn, user_data,
        [shared_var_keys[v] for v in expand_fn.get_shared()], shared_data,
    )
    dims, coords = nutpie_pymc._prepare_dims_and_coords(model, shape_info, reparameterized)
    compiled = nutpie_pymc.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=_c_callback(logp_function, logp_signature, files["logp"]),
        compiled_expand_func=_c_callback(expand_function, expand_signature, files["expand"]),
        initial_point_func=initial_point_fn,
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn,
        expand_func=expand_fn,
        reparameterized_names=reparameterized,
    )
    return compiled, all(f.hit for f in files.values())

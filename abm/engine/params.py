"""A type's parameters as the compiled rules see them: one flat named tuple of scalars (on the
CPU, the same numbers as a one-element record array: see `params_record`).

`prepare` gives a dataclass per type (rates already turned into chances and integer
thresholds on the host); the compiled kernels take its numbers as a named tuple (numba types
it field by field), with each behaviour's base value and the grammar's constants added:
  base_<behaviour>                 the behaviour's value per step before any signal
  g<k>_kn, g<k>_left               grammar rule k: K^n as float32, the share a blockade leaves
  bmax_<behaviour>, bmin_<behaviour>  the saturations the increasing / decreasing rules pull to
Dicts of numbers are flattened as <field>_<key>; anything else (a config object) is left out.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections import namedtuple
from functools import lru_cache

import numpy as np

from .. import grammar


@lru_cache(maxsize=None)
def _tuple_type(type_name: str, names: tuple[str, ...]):
    """The named tuple class of a type's parameters, kept as an attribute of this module under a
    name fixed by its fields: numba's on-disk cache pickles a kernel's argument types by name."""
    digest = hashlib.sha256(" ".join(names).encode()).hexdigest()[:12]
    name = f"{type_name.capitalize()}Params_{digest}"
    cls = namedtuple(name, names)
    cls.__module__ = __name__
    globals()[name] = cls
    return cls


def _numbers(params) -> dict:
    out = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if isinstance(value, dict):
            for key, item in value.items():
                if _is_number(item):
                    out[f"{f.name}_{key}"] = _scalar(item)
        elif _is_number(value):
            out[f.name] = _scalar(value)
    return out


def _is_number(value) -> bool:
    return isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_))


def _scalar(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    return np.float64(value)


def grammar_constants(program_grammar, dt_min: float, in_force: dict) -> dict:
    """The grammar's numbers for one set of interventions in force (blockades scale terms)."""
    out = {}
    for behaviour, rules, first in program_grammar:
        for k, rule in enumerate(rules, start=first):
            out[f"g{k}_kn"] = np.float32(np.float32(rule.half_max) ** rule.hill_n)
            out[f"g{k}_left"] = np.float32(grammar.unblocked(in_force, rule.blocked_by))
        up = [r for r in rules if r.direction == "increases"]
        down = [r for r in rules if r.direction == "decreases"]
        if up:
            out[f"bmax_{behaviour.name}"] = np.float32(max(grammar.per_step(r.saturation, behaviour.units, dt_min)
                                                           for r in up))
        if down:
            out[f"bmin_{behaviour.name}"] = np.float32(min(grammar.per_step(r.saturation, behaviour.units, dt_min)
                                                           for r in down))
    return out


def params_tuple(type_name: str, declared, params, program_grammar, dt_min: float, in_force: dict):
    """The named tuple a type's compiled kernels read as `p`."""
    values = _numbers(params)
    for behaviour in declared.behaviours:
        values[f"base_{behaviour.name}"] = np.float64(float(behaviour.base(params)))
    values.update(grammar_constants(program_grammar, dt_min, in_force))
    names = tuple(values)
    return _tuple_type(type_name, names)(**values)


_RECORD_DTYPES = {bool: np.bool_, np.int64: np.int64, np.float64: np.float64, np.float32: np.float32}


def params_record(values) -> np.ndarray:
    """The named tuple's numbers as a one-element NumPy record array, each field of the same type
    (numba types a record field as it types the tuple's member: rules read `p.name` alike). The CPU
    kernels take this: numba's dispatcher types an array from a cache, but a named tuple field by
    field in Python (~4 us a call for 40 fields)."""
    names = values._fields or ("no_parameters",)
    numbers = tuple(values) or (np.int64(0),)
    dtype = np.dtype([(name, _RECORD_DTYPES[type(v)]) for name, v in zip(names, numbers)], align=True)
    record = np.zeros(1, dtype=dtype)
    record[0] = numbers
    return record


def record_as_tuple(record):
    """The named tuple of a params_record array (the GPU's kernels take the tuple)."""
    return _tuple_type("record", record.dtype.names)(*(record[0][name] for name in record.dtype.names))

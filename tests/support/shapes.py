"""Check a JSON payload against a TypedDict of contract/outputs.py: keys and value types, recursively.

``output_shape_errors`` checks one stored model output against its TypedDict (``AllOutputs``
names them), with the key families ``ScoreRow`` describes in prose spelled out.
"""
from __future__ import annotations

import types
from typing import Any, Literal, Mapping, Union, get_args, get_origin, get_type_hints, is_typeddict

from contract.outputs import AllOutputs, ScoreRow

Extensions = Mapping[Any, Mapping[str, Any]]  # TypedDict -> further optional keys and their types

OUTPUT_TYPES = get_type_hints(AllOutputs)  # output name -> its TypedDict

# ScoreRow declares some keys and describes the rest in its docstring: per_horizon_<figure>[h-1]
# for the one-day figures, and <figure>_low/_high with per_horizon_<figure>_low/_high (the 95%
# bootstrap interval) for rmse_ratio, r2_zero, r2_mean and mase. models/report.py builds those
# keys from the figure names; they are spelled out here so an unknown key still fails.
ONE_DAY_FIGURES = ("rmse", "mae", "mape", "mase", "dm_stat", "dm_pvalue", "rmse_ratio", "r2_zero", "r2_mean")
BOOTSTRAPPED = ("rmse_ratio", "r2_zero", "r2_mean", "mase")
SCORE_ROW_FAMILIES: dict[str, Any] = {
    **{f"per_horizon_{f}": list[float | None] for f in ONE_DAY_FIGURES},
    **{f"{f}_{end}": float | None for f in BOOTSTRAPPED for end in ("low", "high")},
    **{f"per_horizon_{f}_{end}": list[float | None] for f in BOOTSTRAPPED for end in ("low", "high")},
}
EXTENSIONS: Extensions = {ScoreRow: SCORE_ROW_FAMILIES}


def output_shape_errors(name: str, payload: Any, path: str | None = None) -> list[str]:
    """Where the stored output ``name`` departs from its TypedDict in contract/outputs.py."""
    return shape_errors(payload, OUTPUT_TYPES[name], path or name, EXTENSIONS)


def shape_errors(value: Any, hint: Any, path: str = "$", extensions: Extensions | None = None) -> list[str]:
    """Where ``value`` departs from ``hint``, one line each (empty: it fits).

    A TypedDict must hold all of its ``__required_keys__`` and nothing outside
    ``__required_keys__ | __optional_keys__`` (plus the optional keys ``extensions`` gives it:
    for key families a TypedDict describes in prose); ``float`` takes a JSON integer too
    (``1.0`` may be stored as ``1``), never a bool; ``Any`` takes anything.
    """
    ext = extensions or {}
    if hint is Any:
        return []
    if hint is None or hint is type(None):
        return [] if value is None else [f"{path}: {_name(value)} where None is expected"]
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        options = [shape_errors(value, option, path, ext) for option in get_args(hint)]
        if any(not errors for errors in options):
            return []
        return [f"{path}: {_name(value)} fits none of {hint}"]
    if origin is Literal:
        return [] if value in get_args(hint) else [f"{path}: {value!r} not one of {get_args(hint)}"]
    if is_typeddict(hint):
        return _typeddict_errors(value, hint, path, ext)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {_name(value)} where a list is expected"]
        (item,) = get_args(hint)
        return [e for i, v in enumerate(value) for e in shape_errors(v, item, f"{path}[{i}]", ext)]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {_name(value)} where a dict is expected"]
        key_hint, value_hint = get_args(hint)
        return [e for k, v in value.items()
                for e in shape_errors(k, key_hint, f"{path} key {k!r}") + shape_errors(v, value_hint, f"{path}[{k!r}]", ext)]
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(hint, type):
        ok = isinstance(value, hint)
    else:
        raise TypeError(f"{path}: no check for the annotation {hint!r}")
    return [] if ok else [f"{path}: {_name(value)} where {hint.__name__} is expected"]


def _typeddict_errors(value: Any, hint: Any, path: str, ext: Extensions) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {_name(value)} where a {hint.__name__} (dict) is expected"]
    fields = {**ext.get(hint, {}), **get_type_hints(hint)}  # a declared key keeps its declared type
    required = set(hint.__required_keys__)
    optional = set(hint.__optional_keys__) | (set(fields) - required)
    errors = [f"{path}: {hint.__name__} lacks the required key {k!r}" for k in sorted(required - set(value))]
    errors += [f"{path}: {hint.__name__} has no key {k!r}" for k in sorted(set(value) - required - optional)]
    for key in sorted(set(value) & set(fields)):
        errors += shape_errors(value[key], fields[key], f"{path}[{key!r}]", ext)
    return errors


def _name(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]



"""BFCL's AST checker rules, for calls a model returned through the OpenAI API.

The rules are the leaderboard's (its `ast_checker`), written here from their description:
- irrelevance categories: right when no call is made; live_relevance: right when one is.
- otherwise the number of calls must equal the number of expected calls; parallel categories
  pair calls with expected calls one to one in any order, the others compare in order.
- a call matches when its name is the expected function's, every required parameter is there,
  every parameter it passes is declared and listed in the answer, each value has the declared
  type and is one of the accepted values, and every listed parameter it leaves out accepts `""`
  (may be omitted).
- types are BFCL's Python ones; an int is accepted for a float; a value of the answer's own type
  is accepted where the answer's type differs from the declared one (BFCL's "variable" case,
  compared exactly). Strings compare after BFCL's normalisation (case, spaces and `,./-_*^`
  ignored; `'` read as `"`). A dict parameter, and each dict of a list-of-dicts parameter, is
  compared key by key against accepted values per key; deeper values and other lists compare
  as written, element by element, in order.

Where this differs from the leaderboard (deliberately, see docs/eval.md): int-for-float and the
string normalisation apply at every depth, not only at the top level, because JSON arguments
do not tell `1` from `1.0`; and parallel calls are paired by a real matching, where BFCL's
greedy pairing can refuse a right answer given in another order (parallel_178).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from strictcall.eval.data import NO_CALL, SOME_CALL

Call = dict[str, dict[str, Any]]  # {BFCL function name: arguments}, one call

# BFCL's Python types per dialect type; anything else is sent as a string (see dialect.py).
_PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_LIST_TYPES = ("array", "tuple")
_IGNORED = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str = ""  # why not, in a few words; empty when correct

    def __bool__(self) -> bool:
        return self.correct


_RIGHT = Verdict(True)


def normalize(text: str) -> str:
    """BFCL's string normalisation: `April 1, 2024` and `april 1 2024` compare equal."""
    return _IGNORED.sub("", text).lower().replace("'", '"')


def check(
    category: str, functions: list[dict], calls: list[Call], ground_truth: list[Call] | None
) -> Verdict:
    """Is this list of calls a right answer to a BFCL question of `category`?"""
    if category in NO_CALL:
        return _RIGHT if not calls else Verdict(False, f"{len(calls)} call(s), expected none")
    if category in SOME_CALL:
        return _RIGHT if calls else Verdict(False, "no call, expected at least one")
    expected = ground_truth or []
    if len(calls) != len(expected):
        return Verdict(False, f"{len(calls)} call(s), expected {len(expected)}")
    if "parallel" in category:
        return _check_any_order(functions, calls, expected)
    for call, answer in zip(calls, expected, strict=True):
        verdict = check_call(_describe(functions, answer), call, answer)
        if not verdict:
            return verdict
    return _RIGHT


def _describe(functions: list[dict], answer: Call) -> dict:
    name = next(iter(answer))
    for function in functions:
        if function["name"] == name:
            return function
    raise ValueError(f"the answer names {name!r}, which the question does not declare")


def _check_any_order(functions: list[dict], calls: list[Call], expected: list[Call]) -> Verdict:
    """Right when calls and expected calls pair up one to one, in whatever order."""
    fits: list[list[int]] = []
    for n, answer in enumerate(expected):
        description = _describe(functions, answer)
        verdicts = [check_call(description, call, answer) for call in calls]
        fits.append([i for i, v in enumerate(verdicts) if v])
        if not fits[-1]:
            reasons = "; ".join(dict.fromkeys(v.reason for v in verdicts))
            return Verdict(False, f"no call matches expected call {n}: {reasons}")
    paired: dict[int, int] = {}  # call -> expected call

    def pair(n: int, seen: set[int]) -> bool:  # augmenting path (Kuhn)
        for i in fits[n]:
            if i not in seen:
                seen.add(i)
                if i not in paired or pair(paired[i], seen):
                    paired[i] = n
                    return True
        return False

    for n in range(len(expected)):
        if not pair(n, set()):
            return Verdict(False, f"expected call {n} matches only calls that others need")
    return _RIGHT


def check_call(function: dict, call: Call, answer: Call) -> Verdict:
    """One call against one expected call of `function` (BFCL's description of it)."""
    name, accepted = next(iter(answer.items()))
    called = next(iter(call), None)
    if called != name:
        return Verdict(False, f"called {called!r}, expected {name!r}")
    arguments = call[name]
    params = function.get("parameters") or {}
    declared = params.get("properties") or {}
    for param in params.get("required") or []:
        if param not in arguments:
            return Verdict(False, f"missing required parameter {param!r}")
    for param, value in arguments.items():
        if param not in declared or param not in accepted:
            return Verdict(False, f"unexpected parameter {param!r}")
        verdict = _check_value(param, value, declared[param], accepted[param])
        if not verdict:
            return verdict
    for param, values in accepted.items():
        if param not in arguments and "" not in values:
            return Verdict(False, f"parameter {param!r} left out, and the answer needs it")
    return _RIGHT


def _answer_type(accepted: list) -> type | None:
    return next((type(v) for v in accepted if v != ""), None)


def _check_value(param: str, value: Any, schema: dict, accepted: list) -> Verdict:
    declared = schema.get("type", "string")
    expected = _PY_TYPES.get(declared, str)
    answer_type = _answer_type(accepted)
    variable = answer_type is not None and answer_type is not expected
    if expected is float and type(value) is int:
        value = float(value)
    items = (schema.get("items") or {}).get("type") if declared in _LIST_TYPES else None
    if type(value) is expected:
        if items is not None and not _items_typed(value, _PY_TYPES.get(items, str), accepted):
            return Verdict(False, f"{param!r}: items of {value!r} are not all {items}")
    elif type(value) is answer_type:
        variable = True
    else:
        return Verdict(
            False, f"{param!r}: expected {declared}, got {type(value).__name__} {value!r}"
        )
    if variable:  # the answer spells the value in another type: compare it as it is written
        ok = value in accepted
    elif expected is dict:
        ok = any(_each_key(value, a) for a in accepted if isinstance(a, dict))
    elif items == "dict":
        ok = any(_dicts(value, a) for a in accepted if isinstance(a, list))
    else:
        ok = any(_same(value, a) for a in accepted)
    return _RIGHT if ok else Verdict(False, f"{param!r}: {value!r} is not one of {accepted!r}")


def _items_typed(value: Any, item_type: type, accepted: list) -> bool:
    """BFCL's one-level item check: every item has the item type (or the type the answer's
    items are written in), for at least one accepted list; a non-list answer (`""`) passes."""
    for answer in accepted:
        if not isinstance(answer, list):
            return True
        answer_type = _answer_type(answer)
        if all(_is_type(item, item_type) or type(item) is answer_type for item in value):
            return True
    return False


def _is_type(value: Any, expected: type) -> bool:
    return type(value) is expected or (expected is float and type(value) is int)


def _each_key(value: Any, answer: dict) -> bool:
    """A dict against an answer that lists accepted values per key (`""`: may be left out)."""
    if not isinstance(value, dict):
        return False
    for key, item in value.items():
        if key not in answer or not any(_same(item, a) for a in _alternatives(answer[key])):
            return False
    return all(key in value or "" in _alternatives(v) for key, v in answer.items())


def _alternatives(values: Any) -> list:
    return values if isinstance(values, list) else [values]


def _dicts(value: Any, answer: list) -> bool:
    """A list of dicts against one accepted list: same length, each dict key by key."""
    return len(value) == len(answer) and all(
        isinstance(a, dict) and _each_key(v, a) for v, a in zip(value, answer, strict=True)
    )


def _same(value: Any, answer: Any) -> bool:
    """`value` equals one accepted value: strings normalised, containers item by item."""
    if isinstance(answer, str):
        return isinstance(value, str) and normalize(value) == normalize(answer)
    if isinstance(answer, list):
        return (
            isinstance(value, list)
            and len(value) == len(answer)
            and all(_same(v, a) for v, a in zip(value, answer, strict=True))
        )
    if isinstance(answer, dict):
        return (
            isinstance(value, dict)
            and value.keys() == answer.keys()
            and all(_same(value[k], a) for k, a in answer.items())
        )
    if isinstance(value, (dict, list, str)):
        return False
    return value == answer  # numbers and booleans, as Python compares them (5 == 5.0)

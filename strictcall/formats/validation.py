"""The last line of defence: a call whose arguments break its tool's schema is not a call.

The grammar already guarantees valid arguments for what the model writes; this check (once per
call, linear in its size) also covers text the grammar does not govern the same way (a JSON
answer whose strings spell a call, output parsed without a grammar). Such a call is withdrawn
and its text returned as content.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import jsonschema

ArgumentsCheck = Callable[[str, str], str | None]


@functools.lru_cache(maxsize=1024)
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def arguments_check(schemas: dict[str, dict] | None) -> ArgumentsCheck | None:
    """A check of (name, arguments JSON) against each tool's schema; None if none is known."""
    known = {name: s for name, s in (schemas or {}).items() if s}
    if not known:
        return None
    validators = {name: _validator(json.dumps(s, sort_keys=True)) for name, s in known.items()}

    def check(name: str, arguments: str) -> str | None:
        validator = validators.get(name)
        if validator is None:
            return None
        try:
            value = json.loads(arguments)
        except ValueError:
            return "arguments are not JSON"
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        return None if error is None else f"arguments break the schema: {error.message[:200]}"

    return check

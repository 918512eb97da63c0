"""What llguidance itself says about a schema: does it compile, and how it writes a number.

Its messages are mapped to the keyword at fault, so a refusal names what to change.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator

import llguidance


def numbers(values: list) -> Iterator[float | int]:
    """Floats, and integers beyond double precision, anywhere inside `values`."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, float) or (isinstance(value, int) and abs(value) > 2**53):
            yield value
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())


class _Bytes:
    """A byte-level vocabulary: enough to ask llguidance what text a grammar forces."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]

    def __call__(self, data: bytes) -> list[int]:
        return list(data)


@functools.cache
def _byte_tokenizer() -> llguidance.LLTokenizer:
    return llguidance.LLTokenizer(llguidance.TokenizerWrapper(_Bytes()), slices=[])


@functools.lru_cache(maxsize=4096)
def written_by_llguidance(number: float | int) -> str | None:
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps({"const": number}))
    matcher = llguidance.LLMatcher(_byte_tokenizer(), grammar, log_level=0)
    if matcher.is_error():
        return None
    return matcher.compute_ff_bytes().decode("utf-8", errors="replace") or None


_UNIMPLEMENTED = re.compile(r'Unimplemented keys: \["([^"]+)"')


# Keywords llguidance's "Unsatisfiable schema: ..." messages may name, the last one mentioned
# being the one that made the schema impossible ("minItems (1) is greater than maxItems (0)").
_BOUND_KEYWORDS = re.compile(
    r"\b(minItems|maxItems|minLength|maxLength|minimum|maximum|exclusiveMinimum|"
    r"exclusiveMaximum|minProperties|maxProperties|multipleOf|required|enum|const)\b"
)


@functools.lru_cache(maxsize=4096)
def compile_problem(schema_json: str) -> tuple[str, str] | None:
    grammar = llguidance.LLMatcher.grammar_from_json_schema(schema_json)
    message = llguidance.LLMatcher.validate_grammar(grammar)
    if not message:
        return None
    if match := _UNIMPLEMENTED.search(message):
        keyword = match.group(1)
    elif message.startswith("Unknown format"):
        keyword = "format"
    elif "integer range" in message or "number range" in message:
        keyword = "minimum/maximum"
    elif "regex" in message:
        keyword = "pattern"
    elif "Pointer" in message or "$ref" in message:
        keyword = "$ref"
    elif "Unsatisfiable" in message and (named := _BOUND_KEYWORDS.findall(message)):
        keyword = named[-1]
    elif "Unsatisfiable" in message and "property" in message:
        keyword = "required"
    else:
        keyword = "$"
    first_line = message.strip().splitlines()[0][:300]
    return keyword, f"cannot be enforced: {first_line}"

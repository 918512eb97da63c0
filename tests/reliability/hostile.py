"""Hostile input for grammar-injection tests: strings, schemas, tokenizers, a random decoder.

Everything is derived from the format registry, so families registered later are covered
without touching these tests.
"""

from __future__ import annotations

import json
import random
from functools import cache

import llguidance
import llguidance.hf
import numpy as np
from transformers import AutoTokenizer

from strictcall.formats import Format, format_names, get_format
from strictcall.grammar.commit import spelled_forced_token
from strictcall.grammar.lark import regex_escape
from tests.conftest import tiny_model

# Quoting, escaping and Lark syntax that a careless grammar builder would paste in raw.
SYNTAX = [
    '"',
    "\\",
    '\\"',
    "'",
    "\n",
    "\r\n\t",
    '"}',
    '"}}\n',
    '", "arguments": {}}',
    "%ignore /./\nstart: /.*/",
    '/ | "x" | /',
    "<[1]>",
    "${x}{{y}}",
    "\\u0022\\n",
    "```json",
    "\u2028é漢🙂",
]

# Markers of families that may not be registered on this branch (the registry adds its own).
OTHER_MARKERS = [
    "[TOOL_CALLS]",
    "[ARGS]",
    "<|python_tag|>",
    "<|eom_id|>",
    "<|start|>",
    "<|channel|>",
    "<|constrain|>",
    "<|message|>",
    "<|end|>",
    "<|call|>",
    "<|return|>",
    "<function=",
    "</function>",
    "<parameter=",
    "<｜tool▁calls▁begin｜>",
    "<|tool_calls_section_begin|>",
    "functools[",
    "<think>",
    "</think>",
]


def format_markers(fmt: Format) -> list[str]:
    """The markers a format writes (whole, and split at whitespace)."""
    texts: list[str] = []
    s = fmt.syntax
    if s is not None:
        texts += [s.section_start, s.call_start, s.call_end, s.separator, s.section_end]
    if fmt.reasoning is not None:
        texts += [fmt.reasoning.start, fmt.reasoning.end]
    out = [t for t in texts if t.strip()]
    out += [p for t in texts for p in t.split()]
    return list(dict.fromkeys(out))


def all_markers() -> list[str]:
    found = [m for name in format_names() for m in format_markers(get_format(name))]
    return list(dict.fromkeys(found + OTHER_MARKERS))


def hostile_strings(fmt: Format) -> list[str]:
    """Strings to plant in a schema for `fmt`: syntax, every marker, and its own markers
    wrapped in a call-closing sequence (what an injection would try)."""
    own = format_markers(fmt)
    escapes = [f'"}}}}{m}{own[0] if own else ""}' for m in own]
    return list(dict.fromkeys(SYNTAX + all_markers() + escapes))


def hostile_schema(h: str, key: str | None = None) -> dict:
    """A tool schema with `h` in every place a client controls.

    `key` replaces `h` as the top-level property name, for formats whose argument names
    cannot spell it (a Python keyword argument, an XML parameter name): those refuse `h` there
    by keyword, and still get `h` in every value and nested key.
    """
    top = h if key is None else key
    return {
        "type": "object",
        "title": h,
        "description": h,
        "properties": {
            "e": {"enum": [h, "plain"], "description": h},
            # mixed types: a format that cannot write h here (a raw XML value that would read
            # as a number or a list) may narrow to 7; decoding checks every output against it
            "m": {"enum": [h, 7]},
            "c": {"const": h},
            top: {"type": "integer", "minimum": 0, "maximum": 99},
            "p": {"type": "string", "pattern": "^" + regex_escape(h) + "$"},
            "n": {"type": "object", "properties": {h: {"enum": [h]}}, "required": [h]},
            "d": {"type": "string", "maxLength": 3, "default": h, "examples": [h]},
        },
        "required": ["e", "c", top, "p", "n"],
    }


def hostile_instance(h: str, key: str | None = None) -> dict:
    """A valid instance of `hostile_schema(h, key)` carrying `h` in every value and key."""
    return {"e": h, "c": h, (h if key is None else key): 42, "p": h, "n": {h: h}, "d": "ok"}


def writable(fmt, h: str) -> tuple[bool, str | None]:
    """(enforced, key) for the hostile schema of `h` under `fmt`.

    A format whose argument names cannot spell `h` (a Python keyword argument, an XML
    parameter name) must refuse it by `properties`; the schema is then tried with `key`
    replacing `h` as the top-level name. A format that cannot write a value the schema fixes
    (a raw XML value holding the format's own markers) must refuse it by that keyword:
    (False, key). Either way nothing is half-enforced.
    """
    from strictcall.formats import ConstraintSpec, ToolSpec
    from strictcall.grammar.schema import SchemaError, normalize_parameters

    key = None
    while True:
        schema = normalize_parameters(hostile_schema(h, key))
        try:
            fmt.grammar(ConstraintSpec(tools=(ToolSpec("t", schema),), mode="required"))
            return True, key
        except SchemaError as exc:
            if exc.keyword == "properties" and key is None:
                key = "k"
                continue
            assert exc.keyword in ("const", "enum", "pattern"), exc
            return False, key


# ---- tokenizers ----------------------------------------------------------------------------
@cache
def tokenizer(markers_as_tokens: bool):
    """The tiny Qwen tokenizer; with `markers_as_tokens`, every known marker is also one added
    token, as in the families' real vocabularies. Returns (hf, lltok, special_tokens)."""
    hf = AutoTokenizer.from_pretrained(tiny_model())
    if markers_as_tokens:
        hf.add_tokens([m for m in all_markers() if m.strip() == m and m not in hf.get_vocab()])
    special = {tok.content: int(i) for i, tok in hf.added_tokens_decoder.items()}
    lltok = llguidance.hf.from_tokenizer(hf, n_vocab=len(hf))
    return hf, lltok, special


# ---- a random decoder under the grammar ----------------------------------------------------
def _allowed(matcher: llguidance.LLMatcher, vocab: int) -> np.ndarray:
    bits = np.unpackbits(
        np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little"
    )
    return np.flatnonzero(bits[:vocab])


@cache
def _closing_ids(markers_as_tokens: bool) -> frozenset[int]:
    """Tokens that end things (quotes, brackets, markers, EOS): favouring them keeps a random
    walk short, as a logit_bias does for the tiny model."""
    hf, lltok, special = tokenizer(markers_as_tokens)
    ids = set(special.values()) | {hf.eos_token_id}
    for i in range(len(hf)):
        text = lltok.decode_bytes([i])
        if text and (text[:1] in b'"}]),' or text[-1:] in b'"}]'):
            ids.add(i)
    return frozenset(ids)


def random_walk(
    grammar: str,
    seed: int,
    markers_as_tokens: bool,
    max_tokens: int = 400,
    extra_markers: tuple[str, ...] = (),
):
    """Decode at random under `grammar`, as a random-weight model would, with the engine's
    own recovery for tokens the mask allows but the matcher refuses.

    `extra_markers` are tried too, spelled in ordinary tokens even where they are special
    tokens (what a model can always attempt).
    Returns (text, finished): the text the parser would read, and whether the grammar ended.
    """
    hf, lltok, special = tokenizer(markers_as_tokens)
    rng = random.Random(seed)
    closing = _closing_ids(markers_as_tokens)
    # markers this grammar mentions (as literals or inside regexes), written whole now and then:
    # free text (reasoning, notes) ends only at one, which a token-by-token walk rarely spells
    markers = [
        [special[m]] if m in special else lltok.greedy_tokenize(m)
        for m in all_markers()
        if m in grammar or regex_escape(m) in grammar
    ]
    markers += [lltok.greedy_tokenize(m) for m in extra_markers]
    matcher = llguidance.LLMatcher(
        lltok, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0
    )
    assert not matcher.is_error(), matcher.get_error()
    out: list[int] = []
    for _ in range(max_tokens):
        if matcher.is_stopped():
            break
        allowed = _allowed(matcher, len(hf)).tolist()
        if markers and len(allowed) > len(hf) // 2 and rng.random() < 0.25:
            ids = rng.choice(markers)
            n = matcher.try_consume_tokens(ids)
            if n:
                out += ids[:n]
                continue
        assert allowed, f"dead end after {lltok.decode_str(out)!r}: {matcher.get_error()}"
        favoured = [t for t in allowed if t in closing]
        pool = favoured if favoured and rng.random() < 0.6 else allowed
        candidates = rng.sample(pool, min(len(pool), 4))
        token = next((t for t in candidates if matcher.try_consume_tokens([t]) == 1), None)
        if token is None:  # every pick refused: what the engine does, spell the forced text
            token = spelled_forced_token(matcher, lltok)
            assert token is not None and matcher.try_consume_tokens([token]) == 1, (
                f"no way on after {lltok.decode_str(out)!r}"
            )
        out.append(token)
    finished = matcher.is_stopped()
    eos = {hf.eos_token_id}
    raw = b"".join(lltok.decode_bytes([t]) for t in out if t not in eos)
    text = raw.decode("utf-8", errors="replace")  # as the engine's detokenizer does
    return text, finished


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)

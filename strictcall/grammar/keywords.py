"""JSON Schema's keywords, to tell a misspelt one (`properites`) from an annotation.

A keyword the grammar does not know is ignored by every validator, so a typo silently drops a
constraint: `properites` would leave an object unconstrained. An unknown key that is close to
a real keyword is refused, naming the likely one; other unknown keys (annotations, `x-`
extensions, OpenAPI's `example`/`nullable`) stay accepted.
"""

from __future__ import annotations

import difflib

KEYWORDS = frozenset(
    {
        # core and applicators (draft 2020-12, with draft-07's spellings)
        *("$schema", "$id", "$ref", "$defs", "$anchor", "$comment", "$vocabulary"),
        *("$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "definitions"),
        *("allOf", "anyOf", "oneOf", "not", "if", "then", "else"),
        *("dependentSchemas", "dependencies", "prefixItems", "items", "additionalItems"),
        *("contains", "properties", "patternProperties", "additionalProperties"),
        *("propertyNames", "unevaluatedItems", "unevaluatedProperties"),
        # validation
        *("type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum"),
        *("exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
        *("uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties"),
        *("required", "dependentRequired"),
        # format, content and meta-data annotations
        *("format", "contentEncoding", "contentMediaType", "contentSchema"),
        *("title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples"),
        # OpenAPI's schema extras, common in generated tool schemas
        *("example", "nullable", "discriminator", "xml", "externalDocs"),
    }
)


def likely_keyword(key: str) -> str | None:
    """The keyword `key` is probably a misspelling of, or None (a keyword, or not close)."""
    if key in KEYWORDS or key.startswith("x-"):
        return None
    close = difflib.get_close_matches(key, KEYWORDS, n=1, cutoff=0.8)
    if not close and key.lower() != key:
        close = [k for k in KEYWORDS if k.lower() == key.lower()]
    return close[0] if close else None

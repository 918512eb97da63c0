"""`functools[{"name": "f", "arguments": {..}}, ...]` (FireFunction v2, Phi-4-mini).

The list has no closing marker. FireFunction's template writes earlier calls' arguments as a
JSON string (`tojson` of the string it is given), so those are read too.
"""

from strictcall.formats.base import Format
from strictcall.formats.bodies import JsonObjectBody, json_list

FUNCTOOLS = Format(
    name="phi4_mini_json",
    aliases=("functools", "firefunction", "firefunction_v2"),
    description="functools[{json}, ...] (FireFunction v2, Phi-4-mini)",
    syntax=json_list("functools", body=JsonObjectBody(string_args=True)),
)

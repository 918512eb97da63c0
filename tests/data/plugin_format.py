"""A user-defined tool-call format, loaded with `strictcall serve --tool-parser-plugin FILE.py`.

Calls look like `<<call get_weather>>{"city": "Paris"}<</call>>`, one per line. The declaration
below is all it takes: the grammar and the streaming parser are derived from it.
"""

from strictcall.formats import CallSyntax, Format, NamedJsonBody, register

register(
    Format(
        name="tagged_json",
        description="<<call NAME>>{json}<</call>> (a plugin example)",
        syntax=CallSyntax(
            call_start="<<call ",
            call_end="<</call>>",
            separator="\n",
            body=NamedJsonBody(name_suffix=">>"),
        ),
    )
)

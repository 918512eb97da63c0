"""The ../shared/conformance cases, for every registered format, whole and streamed."""

from __future__ import annotations

import pytest

from strictcall.formats import get_format
from strictcall.formats.types import assemble
from tests.formats.conformance import (
    DEVIATIONS,
    check,
    check_per_delta,
    chunkings,
    load_cases,
)


def _known(name: str) -> bool:
    try:
        get_format(name)
    except KeyError:
        return False
    return True


CASES = [c for c in load_cases() if _known(c["parser"])]
IDS = [c["id"] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case(case):
    if case["id"] in DEVIATIONS:
        pytest.skip(f"deliberate deviation: {DEVIATIONS[case['id']]}")
    fmt = get_format(case["parser"])
    if not case["streaming"]:
        check(case, fmt.parse(case["model_output"], case.get("tools")), streaming=False)
        return
    for how, pieces in chunkings(case).items():
        parser = fmt.stream(case.get("tools"))
        steps = [parser.feed(piece) for piece in pieces]
        steps[-1] = steps[-1] + parser.close()
        try:
            check(case, assemble([d for step in steps for d in step]), streaming=True)
            if how == "original":
                check_per_delta(case, steps)
        except AssertionError as exc:
            raise AssertionError(f"chunking {how!r}: {exc}") from None

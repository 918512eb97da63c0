"""Tokens the grammar forces next: the draft an engine may feed ahead in one forward pass.

Where the grammar leaves only one way on (the rest of a marker, `{"name": "get_weather",
"arguments": {"` once a call has started, closing brackets, the rest of an enum value),
llguidance knows the text that must follow and a tokenization of it. An engine feeds those
tokens together with the token it just sampled, so the model scores them all in one forward
pass, then keeps them only as far as its own choice, made position by position exactly as
without the draft, agrees (engines/embedded.py). A draft is a guess, never a decision: a
tokenization the model would not have chosen, or a token llguidance offers and then refuses,
costs a little wasted compute and changes nothing in the output.
"""

from __future__ import annotations

import llguidance

# Longest draft fed at once: forced runs longer than this are fed over several steps.
MAX_DRAFT = 16


def forced_tokens(matcher: llguidance.LLMatcher, limit: int = MAX_DRAFT) -> list[int]:
    """Up to `limit` tokens the grammar forces from the matcher's state (it is not changed)."""
    if limit <= 0 or matcher.is_stopped() or matcher.is_error():
        return []
    return matcher.compute_ff_tokens()[:limit]

"""The embedded engine's end-to-end tests, run unchanged with vLLM as the engine.

The fixtures they use are this folder's (conftest.py): one strictcall on one vLLM. Every
tool_choice mode, streaming and not, parallel_tool_calls=false, hostile schemas, a client that
hangs up, and padding rows; the Responses API with an MCP tool runs on a second strictcall that
uses the same vLLM through --engine-url.
"""

from __future__ import annotations

import pytest

from tests.api.test_padding_rows import test_padding_rows_are_never_sampled
from tests.api.test_responses import (
    mcp_servers,
    rc,
    test_mcp_call_over_http_runs_on_the_server,
    test_stream_events_are_well_formed_and_match_the_plain_answer,
    web,
)
from tests.api.test_tool_choice import (
    test_auto_mixes_text_and_calls_and_many_calls,
    test_call_cut_by_max_tokens_returns_what_was_generated,
    test_every_call_is_valid_in_every_mode,
    test_multi_turn_history_with_tool_results,
    test_stream_reassembles_to_the_same_message,
    token_ids,
)
from tests.conftest import Server
from tests.reliability.test_faults import (
    test_a_client_that_hangs_up_stops_its_generation_and_frees_its_slot,
)
from tests.reliability.test_hostile_schemas import (
    closing_bias,
    test_served_schema_is_enforced_or_refused_by_keyword,
)
from tests.tools.procs import STDIO_COMMAND
from tests.tools.web import API_KEY

__all__ = [  # run here, on vLLM
    "closing_bias",
    "mcp_servers",
    "rc",
    "test_a_client_that_hangs_up_stops_its_generation_and_frees_its_slot",
    "test_auto_mixes_text_and_calls_and_many_calls",
    "test_call_cut_by_max_tokens_returns_what_was_generated",
    "test_every_call_is_valid_in_every_mode",
    "test_mcp_call_over_http_runs_on_the_server",
    "test_multi_turn_history_with_tool_results",
    "test_padding_rows_are_never_sampled",
    "test_served_schema_is_enforced_or_refused_by_keyword",
    "test_stream_events_are_well_formed_and_match_the_plain_answer",
    "test_stream_reassembles_to_the_same_message",
    "token_ids",
    "web",
]


@pytest.fixture(scope="module")
def tool_server(web, mcp_servers, tmp_path_factory, demo_model, vllm_server):
    """test_responses.py's tool server, on the shared vLLM (--engine-url)."""
    specs = ",".join(
        ["demo", f"http={mcp_servers['http'].address}", f"flaky={mcp_servers['flaky'].address}"]
    )
    server = Server(
        demo_model,
        *("--engine-url", vllm_server.vllm_url),
        *("--tool-server", specs + ",down=127.0.0.1:9"),
        *("--tool-server", f"local={STDIO_COMMAND}"),
        *("--store", str(tmp_path_factory.mktemp("store") / "responses.db")),
        *("--tool-timeout", "3", "--max-tool-calls", "4", "--python-timeout", "10"),
        "--browser-allow-private",
        "--allow-request-mcp-urls",
        env={"EXA_API_KEY": API_KEY, "EXA_BASE_URL": web.url},
    )
    yield server
    server.stop()

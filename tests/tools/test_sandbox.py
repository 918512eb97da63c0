"""The python sandbox: real code runs, and what must be contained is (real processes).

Each containment case runs twice where the machine allows: with every layer, and with the
in-process audit hook off, to show what the kernel layers (namespaces, rlimits, uid) hold alone.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from strictcall.tools.python import PythonContainer, code_of
from strictcall.tools.sandbox import SandboxLimits, make_workdir, remove_workdir, run_python

LIMITS = SandboxLimits(wall_seconds=10, cpu_seconds=5, memory_mb=512, output_bytes=8192)
KERNEL_ONLY = SandboxLimits(
    wall_seconds=10, cpu_seconds=5, memory_mb=512, output_bytes=8192, audit_hook=False
)


def run(code: str, limits: SandboxLimits = LIMITS, workdir: str | None = None):
    own = workdir is None
    workdir = workdir or make_workdir(limits)
    try:
        return asyncio.run(run_python(code, workdir, limits))
    finally:
        if own:
            remove_workdir(workdir)


@pytest.fixture(scope="module")
def kernel() -> dict:
    """Which kernel layers this machine gives the sandbox."""
    return run("pass", KERNEL_ONLY).isolation


@pytest.fixture
def listener():
    """A loopback TCP server the code will try to reach."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


def test_runs_code_and_prints_the_last_expression():
    r = run("import math, json\nx = [math.factorial(5)]\nprint(json.dumps(x))\nsum(range(10))")
    assert r.ok, r.output
    assert r.output == "[120]\n45\n"
    assert r.isolation["hook"] is True


def test_scientific_python_still_works():
    r = run("import numpy as np\nnp.linalg.solve(np.array([[2.0, 0], [0, 4]]), [2, 8]).tolist()")
    assert r.ok, r.output
    assert r.output.strip() == "[1.0, 2.0]"


def test_an_error_is_a_result_with_its_traceback():
    r = run("def f():\n    return 1 / 0\nf()")
    assert r.exit_code == 1
    assert 'File "<python>", line 2, in f' in r.output
    assert r.output.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "<string>" not in r.output  # the sandbox's own frames are not shown


def test_files_persist_within_a_container_and_vanish_with_it():
    async def main():
        box = PythonContainer(LIMITS)
        first = await box.run("open('notes.txt', 'w').write('kept')")
        second = await box.run("print(open('notes.txt').read())")
        path = box._dir
        box.close()
        return first, second, path

    first, second, path = asyncio.run(main())
    assert first.error is None and second.text == "kept"
    assert not Path(path).exists()


def test_code_of_reads_json_or_raw_code():
    assert code_of('{"code": "print(1)"}') == "print(1)"
    assert code_of("print(2)") == "print(2)"


@pytest.mark.parametrize("layers", ["all", "kernel"])
def test_network_is_unreachable(listener, kernel, layers):
    if layers == "kernel" and kernel["network"] != "namespace":
        pytest.skip("no network namespace here: the audit hook is the only network guard")
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {listener}), timeout=2)"
    r = run(code, LIMITS if layers == "all" else KERNEL_ONLY)
    assert r.exit_code == 1
    expected = "not allowed" if layers == "all" else "Network is unreachable"
    assert expected in r.output


def test_writing_outside_its_directory_is_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')",
        f"import os\nos.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)",
        f"import shutil\nopen('a', 'w').close()\nshutil.copyfile('a', {str(target)!r})",
        f"import os\nos.mkdir({str(tmp_path / 'dir')!r})",
        "open('../escaped.txt', 'w')",
    ):
        r = run(code)
        assert r.exit_code == 1 and "PermissionError" in r.output, (code, r.output)
    assert list(tmp_path.iterdir()) == []


def test_writing_outside_is_refused_by_the_kernel_when_it_runs_as_nobody(tmp_path, kernel):
    if kernel["user"] != "nobody":
        pytest.skip("the sandbox cannot drop to nobody here (not root, or Python is unreadable)")
    r = run(f"open({str(tmp_path / 'x')!r}, 'w')", KERNEL_ONLY)
    assert "Permission denied" in r.output


def test_a_fork_bomb_is_contained():
    started = time.monotonic()
    r = run("import os\nwhile True:\n    os.fork()")
    assert r.exit_code == 1 and "os.fork is not allowed" in r.output
    r = run("import subprocess\nsubprocess.run(['sh', '-c', ':(){ :|:& };:'])")
    assert "not allowed" in r.output
    r = run("import multiprocessing\nmultiprocessing.Process(target=print).start()")
    assert "not allowed" in r.output
    assert time.monotonic() - started < 20


def test_a_fork_bomb_is_bounded_by_the_kernel_alone(kernel):
    if not kernel["nproc"]:
        pytest.skip("RLIMIT_NPROC does not bind here (root without a user namespace)")
    code = (
        "import os, time\nn = 0\ntry:\n    while n < 1000:\n        if os.fork() == 0:\n"
        "            time.sleep(20)\n            os._exit(0)\n        n += 1\n"
        "except OSError as exc:\n    print('stopped after', n, exc)\n"
    )
    r = run(code, KERNEL_ONLY)
    assert "stopped after" in r.output


def test_processes_it_leaves_behind_die_with_it(kernel):
    if not kernel["pid_namespace"]:
        pytest.skip("no PID namespace here")
    marker = f"strictcall-orphan-{os.getpid()}"
    code = f"""
import os, sys, time
for _ in range(3):
    if os.fork() == 0:
        os.setsid()  # out of the process group the supervisor kills
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "{marker}"])
time.sleep(1)
alive = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        alive += "{marker}" in open(f"/proc/{{pid}}/cmdline").read()
    except OSError:
        pass
print("alive", alive)
"""
    r = run(code, SandboxLimits(wall_seconds=10, audit_hook=False))
    assert r.output.startswith("alive 3"), r.output
    time.sleep(0.5)
    assert not [cmd for cmd in _command_lines() if marker in cmd]


def _command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        try:
            lines.append((entry / "cmdline").read_bytes().decode(errors="replace"))
        except OSError:
            continue
    return lines


def test_printing_without_end_is_cut_and_stopped():
    started = time.monotonic()
    r = run("while True:\n    print('spam' * 100)")
    assert r.truncated and len(r.output) <= LIMITS.output_bytes
    assert "output truncated" in r.for_model()
    assert time.monotonic() - started < 5


def test_memory_cpu_and_wall_clock_are_limited():
    r = run("x = bytearray(2 * 1024**3)")
    assert "MemoryError" in r.output
    r = run("while True:\n    pass", SandboxLimits(wall_seconds=30, cpu_seconds=1))
    assert r.timed_out and r.exit_code is not None and r.exit_code < 0
    r = run("import time\ntime.sleep(30)", SandboxLimits(wall_seconds=1))
    assert r.timed_out
    assert "time limit" in r.for_model()


def test_the_calling_process_stays_healthy(listener):
    """After all of the above, this process (the server, in production) still works."""
    for code in ("import os\nos.kill(os.getppid(), 9)", "import os\nos.killpg(0, 9)"):
        run(code)
    with socket.create_connection(("127.0.0.1", listener), timeout=2):
        pass
    assert run("print('still fine')").output == "still fine\n"

"""Run untrusted Python in a separate, limited process (the `python` tool's engine).

Layers, strongest first; each run reports which ones held (`SandboxResult.isolation`):

1. kernel: a new network namespace (no interface but a loopback that is down), via
   unshare(CLONE_NEWUSER | CLONE_NEWNET) when unprivileged user namespaces are available, or
   CLONE_NEWNET alone when the server runs as root;
2. kernel: when the server runs as root, the code runs as `nobody`, so it cannot write
   anywhere but its own directory and world-writable places, nor signal the server;
3. kernel: resource limits (CPU seconds, address space, file size, processes, open files);
4. the parent: a wall-clock limit and an output cap, after which the process group is killed;
5. in-process: an audit hook (PEP 578) installed before the code runs, refusing sockets,
   process creation, ctypes, signals to other processes and writes outside the working
   directory. It is the only network guard where namespaces are unavailable; it stops
   ordinary code, not a determined attacker (audit hooks are not a security boundary).

The child is a fresh `python -I` (no PYTHONPATH, no user site-packages) with a clean
environment, started in its own session, its working directory a private temporary one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
from dataclasses import asdict, dataclass, field

_NOBODY = 65534
_MARK = "\x00strictcall-sandbox "


@dataclass(frozen=True)
class SandboxLimits:
    wall_seconds: float = 30.0
    cpu_seconds: int = 20
    memory_mb: int = 1024
    file_size_mb: int = 64
    processes: int = 64  # tasks the code may own (threads count); fork is refused anyway
    open_files: int = 256
    output_bytes: int = 64 * 1024
    isolate_network: bool = True
    drop_root: bool = True
    audit_hook: bool = True  # tests turn it off to show what the kernel layers hold alone


@dataclass
class SandboxResult:
    output: str
    exit_code: int | None
    timed_out: bool = False
    truncated: bool = False
    isolation: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.truncated

    def for_model(self) -> str:
        """What the model reads back."""
        parts = [self.output.rstrip("\n")] if self.output.strip() else []
        if self.truncated:
            parts.append("[output truncated: the process was stopped at the output limit]")
        if self.timed_out:
            parts.append("[stopped: time limit exceeded]")
        elif self.exit_code not in (0, None):
            parts.append(f"[exit code {self.exit_code}]")
        return "\n".join(parts) if parts else "[no output]"


# The child's first code: isolate, limit, hook, then run the user's code from stdin. It must
# not import anything the user's code should not get (ctypes is dropped before the code runs).
_BOOTSTRAP = r"""
import json, os, sys
cfg = json.loads(sys.argv[1])
code = sys.stdin.read()
devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(devnull, 0)
os.close(devnull)
report = {"network": "none", "pid_namespace": False, "user": "same", "nproc": False,
          "hook": False}

def _relay(pid, in_init=False):
    # The parent side of a fork: wait for the child and end the same way. An init cannot
    # signal itself, so it exits 128+N and the outer process turns that back into signal N.
    if pid == 0:
        return
    import signal
    sys.stdout.flush()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0 and in_init:
        os._exit(128 - code)
    if code > 128 and not in_init and report.get("init_relay"):
        code = 128 - code
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)

def _namespaces():
    # New network and PID namespaces: no network at all, and when the code's first process
    # ends, the kernel kills every process it started.
    import ctypes, signal
    libc = ctypes.CDLL(None, use_errno=True)
    NEWUSER, NEWNET, NEWPID = 0x10000000, 0x40000000, 0x20000000
    uid, gid = os.getuid(), os.getgid()
    userns = uid != 0
    flags = NEWNET | NEWPID | (NEWUSER if userns else 0)
    if libc.unshare(flags) != 0:
        flags &= ~NEWPID
        if libc.unshare(flags) != 0:
            return
    if userns:
        for path, text in (("/proc/self/uid_map", f"{uid} {uid} 1"),
                           ("/proc/self/setgroups", "deny"),
                           ("/proc/self/gid_map", f"{gid} {gid} 1")):
            try:
                with open(path, "w") as f:
                    f.write(text)
            except OSError:
                pass
        report["userns"] = True
    report["network"] = "namespace"
    if not flags & NEWPID:
        return
    # outer (here) -> the namespace's init -> the worker that runs the code. The code must not
    # be the init itself: the kernel spares an init from its own rlimit signals.
    report["init_relay"] = True
    _relay(os.fork())
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the supervisor
    _relay(os.fork(), in_init=True)
    report["pid_namespace"] = True

if cfg["isolate_network"]:
    try:
        _namespaces()
    except Exception:
        pass
try:
    import ctypes
    ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
except Exception:
    pass
if os.getuid() == 0 and cfg["drop_root"]:
    os.setgroups([])
    os.setgid(cfg["nobody"])
    os.setuid(cfg["nobody"])
    report["user"] = "nobody"

import resource
def _limit(kind, value, hard=None):
    try:
        resource.setrlimit(kind, (value, value if hard is None else hard))
        return True
    except (ValueError, OSError):
        return False
_limit(resource.RLIMIT_CPU, cfg["cpu"], cfg["cpu"] + 1)  # SIGXCPU first, then SIGKILL
_limit(resource.RLIMIT_AS, cfg["memory"])
_limit(resource.RLIMIT_FSIZE, cfg["fsize"])
_limit(resource.RLIMIT_NOFILE, cfg["nofile"])
_limit(resource.RLIMIT_CORE, 0)
# root is exempt from RLIMIT_NPROC; a user namespace or `nobody` makes it count
if os.getuid() != 0 and (report["user"] == "nobody" or report.get("userns")):
    report["nproc"] = _limit(resource.RLIMIT_NPROC, cfg["nproc"])

if cfg["hook"]:
    import types
    _home = os.path.realpath(os.getcwd())
    _me = os.getpid()
    _WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    _DENY = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
             "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
             "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn", "os.system",
             "subprocess.Popen", "pty.spawn", "os.chroot", "ctypes.dlsym",
             "ctypes.dlsym/handle", "ctypes.call_function", "ctypes.cdata",
             "ctypes.cdata/buffer", "ctypes.string_at", "ctypes.wstring_at",
             "ctypes.PyObj_FromPtr"}
    _PATHS = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.chmod": 1, "os.chown": 1,
              "os.truncate": 1, "os.utime": 1, "shutil.rmtree": 1, "os.setxattr": 1,
              "os.removexattr": 1, "os.rename": 2, "os.link": 2, "os.symlink": 2,
              "shutil.move": 2, "shutil.copyfile": 2, "shutil.copytree": 2}

    def _inside(path):
        if isinstance(path, int):
            return True
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        full = os.path.realpath(os.path.join(_home, os.fspath(path)))
        return full == _home or full.startswith(_home + os.sep) or full == os.devnull

    def _hook(event, args):
        if event in _DENY:
            raise PermissionError(f"{event} is not allowed in this sandbox")
        if event == "socket.__new__" and len(args) > 1 and args[1] != 1:  # AF_UNIX only
            raise PermissionError("network sockets are not allowed in this sandbox")
        if event == "ctypes.dlopen" and args and args[0] is not None:
            raise PermissionError("loading native libraries is not allowed in this sandbox")
        if event == "import" and args and args[0] == "_posixsubprocess":
            raise PermissionError("creating processes is not allowed in this sandbox")
        if event in ("os.kill", "os.killpg") and args and args[0] not in (_me, 0):
            raise PermissionError("signals to other processes are not allowed")
        if event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writes = (isinstance(flags, int) and flags & _WRITE) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writes and not _inside(path):
                raise PermissionError(f"writing outside the working directory: {path!r}")
        n = _PATHS.get(event)
        if n:
            for path in args[:n]:
                if path is not None and not _inside(path):
                    raise PermissionError(f"{event} outside the working directory: {path!r}")

    def _no_processes(*args, **kwargs):
        raise PermissionError("creating processes is not allowed in this sandbox")

    for name in ("subprocess", "_posixsubprocess", "multiprocessing"):
        sys.modules.pop(name, None)
    _stub = types.ModuleType("_posixsubprocess")
    _stub.fork_exec = _no_processes
    sys.modules["_posixsubprocess"] = _stub
    sys.addaudithook(_hook)
    report["hook"] = True

sys.stdout.write("\x00strictcall-sandbox " + json.dumps(report) + "\n")
sys.stdout.flush()
del cfg, report, json

import ast, traceback
def _run(source):
    glb = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        tree = ast.parse(source, "<python>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<python>", "exec"), glb)
        if last is not None:
            value = eval(compile(last, "<python>", "eval"), glb)
            if value is not None:
                print(repr(value))
    except SystemExit:
        raise
    except BaseException:
        kind, value, tb = sys.exc_info()
        while tb is not None and tb.tb_frame.f_code.co_filename != "<python>":
            tb = tb.tb_next
        traceback.print_exception(kind, value, tb)
        sys.stdout.flush()
        os._exit(1)
_run(code)
"""


def _clean_env(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


@functools.cache
def can_drop_root() -> bool:
    """Whether `nobody` could run this interpreter: it must reach and read the interpreter's
    installation (a Python under /root cannot be run by anyone but root)."""
    if os.getuid() != 0:
        return False
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    dirs |= {os.path.dirname(os.path.realpath(sys.executable)), tempfile.gettempdir()}
    for d in dirs:
        d = os.path.realpath(d)
        while True:
            try:
                mode = os.stat(d).st_mode
            except OSError:
                return False
            if not mode & stat.S_IXOTH:
                return False
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    return True


def make_workdir(limits: SandboxLimits) -> str:
    """A private directory for one sandbox user (kept between runs of one response)."""
    path = tempfile.mkdtemp(prefix="strictcall-py-")
    if limits.drop_root and can_drop_root():
        os.chown(path, _NOBODY, _NOBODY)  # the code runs as nobody
    return path


def remove_workdir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


async def run_python(code: str, workdir: str, limits: SandboxLimits) -> SandboxResult:
    """Run `code` in a sandboxed child with `workdir` as its directory; never raises for the
    code's own failures (they are in the result)."""
    cfg = {
        "isolate_network": limits.isolate_network,
        "drop_root": limits.drop_root and can_drop_root(),
        "nobody": _NOBODY,
        "cpu": limits.cpu_seconds,
        "memory": limits.memory_mb * 1024 * 1024,
        "fsize": limits.file_size_mb * 1024 * 1024,
        "nofile": limits.open_files,
        "nproc": limits.processes,
        "hook": limits.audit_hook,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-u",
        "-c",
        _BOOTSTRAP,
        json.dumps(cfg),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,
        env=_clean_env(workdir),
        start_new_session=True,
    )
    try:
        return await _supervise(proc, code, limits)
    finally:
        _kill_group(proc)
        with contextlib.suppress(ProcessLookupError):
            await proc.wait()


async def _supervise(proc, code: str, limits: SandboxLimits) -> SandboxResult:
    assert proc.stdin is not None and proc.stdout is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(code.encode("utf-8", "replace"))
        await proc.stdin.drain()
    proc.stdin.close()
    out = bytearray()
    cap = limits.output_bytes + len(_MARK) + 512  # room for the isolation report
    truncated = timed_out = False

    async def read_all() -> None:
        nonlocal truncated
        while chunk := await proc.stdout.read(65536):
            out.extend(chunk)
            if len(out) > cap:
                truncated = True
                _kill_group(proc)
                return

    async def read_until_exit() -> None:
        # Output ends at EOF, or shortly after the process exits: a descendant that escaped
        # the kill (no PID namespace) may hold the pipe open, and must not hold the call.
        reader = asyncio.ensure_future(read_all())
        waiter = asyncio.ensure_future(proc.wait())
        try:
            await asyncio.wait({reader, waiter}, return_when="FIRST_COMPLETED")
            if not reader.done():
                await asyncio.wait({reader}, timeout=0.5)
        finally:
            reader.cancel()
            waiter.cancel()

    try:
        await asyncio.wait_for(read_until_exit(), limits.wall_seconds)
    except TimeoutError:
        timed_out = True
        _kill_group(proc)
    exit_code = await proc.wait()
    text = out.decode("utf-8", "replace")
    isolation: dict = {}
    if text.startswith(_MARK):
        line, _, text = text.partition("\n")
        with contextlib.suppress(ValueError):
            isolation = json.loads(line[len(_MARK) :])
    if len(text) > limits.output_bytes:
        text, truncated = text[: limits.output_bytes], True
    if exit_code == -signal.SIGXCPU:
        timed_out = True  # the CPU limit
    return SandboxResult(text, exit_code, timed_out, truncated, isolation)


def _kill_group(proc) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def describe(result: SandboxResult) -> dict:
    return asdict(result)

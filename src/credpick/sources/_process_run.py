"""Run a ``credential_process`` program with a deadline and bounded output.

botocore's ``ProcessProvider`` waits in ``communicate()`` without limit, so a
program that never exits, or exits leaving a grandchild that holds its
stdout, hangs the caller; it reads all the output, however large; and it puts
the program's stderr in its error. Here the program runs in its own process
group (``start_new_session=True``); at the deadline, or when it has exited
but its output stays open, the whole group is killed. Output is never quoted:
outcomes are written from facts (an exit code, a signal number, a size).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time

import attrs

#: At most this many bytes of stdout are read; more is a failure.
STDOUT_LIMIT = 64 * 1024
#: stderr is drained (so the program never blocks on a full pipe) in chunks of
#: at most this many bytes, and each chunk is thrown away: it is never kept.
STDERR_LIMIT = 64 * 1024
#: Once the program has exited, how long its output may take to close before
#: a process it left behind is taken to hold it.
EXIT_GRACE = 1.0
_POLL = 0.05  # how often to look whether the program has exited


@attrs.frozen
class Outcome:
    """What a run gave: the output, or a problem in words that follow the
    program's name (``"does not exist"``), and its fix."""

    stdout: bytes = attrs.field(repr=False)
    problem: str | None = None
    fix: str | None = None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the program's whole process group, then reap the program."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # unkillable (stuck in the kernel)
        proc.wait(timeout=5.0)


def _collect(proc: subprocess.Popen[bytes], timeout: float) -> Outcome:
    """Read the program's output until it closes, within the deadline."""
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    out = bytearray()
    streams = {proc.stdout.fileno(): True, proc.stderr.fileno(): False}  # fd: is stdout
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while streams:
            now = time.monotonic()
            if now >= deadline:
                return Outcome(b"", f"did not finish within {timeout:g} s", _FIX_SLOW)
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at >= EXIT_GRACE:
                return Outcome(b"", _LEFT_BEHIND, _FIX_LEFT_BEHIND)
            for key, _ in selector.select(min(_POLL, deadline - now)):
                chunk = os.read(key.fd, STDOUT_LIMIT if streams[key.fd] else STDERR_LIMIT)
                if not chunk:
                    selector.unregister(key.fd)
                    del streams[key.fd]
                elif streams[key.fd]:
                    out += chunk
                    if len(out) > STDOUT_LIMIT:
                        return Outcome(
                            b"",
                            f"printed more than {STDOUT_LIMIT} bytes",
                            "credentials fit in a few KiB: make the program print only "
                            "the credentials JSON",
                        )
    try:  # output closed: the program itself may still be running
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return Outcome(b"", f"did not finish within {timeout:g} s", _FIX_SLOW)
    code = proc.returncode
    if code < 0:
        return Outcome(b"", f"was killed by signal {-code}", _FIX_FAILED)
    if code:
        return Outcome(
            b"",
            f"exited with code {code} (its stderr is withheld: it may hold secrets)",
            _FIX_FAILED,
        )
    return Outcome(bytes(out))


_FIX_SLOW = (
    "run the program by hand to see why it hangs (a prompt, a lock, the network), "
    "or raise Timeouts(process=...)"
)
_LEFT_BEHIND = "exited, but a process it started still holds its output"
_FIX_LEFT_BEHIND = "make the program's background processes close stdout and stderr"
_FIX_FAILED = "run the credential_process command by hand and read its error output"


def run(argv: list[str], timeout: float) -> Outcome:
    """Run ``argv`` in a new process group; its stdout, or why there is none.

    On any failure the whole group is killed before this returns. A process
    that leaves the group (``setsid``) is beyond reach, as with any shell.
    """
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except FileNotFoundError:
        return Outcome(b"", "does not exist", "install it, or fix the path in credential_process")
    except PermissionError:
        return Outcome(
            b"", "is not executable", "make it executable (chmod +x), or fix credential_process"
        )
    except OSError as exc:  # ENOEXEC (not a program), E2BIG...
        return Outcome(b"", f"cannot be started ({type(exc).__name__})", _FIX_FAILED)
    outcome = Outcome(b"", "could not be run", _FIX_FAILED)
    try:
        outcome = _collect(proc, timeout)
    finally:
        if outcome.problem is not None:
            _kill_group(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return outcome

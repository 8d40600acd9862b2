"""Safe output files for every o2f command (standard library only).

Rules this module enforces, so each command does not re-implement them:

- an output is written completely or not at all: data go to a clearly named temporary file in the
  destination folder (``.NAME.o2f-tmp-PID-XXXX``), which then replaces the destination in one
  ``os.replace``; on any exception, Ctrl-C or SIGTERM (see :func:`install_termination_handlers`)
  the temporary file is removed. A temporary file left by a killed process (SIGKILL) is removed by
  the next write to the same destination once its process is gone;
- an output keeps normal permissions (``0o666 & ~umask``), not ``mkstemp``'s 0600;
- an output path that is a symbolic link is followed: the link stays, its target is replaced;
- an output is never the same file as one of the command's inputs (:func:`check_output_path`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import tempfile
from collections.abc import Iterable, Iterator

TEMP_TAG = '.o2f-tmp-'


class UnsafeOutputError(ValueError):
    """An output path that must not be written; the message is one line saying why and what to do."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def same_file(path_a: str | os.PathLike, path_b: str | os.PathLike) -> bool:
    """True when the two paths name the same file (through links, ``..`` and hard links)."""
    try:
        return os.path.samefile(path_a, path_b)
    except OSError:  # one of them does not exist (yet): compare the resolved names
        return os.path.realpath(path_a) == os.path.realpath(path_b)


def check_output_path(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                      what: str = 'output') -> str:
    """Refuse an output path that would destroy an input or cannot be a file.

    Args:
        output: the path the command is about to write.
        inputs: the command's input files (None entries are skipped).
        what: how the user named the output (e.g. ``'--json'``), used in the message.

    Returns:
        str: the path to write, with a symbolic link resolved to its target.

    Raises:
        UnsafeOutputError: empty path, an existing directory, a parent that is not a directory, or
            the same file as one of ``inputs``.
    """
    output = os.fspath(output)
    if not output:
        raise UnsafeOutputError(f'{what}: empty path; name the file to write')
    target = os.path.realpath(output)
    if os.path.isdir(target):
        raise UnsafeOutputError(f'{what} {output} is a directory; name a file inside it')
    parent = os.path.dirname(target)
    probe = parent
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        raise UnsafeOutputError(f'{what} {output}: {probe} is a file, not a folder; '
                                'choose a path in a folder')
    for source in inputs:
        if source is not None and same_file(output, source):
            raise UnsafeOutputError(f'{what} {output} is the same file as the input {source}; '
                                    'choose another output path (nothing was written)')
    return target


def _remove_stale_temps(target: str) -> None:
    """Remove temporaries of ``target`` left by processes that no longer exist (SIGKILL)."""
    folder, name = os.path.split(target)
    for stale in glob.glob(os.path.join(glob.escape(folder), f'.{glob.escape(name)}{TEMP_TAG}*')):
        pid_text = os.path.basename(stale)[len(name) + 1 + len(TEMP_TAG):].split('-', 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(stale)
        except PermissionError:  # alive, owned by someone else
            pass


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                  what: str = 'output') -> Iterator[str]:
    """Yield a temporary path to write; on success it atomically becomes ``path``.

    Use for writers that need a file name (``torch.onnx.export``, ``PIL.Image.save``)::

        with atomic_output(args.out, inputs=[args.checkpoint], what='--out') as tmp:
            torch.onnx.export(model, x, tmp)

    The checks of :func:`check_output_path` run first, so nothing is created when they fail.
    """
    target = check_output_path(path, inputs, what)
    folder, name = os.path.split(target)
    os.makedirs(folder or '.', exist_ok=True)
    _remove_stale_temps(target)
    handle, temp_path = tempfile.mkstemp(dir=folder or '.', prefix=f'.{name}{TEMP_TAG}{os.getpid()}-')
    os.close(handle)
    try:
        yield temp_path
        mode = (os.stat(target).st_mode & 0o7777) if os.path.exists(target) else (
            0o666 & ~_current_umask())
        os.chmod(temp_path, mode)
        os.replace(temp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes,
                 inputs: Iterable[str | os.PathLike | None] = (), what: str = 'output') -> str:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; returns the path written."""
    with atomic_output(path, inputs, what) as temp_path:
        mode = 'w' if isinstance(data, str) else 'wb'
        kwargs = {'encoding': 'utf-8'} if isinstance(data, str) else {}
        with open(temp_path, mode, **kwargs) as stream:
            stream.write(data)
    return os.path.realpath(path)


def install_termination_handlers() -> None:
    """Turn SIGTERM (and SIGHUP) into ``SystemExit(128 + signum)`` in the main thread.

    Python runs ``finally`` blocks and ``except BaseException`` cleanups for Ctrl-C
    (``KeyboardInterrupt``) but not for SIGTERM, which kills the process outright; with this
    handler, temporary files and staging folders are removed on both. Commands call it once.
    """

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, getattr(signal, 'SIGHUP', None)):
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(signum, _exit)

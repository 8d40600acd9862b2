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
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator

TEMP_TAG = '.o2f-tmp-'


class UnsafeOutputError(ValueError):
    """An output path that must not be written; the message: one line saying why and what to do."""


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
        pid = _pid_of(os.path.basename(stale), TEMP_TAG)
        if pid is not None and pid != os.getpid() and _process_gone(pid):
            with contextlib.suppress(OSError):
                os.unlink(stale)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                  what: str = 'output', suffix: str = '') -> Iterator[str]:
    """Yield a temporary path to write; on success it atomically becomes ``path``.

    Use for writers that need a file name (``torch.onnx.export``, ``PIL.Image.save``)::

        with atomic_output(args.out, inputs=[args.checkpoint], what='--out') as tmp:
            torch.onnx.export(model, x, tmp)

    The checks of :func:`check_output_path` run first, so nothing is created when they fail.
    ``suffix`` ends the temporary name, for writers that pick the format from the extension
    (``cv2.VideoWriter``).
    """
    target = check_output_path(path, inputs, what)
    folder, name = os.path.split(target)
    os.makedirs(folder or '.', exist_ok=True)
    _remove_stale_temps(target)
    handle, temp_path = tempfile.mkstemp(dir=folder or '.',
                                         prefix=f'.{name}{TEMP_TAG}{os.getpid()}-',
                                         suffix=suffix)
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


# ------------------------------------------------------------------------------------ directories
#
# A command that writes a whole directory (the synthetic dataset) builds it in a staging folder
# next to the destination and swaps it in at the end. It may replace only an empty directory or
# one it wrote itself, recognised by ``OWNER_KEY`` in a JSON marker file it writes last.

OWNER_KEY = 'o2f_owner'
STAGING_TAG = '.o2f-staging-'
ASIDE_TAG = '.o2f-old-'


def _source_checkout() -> str | None:
    """The git checkout this module lives in (a folder above it holding ``.git``), if any."""
    folder = os.path.dirname(os.path.realpath(__file__))
    while True:
        if os.path.exists(os.path.join(folder, '.git')):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _is_same_or_ancestor(path: str, of: str) -> bool:
    return of == path or of.startswith(path.rstrip(os.sep) + os.sep)


def check_not_protected(path: str | os.PathLike, what: str = 'output',
                        allow_cwd: bool = False) -> str:
    """Refuse a directory whose replacement would destroy the user's files wholesale.

    Protected: ``/``, the home directory, the o2f checkout and every ancestor of these, and the
    current directory with its ancestors (the current directory itself is allowed with
    ``allow_cwd``, for commands that only add files to it).

    Returns:
        str: the resolved path.

    Raises:
        UnsafeOutputError: ``path`` is protected.
    """
    target = os.path.realpath(os.fspath(path))
    cwd = os.path.realpath(os.getcwd())
    reasons = [(os.path.realpath(os.sep), 'the root directory'),
               (os.path.realpath(os.path.expanduser('~')), 'the home directory'),
               (_source_checkout(), 'the o2f repository')]
    for anchor, name in reasons:
        if anchor and _is_same_or_ancestor(target, anchor):
            kind = name if target == anchor else f'an ancestor of {name}'
            raise UnsafeOutputError(f'{what} {path} is {kind} ({target}); '
                                    'choose a new or empty directory (nothing was touched)')
    if _is_same_or_ancestor(target, cwd) and not (allow_cwd and target == cwd):
        kind = 'the current directory' if target == cwd else 'an ancestor of the current directory'
        raise UnsafeOutputError(f'{what} {path} is {kind} ({target}); '
                                'choose a new or empty directory (nothing was touched)')
    return target


def read_owner_marker(directory: str | os.PathLike, marker_file: str) -> dict | None:
    """The JSON object of ``directory/marker_file``, or None when absent, unreadable or not an
    object (a foreign or broken file is simply "not ours")."""
    path = os.path.join(os.fspath(directory), marker_file)
    if os.path.islink(path) or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owns_directory(directory: str | os.PathLike, owner: str, marker_file: str,
                   layout: Iterable[str] | None = None,
                   legacy: Callable[[dict], bool] | None = None) -> bool:
    """True when ``directory`` was written by ``owner``: its marker file names it (or, for
    versions that wrote no signature, ``legacy(marker)`` is True), and (when ``layout`` is given)
    it holds no top-level entry outside ``layout``."""
    marker = read_owner_marker(directory, marker_file)
    if marker is None or not (marker.get(OWNER_KEY) == owner or (
            legacy is not None and OWNER_KEY not in marker and legacy(marker))):
        return False
    return layout is None or set(os.listdir(directory)) <= set(layout)


def check_directory_target(path: str | os.PathLike, *, owner: str, marker_file: str,
                           layout: Iterable[str] | None = None, overwrite: bool = False,
                           what: str = '--out', tool: str | None = None,
                           legacy: Callable[[dict], bool] | None = None) -> str:
    """Refuse a destination directory that must not be (re)placed; nothing is touched.

    Allowed: a missing path, an empty directory, and with ``overwrite`` a directory
    ``owner`` wrote (:func:`owns_directory`). Refused: a symbolic link, a file, a protected
    directory (:func:`check_not_protected`), a non-empty foreign directory.

    Returns:
        str: the absolute destination path.

    Raises:
        UnsafeOutputError: a refused destination (message: one line naming it and why).
        FileExistsError: ``owner``'s own directory while ``overwrite`` is False.
    """
    path = os.fspath(path)
    if not path:
        raise UnsafeOutputError(f'{what}: empty path; name the directory to write')
    target = os.path.abspath(path)
    tool = tool or owner
    if os.path.islink(target):
        raise UnsafeOutputError(f'{what} {path} is a symbolic link (to {os.readlink(target)}); '
                                'name a real directory (nothing was touched)')
    check_not_protected(path, what)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise UnsafeOutputError(f'{what} {path} is a file, not a directory; choose a new or empty '
                                'directory (nothing was touched)')
    if not os.path.isdir(target):
        probe = os.path.dirname(target)
        while not os.path.lexists(probe):
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            raise UnsafeOutputError(f'{what} {path}: {probe} is a file, not a folder; '
                                    'choose a path in a folder')
        return target
    entries = sorted(os.listdir(target))
    if not entries:
        return target
    if owns_directory(target, owner, marker_file, layout, legacy):
        if not overwrite:
            raise FileExistsError(f'{path} already exists (written by {tool}); pass --overwrite '
                                  '(overwrite=True) to replace it')
        return target
    marker = read_owner_marker(target, marker_file)
    if marker is None:
        why = (f'it has no {marker_file} written by {tool} ({len(entries)} '
               f'entr{"y" if len(entries) == 1 else "ies"}, e.g. {entries[0]})')
    elif marker.get(OWNER_KEY) != owner and not (legacy is not None and legacy(marker)):
        why = f"its {marker_file} does not carry {tool}'s signature (another tool's or version's)"
    else:
        extra = sorted(set(entries) - set(layout or ()))
        why = f'it also holds {", ".join(extra[:3])}, which {tool} does not write'
    raise UnsafeOutputError(f'{what} {path} is a non-empty directory that {tool} did not write: '
                            f'{why}; choose a new or empty directory (nothing was touched)')


def _pid_of(name: str, tag: str) -> int | None:
    text = name.split(tag, 1)[1].split('-', 1)[0] if tag in name else ''
    return int(text) if text.isdigit() else None


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


def remove_stale_staging(target: str | os.PathLike) -> list[str]:
    """Remove the staging / moved-aside folders of ``target`` left by a killed process.

    Only real folders named ``.NAME.o2f-staging-PID-*`` or ``.NAME.o2f-old-PID-*`` next to
    ``target`` whose process ``PID`` no longer exists are removed. Returns the removed paths.
    """
    target = os.path.abspath(os.fspath(target))
    folder, name = os.path.split(target)
    removed = []
    for tag in (STAGING_TAG, ASIDE_TAG):
        for stale in glob.glob(os.path.join(glob.escape(folder), f'.{glob.escape(name)}{tag}*')):
            pid = _pid_of(os.path.basename(stale), tag)
            if (pid is None or pid == os.getpid() or os.path.islink(stale)
                    or not os.path.isdir(stale) or not _process_gone(pid)):
                continue
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    return removed


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP for the few system calls that must not be split."""
    signals = {signal.SIGINT, signal.SIGTERM} | (
        {signal.SIGHUP} if hasattr(signal, 'SIGHUP') else set())
    if not hasattr(signal, 'pthread_sigmask'):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class StagedDirectory:
    """Result of :func:`staged_directory`: ``path`` to fill, then ``old_tree_left`` after the swap.

    Attributes:
        path (str): the staging folder to write into.
        target (str): the destination.
        old_tree_left (str | None): set when the replaced tree could not be deleted: the folder
            it was moved to (the new data are in place; the caller says so in one line).
    """

    def __init__(self, path: str, target: str):
        self.path, self.target, self.old_tree_left = path, target, None


@contextlib.contextmanager
def staged_directory(path: str | os.PathLike, *, owner: str, marker_file: str,
                     layout: Iterable[str] | None = None, overwrite: bool = False,
                     what: str = '--out', tool: str | None = None,
                     legacy: Callable[[dict], bool] | None = None) -> Iterator[StagedDirectory]:
    """Build a directory in a staging folder and swap it in only when it is complete.

    The destination is checked first (:func:`check_directory_target`; nothing is created when
    it is refused). The caller fills ``staged.path`` and must write ``marker_file`` (with
    ``OWNER_KEY: owner``) last. On success: the old tree, if any, is renamed aside (same
    folder, so the same filesystem), the staging folder is renamed into place, then the old tree
    is deleted; the two renames run with termination signals held, so the destination is never
    missing. On any exception, Ctrl-C or SIGTERM (:func:`install_termination_handlers`) the
    staging folder is removed and the destination is untouched.
    """
    spec = dict(owner=owner, marker_file=marker_file, layout=layout, overwrite=overwrite,
                what=what, tool=tool, legacy=legacy)
    target = check_directory_target(path, **spec)
    folder, name = os.path.split(target)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise UnsafeOutputError(f'{what} {path}: cannot create {folder} ({error.strerror})'
                                ) from None
    remove_stale_staging(target)
    staging = tempfile.mkdtemp(dir=folder, prefix=f'.{name}{STAGING_TAG}{os.getpid()}-')
    staged = StagedDirectory(staging, target)
    aside, swapped = None, False
    try:
        yield staged
        os.chmod(staging, 0o777 & ~_current_umask())  # mkdtemp makes 0700
        with _signals_deferred():
            # Checked again: the destination may have changed while the data were generated.
            check_directory_target(target, **spec)
            if os.path.lexists(target):
                aside = tempfile.mkdtemp(dir=folder, prefix=f'.{name}{ASIDE_TAG}{os.getpid()}-')
                try:
                    os.rename(target, os.path.join(aside, name))
                except BaseException:  # e.g. a mount point: nothing moved, nothing left
                    os.rmdir(aside)
                    aside = None
                    raise
            try:
                os.rename(staging, target)
            except BaseException:
                if aside is not None:  # put the old tree back where it was
                    os.rename(os.path.join(aside, name), target)
                    os.rmdir(aside)
                    aside = None
                raise
            swapped = True
    except BaseException:
        if not swapped:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if swapped and aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
            if os.path.lexists(aside):
                staged.old_tree_left = aside

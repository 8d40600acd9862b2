"""o2f_core.io: atomic files and directories that replace only what their tool wrote.

Every destructive case runs inside ``tmp_path`` with canary files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from o2f_core import io as o2f_io
from o2f_core.io import (
    OWNER_KEY,
    UnsafeOutputError,
    atomic_write,
    check_directory_target,
    check_not_protected,
    owns_directory,
    remove_stale_staging,
    staged_directory,
)

OWNER = 'test.owner'
LAYOUT = ('data.txt', 'meta.json')
SPEC = dict(owner=OWNER, marker_file='meta.json', layout=LAYOUT)


def _canary(folder, name='canary.txt', text='keep me'):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def _fill(path, text):
    """What a tool does inside its staging folder: data first, the signed marker last."""
    (path / 'data.txt').write_text(text)
    (path / 'meta.json').write_text(json.dumps({OWNER_KEY: OWNER}))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_atomic_write_follows_umask_and_symlinks(tmp_path, umask_022):
    out = tmp_path / 'a' / 'result.json'
    atomic_write(out, '{}')
    assert out.read_text() == '{}' and (out.stat().st_mode & 0o777) == 0o644
    os.umask(0o077)
    atomic_write(tmp_path / 'private.json', 'x')
    assert (tmp_path / 'private.json').stat().st_mode & 0o777 == 0o600
    # An output that is a symbolic link: the link stays, its target gets the data.
    target = tmp_path / 'real.txt'
    target.write_text('old')
    link = tmp_path / 'link.txt'
    link.symlink_to(target)
    atomic_write(link, 'new')
    assert link.is_symlink() and target.read_text() == 'new'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a', 'link.txt', 'private.json',
                                                          'real.txt']


def test_output_onto_an_input_is_refused(tmp_path):
    source = _canary(tmp_path, 'gt.odgt', 'ground truth')
    with pytest.raises(UnsafeOutputError, match='same file as the input'):
        atomic_write(tmp_path / '.' / 'gt.odgt', 'metrics', inputs=[source], what='--json')
    assert source.read_text() == 'ground truth'


def test_directory_target_allowed_and_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'empty').mkdir()
    assert check_directory_target(tmp_path / 'new' / 'sub', **SPEC) == str(tmp_path / 'new/sub')
    assert check_directory_target(tmp_path / 'empty', **SPEC) == str(tmp_path / 'empty')
    ours = tmp_path / 'ours'
    ours.mkdir()
    _fill(ours, 'v1')
    assert owns_directory(ours, OWNER, 'meta.json', LAYOUT)
    assert check_directory_target(ours, overwrite=True, **SPEC) == str(ours)
    with pytest.raises(FileExistsError, match='--overwrite'):
        check_directory_target(ours, overwrite=False, **SPEC)

    canary = _canary(tmp_path / 'foreign')
    file_out = _canary(tmp_path, 'file.txt')
    (tmp_path / 'link').symlink_to(ours)
    wrong_owner = _canary(tmp_path / 'other', 'meta.json', json.dumps({OWNER_KEY: 'someone'}))
    extra = tmp_path / 'ours_plus'
    extra.mkdir()
    _fill(extra, 'v1')
    _canary(extra, 'notes.txt')
    cases = {
        'foreign': 'has no meta.json written by test.owner',
        'file.txt': 'is a file, not a directory',
        'link': 'is a symbolic link',
        'other': "does not carry test.owner's signature",
        'ours_plus': 'also holds notes.txt',
        '.': 'is the current directory',
        'file.txt/below': 'is a file, not a folder',
    }
    for name, reason in cases.items():
        with pytest.raises(UnsafeOutputError, match=reason) as error:
            check_directory_target(name, overwrite=True, **SPEC)
        assert '\n' not in str(error.value) and name in str(error.value)
    assert canary.read_text() == file_out.read_text() == 'keep me'
    assert wrong_owner.parent.is_dir() and (extra / 'notes.txt').is_file()


def test_legacy_marker_without_signature(tmp_path):
    old = tmp_path / 'old'
    old.mkdir()
    (old / 'data.txt').write_text('v0')
    (old / 'meta.json').write_text(json.dumps({'version': 1}))
    assert not owns_directory(old, OWNER, 'meta.json', LAYOUT)
    assert owns_directory(old, OWNER, 'meta.json', LAYOUT, legacy=lambda m: m == {'version': 1})
    assert not owns_directory(old, OWNER, 'meta.json', LAYOUT, legacy=lambda m: False)
    with pytest.raises(UnsafeOutputError, match='signature'):
        check_directory_target(old, overwrite=True, **SPEC)
    with staged_directory(old, overwrite=True, legacy=lambda m: m.get('version') == 1,
                          **SPEC) as staged:
        _fill(Path(staged.path), 'v1')
    assert (old / 'data.txt').read_text() == 'v1'
    # A signed marker of another owner is never "legacy".
    (old / 'meta.json').write_text(json.dumps({OWNER_KEY: 'other', 'version': 1}))
    assert not owns_directory(old, OWNER, 'meta.json', LAYOUT, legacy=lambda m: True)


def test_protected_directories(tmp_path, monkeypatch):
    home = tmp_path / 'home' / 'me'
    work = home / 'project' / 'run'
    work.mkdir(parents=True)
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.chdir(work)
    repo = o2f_io._source_checkout()
    expected = {'/': 'the root directory', str(home): 'the home directory',
                str(tmp_path / 'home'): 'an ancestor of the home directory',
                str(home / 'project'): 'an ancestor of the current directory',
                '.': 'the current directory'}
    if repo is not None:
        expected[repo] = 'the o2f repository'
        expected[os.path.dirname(repo)] = 'an ancestor of the o2f repository'
    for path, reason in expected.items():
        with pytest.raises(UnsafeOutputError, match=reason):
            check_not_protected(path, '--out')
    # The current directory itself may take files when the caller allows it; a child always.
    assert check_not_protected('.', '--work-dir', allow_cwd=True) == str(work)
    assert check_not_protected('child', '--out') == str(work / 'child')


def test_staged_directory_replaces_only_when_complete(tmp_path, monkeypatch):
    target = tmp_path / 'out'
    with staged_directory(target, **SPEC) as staged:
        assert os.path.basename(staged.path).startswith('.out.o2f-staging-')
        _fill(Path(staged.path), 'v1')
    assert (target / 'data.txt').read_text() == 'v1' and staged.old_tree_left is None
    # A failure while the new data are written: the staging folder goes, the old tree stays.
    with pytest.raises(RuntimeError), staged_directory(target, overwrite=True, **SPEC) as staged:
        (Path(staged.path) / 'data.txt').write_text('half')
        raise RuntimeError('generation failed')
    assert (target / 'data.txt').read_text() == 'v1'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out']
    # The old tree cannot be deleted: the new one is in place and the leftover is named.
    monkeypatch.setattr(o2f_io.shutil, 'rmtree', lambda *args, **kwargs: None)
    with staged_directory(target, overwrite=True, **SPEC) as staged:
        _fill(Path(staged.path), 'v2')
    assert (target / 'data.txt').read_text() == 'v2'
    left = staged.old_tree_left
    assert left is not None and os.path.basename(left).startswith('.out.o2f-old-')
    assert (Path(left) / 'out' / 'data.txt').read_text() == 'v1'


def test_stale_staging_of_dead_processes_only(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    stale = [tmp_path / f'.out.o2f-staging-{dead}-abc', tmp_path / f'.out.o2f-old-{dead}-abc']
    kept = [tmp_path / f'.out.o2f-staging-{alive}-abc', tmp_path / f'.other.o2f-staging-{dead}-x',
            tmp_path / f'.out.staging-{dead}-abc']
    for folder in stale + kept:
        _canary(folder)
    (tmp_path / f'.out.o2f-staging-{dead}-link').symlink_to(kept[0])
    removed = remove_stale_staging(tmp_path / 'out')
    assert sorted(removed) == sorted(str(p) for p in stale)
    assert not any(p.exists() for p in stale)
    assert all((p / 'canary.txt').read_text() == 'keep me' for p in kept)


def test_failed_move_aside_leaves_everything_as_it_was(tmp_path, monkeypatch):
    target = tmp_path / 'out'
    target.mkdir()
    _fill(target, 'v1')
    real_rename = os.rename

    def rename(src, dst):  # the destination cannot move (e.g. a mount point)
        if os.fspath(src) == str(target):
            raise OSError(16, 'Device or resource busy')
        real_rename(src, dst)

    monkeypatch.setattr(o2f_io.os, 'rename', rename)
    with pytest.raises(OSError, match='busy'), staged_directory(target, overwrite=True,
                                                                **SPEC) as staged:
        _fill(Path(staged.path), 'v2')
    assert (target / 'data.txt').read_text() == 'v1'
    assert [p.name for p in tmp_path.iterdir()] == ['out']

"""tools/make_synthetic.py never deletes or overwrites what it did not write (issue 11, part 1).

Every destructive case runs inside ``tmp_path`` with canary files; generator settings are the
smallest allowed (32x32 images, 1-3 of them) so each test takes about a second.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from o2f_core import synthetic
from o2f_core.synthetic import estimate_dataset_bytes, read_meta, write_synthetic_dataset

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'make_synthetic.py'
TINY = ['--num-train', '2', '--num-val', '1', '--size', '32', '32']
TINY_KW = dict(num_train=2, num_val=1, image_size=(32, 32))


def _load_cli():
    """The importable code behind tools/make_synthetic.py."""
    return synthetic


def _run(capsys, *argv):
    """make_synthetic's main() in this process: (exit code, stderr lines)."""
    code = _load_cli().main([*TINY, *argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def _canaries(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    files = {folder / 'notes.txt': 'my notes', folder / 'sub' / 'results.csv': '1,2,3'}
    for path, text in files.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    return files


def _intact(files: dict) -> bool:
    return all(path.read_text() == text for path, text in files.items())


def test_foreign_directory_with_overwrite_is_refused(tmp_path, capsys):
    files = _canaries(tmp_path / 'mine')
    code, err = _run(capsys, '--out', str(tmp_path / 'mine'), '--overwrite')
    assert code == 2 and len(err) == 1
    assert 'did not write' in err[0] and str(tmp_path / 'mine') in err[0]
    assert _intact(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mine']  # no staging folder either


def test_current_directory_is_refused(tmp_path, monkeypatch, capsys):
    here = tmp_path / 'a' / 'here'  # so that '..' too stays inside tmp_path
    files = _canaries(here)
    monkeypatch.chdir(here)
    for out in ('.', str(here), '..'):
        code, err = _run(capsys, '--out', out, '--overwrite')
        assert code == 2 and len(err) == 1 and 'current directory' in err[0], err
    assert _intact(files)
    assert sorted(p.name for p in here.iterdir()) == ['notes.txt', 'sub']
    assert [p.name for p in (tmp_path / 'a').iterdir()] == ['here']


def test_file_and_symlink_outputs_are_refused(tmp_path, capsys):
    target = tmp_path / 'data.bin'
    target.write_bytes(b'precious')
    code, err = _run(capsys, '--out', str(target), '--overwrite')
    assert code == 2 and len(err) == 1 and 'is a file' in err[0]
    assert target.read_bytes() == b'precious'
    # A link to a dataset of ours still is not replaced through the link.
    real = write_synthetic_dataset(tmp_path / 'real', **TINY_KW)['root']
    (tmp_path / 'link').symlink_to(real)
    code, err = _run(capsys, '--out', str(tmp_path / 'link'), '--overwrite')
    assert code == 2 and len(err) == 1 and 'symbolic link' in err[0]
    assert (tmp_path / 'link').is_symlink() and read_meta(real)['params']['num_train'] == 2


def test_own_dataset_is_replaced_and_empty_directory_used(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / 'syn'
    out.mkdir()  # empty: used, --overwrite or not
    assert _run(capsys, '--out', str(out))[0] == 0
    assert read_meta(out)['params']['num_train'] == 2
    code, err = _run(capsys, '--out', str(out))  # ours, without --overwrite
    assert code == 2 and len(err) == 1 and '--overwrite' in err[0]
    code, _ = _run(capsys, '--out', str(out), '--overwrite', '--num-train', '3')
    assert code == 0
    assert read_meta(out)['params']['num_train'] == 3
    assert sorted(p.name for p in (out / 'train').iterdir()) == ['000001.png', '000002.png',
                                                                 '000003.png']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['syn']  # nothing set aside is left


def test_absurd_requests_are_refused_before_writing(tmp_path, capsys, monkeypatch):
    start = time.monotonic()
    code, err = _run(capsys, '--out', str(tmp_path / 'big'), '--num-train', '10000000000')
    assert code == 2 and len(err) == 1 and 'at most 1,000,000' in err[0]
    assert time.monotonic() - start < 30  # refused up front, not after generating
    # Within the count cap but beyond the disk: one byte less free than the estimate.
    needed = estimate_dataset_bytes(3, 32, 32)  # 3 x (4 + 4 + 4) KiB
    assert needed == 3 * 12 * 1024
    free, real_usage = {'bytes': needed - 1}, shutil.disk_usage
    monkeypatch.setattr(synthetic.shutil, 'disk_usage',
                        lambda path: real_usage(path)._replace(free=free['bytes']))
    code, err = _run(capsys, '--out', str(tmp_path / 'full'))
    assert code == 2 and len(err) == 1 and 'GiB free' in err[0]
    free['bytes'] = needed
    assert _run(capsys, '--out', str(tmp_path / 'fits'))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ['fits']


@pytest.mark.parametrize('size', [32, 96])
def test_disk_estimate_bounds_the_real_size(tmp_path, size):
    root = Path(write_synthetic_dataset(tmp_path / 'd', num_train=6, num_val=2,
                                        image_size=(size, size))['root'])
    used = sum(p.stat().st_blocks * 512 for p in root.rglob('*') if p.is_file())
    estimate = estimate_dataset_bytes(8, size, size)
    assert used <= estimate <= 2.5 * used


def test_umask_decides_permissions(tmp_path):
    previous = os.umask(0o027)
    try:
        root = Path(write_synthetic_dataset(tmp_path / 'd', **TINY_KW)['root'])
    finally:
        os.umask(previous)
    assert root.stat().st_mode & 0o777 == 0o750
    assert (root / 'meta.json').stat().st_mode & 0o777 == 0o640
    assert (root / 'train' / '000001.png').stat().st_mode & 0o777 == 0o640


def test_sigterm_removes_the_staging_folder(tmp_path):
    out = tmp_path / 'syn'
    child = subprocess.Popen([sys.executable, str(SCRIPT), '--out', str(out), '--num-train',
                              '100000', '--num-val', '1', '--size', '32', '32'],
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob('.syn.o2f-staging-*/train/*.png')):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_stale_staging_of_a_killed_run_is_removed(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    stale = tmp_path / f'.syn.o2f-staging-{dead.pid}-k1ll3d'
    (stale / 'train').mkdir(parents=True)
    (stale / 'train' / '000001.png').write_bytes(b'half a png')
    alive = tmp_path / f'.syn.o2f-staging-{os.getppid()}-running'  # a live run's: kept
    alive.mkdir()
    assert _run(capsys, '--out', str(tmp_path / 'syn'))[0] == 0
    assert not stale.exists() and alive.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['syn', alive.name])
    assert json.loads((tmp_path / 'syn' / 'meta.json').read_text())['o2f_owner'] == (
        'o2f_det.synthetic')

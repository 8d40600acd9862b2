"""demo / visualize / benchmarks never destroy what they did not write (issue 11, part 1).

Destructive cases run inside ``tmp_path`` with canary files; nothing here trains a model: every
refusal happens before the work starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from o2f_core.io import UnsafeOutputError
from o2f_core.synthetic import read_meta, write_synthetic_dataset

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / 'tools'
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore')


def _load_tool(name: str):
    """The importable code behind tools/NAME.py."""
    return importlib.import_module({'demo': 'o2f_det.demo',
                                    'visualize': 'o2f_det.visualization'}[name])


def _demo(work_dir: Path, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOLS / 'demo.py'), '--quick', '--no-crowd',
                           '--work-dir', str(work_dir)], env=env or ENV, capture_output=True,
                          text=True, timeout=timeout, cwd=work_dir.parent)


def _tiny_args(work_dir: Path, num_train: int) -> argparse.Namespace:
    return argparse.Namespace(work_dir=str(work_dir), num_train=num_train, num_val=1, size=32,
                              seed=0)


def test_demo_stops_at_a_foreign_data_folder(tmp_path):
    work_dir = tmp_path / 'work'
    canary = work_dir / 'data' / 'coco' / 'annotations.json'
    canary.parent.mkdir(parents=True)
    canary.write_text('real annotations')
    run = _demo(work_dir)
    assert run.returncode == 2, run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "--work-dir's data folder" in lines[0]
    assert 'did not write' in lines[0] and str(work_dir / 'data') in lines[0]
    assert canary.read_text() == 'real annotations'
    assert sorted(p.name for p in work_dir.iterdir()) == ['data']
    assert [p.name for p in (work_dir / 'data').iterdir()] == ['coco']


def test_demo_refuses_home_and_unwritable_results_before_work(tmp_path):
    home = tmp_path / 'home'
    (home / 'keep.txt').parent.mkdir()
    (home / 'keep.txt').write_text('mine')
    # The libraries' own caches (matplotlib's font list, yapf's grammar; written when mmdet is
    # imported) stay the real ones, built already: the check is that the demo itself writes
    # nothing into home.
    import matplotlib

    caches = dict(XDG_CACHE_HOME=os.environ.get('XDG_CACHE_HOME',
                                                os.path.expanduser('~/.cache')),
                  MPLCONFIGDIR=matplotlib.get_cachedir())
    run = _demo(home, env=dict(ENV, HOME=str(home), **caches))
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert 'is the home directory' in run.stderr
    assert sorted(p.name for p in home.iterdir()) == ['keep.txt']
    # results.json is a folder: refused at once, not after the training.
    work_dir = tmp_path / 'work'
    (work_dir / 'results.json').mkdir(parents=True)
    run = _demo(work_dir)
    assert run.returncode == 2 and 'results.json is a directory' in run.stderr
    assert sorted(p.name for p in work_dir.iterdir()) == ['results.json']


def test_demo_reuses_or_replaces_only_its_own_data(tmp_path):
    demo = _load_tool('demo')
    work_dir = tmp_path / 'work'
    data_dir = Path(demo.prepare_data(_tiny_args(work_dir, 2)))
    assert read_meta(data_dir)['params']['num_train'] == 2
    first_png = (data_dir / 'train' / '000001.png').stat().st_ino
    assert Path(demo.prepare_data(_tiny_args(work_dir, 2))) == data_dir  # reused as is
    assert (data_dir / 'train' / '000001.png').stat().st_ino == first_png
    demo.prepare_data(_tiny_args(work_dir, 3))  # other parameters: ours, so replaced
    assert read_meta(data_dir)['params']['num_train'] == 3
    assert sorted(p.name for p in work_dir.iterdir()) == ['data']
    # Another tool's folder whose meta.json has the same parameters is neither reused nor replaced.
    other = tmp_path / 'other'
    meta = json.loads((data_dir / 'meta.json').read_text())
    (other / 'data').mkdir(parents=True)
    (other / 'data' / 'meta.json').write_text(json.dumps({**meta, 'o2f_owner': 'someone'}))
    with pytest.raises(UnsafeOutputError, match="does not carry tools/make_synthetic.py's"):
        demo.prepare_data(_tiny_args(other, 3))
    assert json.loads((other / 'data' / 'meta.json').read_text())['o2f_owner'] == 'someone'
    # A dataset of a version before the signature (meta.json = {params, stats}) is ours.
    del meta['o2f_owner']
    (data_dir / 'meta.json').write_text(json.dumps(meta))
    assert read_meta(data_dir)['params']['num_train'] == 3
    assert Path(demo.prepare_data(_tiny_args(work_dir, 3))) == data_dir  # reused
    assert 'o2f_owner' not in json.loads((data_dir / 'meta.json').read_text())
    demo.prepare_data(_tiny_args(work_dir, 2))  # replaced, now signed
    assert json.loads((data_dir / 'meta.json').read_text())['o2f_owner'] == 'o2f_det.synthetic'
    (data_dir / 'meta.json').write_text(json.dumps({**meta, 'note': 'mine'}))  # not v1's file
    with pytest.raises(UnsafeOutputError, match='does not carry'):
        demo.prepare_data(_tiny_args(work_dir, 3))


def test_visualize_never_writes_onto_an_input(tmp_path):
    visualize = _load_tool('visualize')
    data = write_synthetic_dataset(tmp_path / 'data', num_train=1, num_val=2,
                                   image_size=(32, 32))
    ann_file = Path(data['instances_val'])
    before = ann_file.read_bytes()
    predictions = {name: [dict(img_id=i, img_path=str(tmp_path / 'data' / 'val' / f'{i:06d}.png'),
                               bboxes=np.array([[1.0, 1.0, 9.0, 9.0]]), scores=np.array([0.9]),
                               labels=np.array([0])) for i in (1, 2)]
                   for name in ('FCOS', 'o2f')}
    with pytest.raises(UnsafeOutputError, match='same file as the input'):
        visualize.draw_detection_comparison(predictions, str(ann_file), str(ann_file.parent),
                                            filename=ann_file.name)
    assert ann_file.read_bytes() == before
    image = tmp_path / 'data' / 'val' / '000001.png'
    image_bytes = image.read_bytes()
    with pytest.raises(UnsafeOutputError, match='same file as the input'):
        visualize.draw_detection_comparison(predictions, str(ann_file), str(image.parent),
                                            filename=image.name)
    assert image.read_bytes() == image_bytes
    # An ordinary output: written with the umask's permissions, no temporary file left.
    previous = os.umask(0o022)
    try:
        assert visualize.draw_detection_comparison(predictions, str(ann_file),
                                                   str(tmp_path / 'pics')) == [
            'detections_no_nms.png']
    finally:
        os.umask(previous)
    assert [p.name for p in (tmp_path / 'pics').iterdir()] == ['detections_no_nms.png']
    assert (tmp_path / 'pics' / 'detections_no_nms.png').stat().st_mode & 0o777 == 0o644


def test_visualize_cli_refuses_a_picture_over_its_checkpoint(tmp_path):
    pytest.importorskip('mmdet')
    out_dir = tmp_path / 'pics'
    out_dir.mkdir()
    checkpoint = out_dir / 'score_maps_fig6.png'
    checkpoint.write_bytes(b'weights')
    run = subprocess.run([sys.executable, str(TOOLS / 'visualize.py'), 'score-maps', '--config',
                          str(REPO / 'configs' / 'det' / 'o2f_demo_cpu.py'), '--checkpoint',
                          str(checkpoint), '--epoch', '1', '--max-epochs', '1', '--out-dir',
                          str(out_dir)], env=ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert 'same file as the input' in run.stderr
    assert checkpoint.read_bytes() == b'weights'


@pytest.mark.parametrize('tool', ['benchmark.py', 'benchmark_assigner.py'])
def test_benchmark_json_checked_before_timing(tmp_path, tool):
    (tmp_path / 'out.json').mkdir()
    run = subprocess.run([sys.executable, str(TOOLS / tool), '--repeats', '1', '--json',
                          str(tmp_path / 'out.json')], env=ENV, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert 'out.json is a directory' in run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ['out.json']

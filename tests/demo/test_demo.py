"""The CPU demo end to end in its quick form: table, results.json and pictures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from o2f_crowd.evaluation import evaluate, load_odgt

pytest.importorskip('mmdet')

from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / 'tools' / 'demo.py')


def _env() -> dict:
    env = dict(os.environ)
    env.update(CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore')
    return env


@pytest.mark.slow
def test_quick_demo_writes_table_results_and_pictures(tmp_path):
    work_dir = tmp_path / 'demo'
    run = subprocess.run([sys.executable, DEMO, '--quick', '--work-dir', str(work_dir)],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    # Progress lines for both detectors, then the table with every (detector, NMS) row.
    assert '[FCOS] epoch 2/2' in out and '[ o2f] epoch 2/2' in out
    assert '| detector | NMS | AP | AP50 | AR@100 |' in out
    for row in ('| FCOS | w/ NMS |', '| FCOS | w/o NMS |', '| o2f | w/ NMS |', '| o2f | w/o NMS |'):
        assert row in out
    assert '| detector | NMS | AP | mMR | Recall | JI |' in out

    results = json.loads((work_dir / 'results.json').read_text())
    assert results['settings']['epochs'] == 2 and results['settings']['quick'] is True
    gt_odgt = work_dir / 'data' / 'annotations' / 'crowd_val.odgt'
    for name in ('FCOS', 'o2f'):
        per_nms = results['detectors'][name]
        for label in ('w/ NMS', 'w/o NMS'):
            coco = per_nms[label]['coco']
            assert set(coco) == {'AP', 'AP50', 'AP75', 'AR@100'}
            # AP averages AP50 ... AP95, each at most AP50 (stricter IoU, fewer true positives).
            assert coco['AP'] <= coco['AP50'] and coco['AP75'] <= coco['AP50']
            # The crowd numbers are those of the written detections, re-evaluated here.
            tag = f"{name.lower()}_{'nms' if label == 'w/ NMS' else 'nonms'}"
            again = evaluate(load_odgt(str(gt_odgt), 'gt'),
                             load_odgt(str(work_dir / name.lower() / f'crowd_dt_{tag}.odgt'), 'dt'))
            crowd = per_nms[label]['crowd']
            assert {k: crowd[k] for k in ('AP', 'mMR', 'Recall', 'JI')} == {
                k: again[k] for k in ('AP', 'mMR', 'Recall', 'JI')}
        # NMS only removes boxes, and both settings are capped at max_per_img = 100.
        boxes = {label: per_nms[label]['mean_boxes_per_image'] for label in ('w/ NMS', 'w/o NMS')}
        assert boxes['w/o NMS'] >= boxes['w/ NMS']
        assert boxes['w/o NMS'] <= 100
    # Training used the demo's T schedule: the early snapshot for Fig. 6 exists.
    assert (work_dir / 'o2f' / 'epoch_1.pth').is_file()
    assert (work_dir / 'results.md').read_text().startswith('| detector | NMS |')

    assert sorted(results['pictures']) == ['detections_no_nms.png', 'score_maps_fig6.png']
    detections = Image.open(work_dir / 'detections_no_nms.png')
    # 3 tiles (GT, FCOS, o2f) of a 3x upscaled 96 px image per row.
    assert detections.width == 3 * 96 * 3 + 2 * 4
    assert Image.open(work_dir / 'score_maps_fig6.png').size[0] > 400
    # Atomic writes and the staged dataset left no temporary file or folder.
    assert not [p for p in work_dir.rglob('.*') if '.o2f-' in p.name]


def test_bad_argument_is_one_line_exit_2(tmp_path):
    run = subprocess.run([sys.executable, DEMO, '--size', '100', '--work-dir', str(tmp_path / 'x')],
                         env=_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and 'multiple of 32' in run.stderr
    assert not (tmp_path / 'x').exists()

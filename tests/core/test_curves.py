"""Fig. 5 plots from hand-written mmengine scalar logs (o2f_core.curves, tools/plot_curves.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('matplotlib')

from o2f_core.curves import CurveLogError, plot_curves, read_run  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# Two epochs, two logged iterations each, T 0.6 then 0.2, and both AP sets per epoch.
LINES = [
    {'lr': 0.01, 'loss': 2.0, 'loss_cls': 1.5, 'loss_bbox': 0.5, 'o2f_temperature': 0.6,
     'epoch': 1, 'iter': 1, 'step': 1},
    {'lr': 0.01, 'loss': 1.0, 'loss_cls': 0.5, 'loss_bbox': 0.5, 'o2f_temperature': 0.6,
     'epoch': 1, 'iter': 2, 'step': 2},
    {'coco/bbox_mAP': 0.10, 'coco/bbox_mAP_50': 0.3, 'nms/coco/bbox_mAP': 0.12,
     'data_time': 0.1, 'time': 0.2, 'step': 1},
    {'lr': 0.01, 'loss': 0.8, 'loss_cls': 0.4, 'loss_bbox': 0.4, 'o2f_temperature': 0.2,
     'epoch': 2, 'iter': 3, 'step': 3},
    {'lr': 0.01, 'loss': 0.6, 'loss_cls': 0.2, 'loss_bbox': 0.4, 'o2f_temperature': 0.2,
     'epoch': 2, 'iter': 4, 'step': 4},
    {'coco/bbox_mAP': 0.25, 'coco/bbox_mAP_50': 0.5, 'nms/coco/bbox_mAP': 0.24,
     'data_time': 0.1, 'time': 0.2, 'step': 2},
]


def write_run(work_dir: Path, lines, stamp='20260101_000000', name=None) -> Path:
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    path = vis / (name or f'{stamp}.json')
    path.write_text(''.join(json.dumps(line) + '\n' for line in lines))
    return path


def test_read_run_epochs_losses_temperature(tmp_path):
    write_run(tmp_path / 'o2f', LINES, name='scalars.json')
    run = read_run(tmp_path / 'o2f')
    assert run.metric('coco/bbox_mAP') == ([1, 2], [0.10, 0.25])
    assert run.metric('nms/coco/bbox_mAP') == ([1, 2], [0.12, 0.24])
    assert run.temperature == {1: 0.6, 2: 0.2}
    # the epoch's mean of the logged iterations: (2 + 1) / 2, (0.8 + 0.6) / 2
    assert run.loss[1]['loss'] == pytest.approx(1.5)
    assert run.loss[2]['loss'] == pytest.approx(0.7)
    assert run.loss[2]['loss_cls'] == pytest.approx(0.3)
    assert 'time' not in run.metric_keys()


def test_resumed_run_later_folder_wins(tmp_path):
    write_run(tmp_path / 'r', LINES[:3], stamp='20260101_000000')
    resumed = [dict(LINES[5], **{'coco/bbox_mAP': 0.4})]
    write_run(tmp_path / 'r', resumed, stamp='20260101_010000')
    run = read_run(tmp_path / 'r')
    assert run.metric('coco/bbox_mAP') == ([1, 2], [0.10, 0.4])


def test_plot_writes_image_with_both_styles(tmp_path):
    write_run(tmp_path / 'o2f', LINES)
    write_run(tmp_path / 'poto', [{k: v for k, v in line.items() if not k.startswith('nms/')}
                                  for line in LINES])
    out = tmp_path / 'figs' / 'fig5.png'
    drawn = plot_curves([read_run(tmp_path / 'o2f'), read_run(tmp_path / 'poto')], out)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert drawn['o2f']['ap'] == [0.10, 0.25] and drawn['o2f']['ap_nms'] == [0.12, 0.24]
    assert drawn['o2f']['T'] == [0.6, 0.2]
    assert drawn['poto']['ap_nms'] == [] and drawn['poto']['ap'] == [0.10, 0.25]
    assert set(drawn['o2f']['losses']) == {'loss', 'loss_cls', 'loss_bbox'}
    assert [p.name for p in out.parent.iterdir()] == ['fig5.png']  # no temporary left


def test_metric_knob_selects_the_series(tmp_path):
    write_run(tmp_path / 'o2f', LINES)
    drawn = plot_curves([read_run(tmp_path / 'o2f')], tmp_path / 'a.png',
                        ap_key='coco/bbox_mAP_50')
    assert drawn['o2f']['ap'] == [0.3, 0.5] and drawn['o2f']['ap_nms'] == []
    with pytest.raises(CurveLogError, match='no run logged coco/segm_mAP'):
        plot_curves([read_run(tmp_path / 'o2f')], tmp_path / 'b.png', ap_key='coco/segm_mAP')


def run_cli(*args):
    return subprocess.run([sys.executable, str(REPO / 'tools/plot_curves.py'), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_and_refuses_bad_input(tmp_path):
    log = write_run(tmp_path / 'o2f', LINES)
    out = tmp_path / 'fig5.png'
    proc = run_cli(tmp_path / 'o2f', '--out', out)
    assert proc.returncode == 0, proc.stderr
    assert 'o2f: 2 epochs w/o NMS, 2 w/ NMS, 2 T values' in proc.stdout
    assert out.stat().st_size > 0

    before = log.read_bytes()
    proc = run_cli(tmp_path / 'o2f', '--out', log.with_suffix('.png'))
    assert proc.returncode == 0  # a sibling, not the log itself
    # the output is never one of the inputs: pointing it at the log (through a .png link) fails
    link = tmp_path / 'log.png'
    link.symlink_to(log)
    proc = run_cli(tmp_path / 'o2f', '--out', link)
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1
    assert 'same file as the input' in proc.stderr and log.read_bytes() == before

    proc = run_cli(tmp_path / 'nothing', '--out', out)
    assert proc.returncode == 2 and 'is not a folder' in proc.stderr
    (tmp_path / 'empty').mkdir()
    proc = run_cli(tmp_path / 'empty', '--out', out)
    assert proc.returncode == 2 and 'no scalar log in' in proc.stderr
    assert proc.stderr.count('\n') == 1

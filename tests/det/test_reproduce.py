"""tools/reproduce.py: rows reach the model through config keys; a --quick run writes the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('mmdet')
pytest.importorskip('matplotlib')

from o2f_det.experiments.reproduce import (  # noqa: E402
    QUICK,
    build_config,
    full_commands,
    select_rows,
    summarize,
    table_rows,
)

REPO = Path(__file__).resolve().parents[2]


def row(table, name):
    return next(r for r in table_rows(table) if r.name == name)


def cfg_of(table, name, tmp_path):
    return build_config(row(table, name), str(tmp_path) + '/', QUICK, 1, str(tmp_path / 'w'))


def test_ablation_knobs_reach_the_config(tmp_path):
    assert [r.name for r in table_rows('table2')] == ['K=3', 'K=5', 'K=7', 'K=9', 'K=13']
    assert cfg_of('table2', 'K=13', tmp_path).model.train_cfg.assigner.num_ambiguous == 13
    cfg = cfg_of('table3', 'Tmax=0.8 Tmin=0.4', tmp_path)
    assert cfg.o2f_temperature == dict(t_max=0.8, t_min=0.4)
    cfg = cfg_of('table4', 'add alpha=0.6', tmp_path)
    assert (cfg.model.train_cfg.assigner.ranking, cfg.model.train_cfg.assigner.alpha) == \
        ('add', 0.6)
    assert len(table_rows('table4')) == 8
    cfg = cfg_of('table9', 'POTO', tmp_path)
    assert cfg.model.train_cfg.assigner == dict(type='POTOAssigner', alpha=0.8,
                                                center_radius=1.5, ranking='multiply')
    # every run: both AP sets from one pass, the duplicate rate, the seed, the tiny scale
    assert cfg.val_cfg.type == 'O2FDualNMSValLoop' and cfg.randomness.seed == 1
    assert cfg.val_evaluator[1].type == 'O2FDuplicateRateMetric'
    assert cfg.train_cfg.max_epochs == QUICK.epochs


def test_centerness_convs_row_builds_that_many_convs(tmp_path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    counts = []
    for n in (1, 3):
        model = MODELS.build(cfg_of('table5', f'o2f, {n} conv', tmp_path).model)
        branch = model.bbox_head.conv_centerness
        counts.append(sum(isinstance(m, __import__('torch').nn.Conv2d) for m in branch.modules()))
    assert counts[1] - counts[0] == 2  # two more 3x3 convs, the output conv in both


def test_summary_mean_and_sample_std():
    assert summarize([0.1, 0.2, 0.3]) == {'mean': pytest.approx(0.2), 'std': pytest.approx(0.1),
                                          'n': 3}
    assert summarize([0.5]) == {'mean': 0.5, 'std': 0.0, 'n': 1}


def test_full_prints_real_config_commands():
    commands = full_commands('table2')
    assert commands[0].startswith('python tools/train.py det configs/det/o2f_r50_1x.py')
    assert commands[0].endswith('--cfg-options model.train_cfg.assigner.num_ambiguous=3')
    table3 = full_commands('table3')
    assert '+o2f_temperature.t_max=0.6 +o2f_temperature.t_min=0.2' in table3[0]
    table5 = full_commands('table5')
    assert not any(c.startswith('#') for c in table5)  # every Table 5 row has its COCO config
    assert 'python tools/train.py det configs/det/poto_3dmf_aux_r50_1x.py --work-dir ' \
        'work_dirs/reproduce-full/table5/POTO_+_3DMF_+_Aux' in table5


def test_row_selects_rows_in_table_order():
    assert [r.name for r in select_rows('table4', ['add alpha=0.6', 'multiply alpha=1.0'])] == \
        ['multiply alpha=1.0', 'add alpha=0.6']
    assert len(select_rows('table4', None)) == 8
    with pytest.raises(ValueError, match="'K=4' is not a row of table2; its rows: 'K=3'"):
        select_rows('table2', ['K=4'])
    commands = full_commands('table2', ['K=9'])
    assert commands == ['python tools/train.py det configs/det/o2f_r50_1x.py --work-dir '
                        'work_dirs/reproduce-full/table2/K=9 --cfg-options '
                        'model.train_cfg.assigner.num_ambiguous=9']


def run_cli(*args, cwd=REPO):
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore')
    return subprocess.run([sys.executable, str(REPO / 'tools/reproduce.py'), *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def test_bad_arguments_are_one_line_exit_2(tmp_path):
    proc = run_cli('table5', '--launch')
    assert proc.returncode == 2 and 'add --full' in proc.stderr
    proc = run_cli('table2', '--full', '--row', 'K=4')
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1
    assert "'K=4' is not a row" in proc.stderr
    proc = run_cli('table5', '--seeds', '0')
    assert proc.returncode == 2 and 'at least 1' in proc.stderr
    (tmp_path / 'file').write_text('keep')
    proc = run_cli('fig5', '--quick', '--out-dir', tmp_path / 'file')
    assert proc.returncode == 2 and 'is a file' in proc.stderr
    assert (tmp_path / 'file').read_text() == 'keep'


@pytest.mark.slow
def test_quick_fig5_trains_both_rows_and_writes_the_table(tmp_path):
    out = tmp_path / 'repro'
    proc = run_cli('fig5', '--quick', '--out-dir', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / 'fig5' / 'results.json').read_text())
    assert [r['name'] for r in report['rows']] == ['o2f', 'POTO'] and report['seeds'] == 1
    for entry in report['rows']:
        metrics = entry['runs'][0]['metrics']
        for key in ('coco/bbox_mAP', 'nms/coco/bbox_mAP', 'coco/bbox_AR@100', 'duplicate/rate',
                    'nms/duplicate/rate'):
            assert 0.0 <= metrics[key] <= 1.0, key
        assert entry['summary']['coco/bbox_mAP']['n'] == 1
    table = (out / 'fig5' / 'results.md').read_text().splitlines()
    assert table[2].startswith('| row | AP w/o NMS | AP w/ NMS |')
    assert table[4].startswith('| o2f |') and table[5].startswith('| POTO |')
    assert (out / 'fig5' / 'fig5.png').read_bytes()[:4] == b'\x89PNG'


def test_an_interrupted_table_keeps_the_rows_it_finished(tmp_path, monkeypatch):
    import o2f_core.curves
    from o2f_det.experiments import reproduce as module

    def fake_run(row, data_root, scale, seed, work_dir, name):
        if row.name == 'POTO':
            raise KeyboardInterrupt  # the user stops the table during its second row
        return {'coco/bbox_mAP': 0.1 + seed / 10}

    monkeypatch.setattr(module, 'run_one', fake_run)
    monkeypatch.setattr(module, 'ensure_dataset', lambda out_dir, scale: str(tmp_path) + '/')
    monkeypatch.setattr(o2f_core.curves, 'read_run', lambda work_dir, name: None)
    with pytest.raises(KeyboardInterrupt):
        module.reproduce('fig5', 2, False, str(tmp_path))
    report = json.loads((tmp_path / 'fig5' / 'results.json').read_text())
    assert [r['name'] for r in report['rows']] == ['o2f']
    assert report['rows'][0]['summary']['coco/bbox_mAP']['mean'] == pytest.approx(0.15)
    assert '| o2f | 15.0 ± 7.1 |' in (tmp_path / 'fig5' / 'results.md').read_text()

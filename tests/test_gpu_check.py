"""tools/gpu_check.py on CPU: arguments, the CPU refusal, the report schema, and the dry run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from o2f_det import gpu_check
from o2f_det.cli_common import CliError

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- arguments
def test_defaults_are_the_issue_sizes():
    args = gpu_check.parse_args([])
    assert args.image_hw == (800, 1333) and args.iters == 50 and args.batch_size == 2
    assert args.only == list(gpu_check.CHECKS) and args.budget_s == 600.0


def test_dry_run_shrinks_every_size_but_keeps_the_checks():
    args = gpu_check.parse_args(['--dry-run', '--iters', '50', '--only', 'train_fp32,ddp'])
    assert args.image_hw == (64, 96) and args.iters == 2 and args.batch_size == 1
    assert args.fps_images == 1 and args.ddp_steps == 1 and args.only == ['train_fp32', 'ddp']
    assert gpu_check.parse_args(['--dry-run', '--iters', '1']).iters == 1


def test_size_arguments_are_read():
    args = gpu_check.parse_args(['--image-size', '512,640', '--iters', '7', '--fps-images', '3'])
    assert args.image_hw == (512, 640) and args.iters == 7 and args.fps_images == 3


@pytest.mark.parametrize('argv, expected', [
    (['--only', 'train,ddp'], "--only takes a subset of versions,mmcv_ops,train_fp32,train_amp,"
     "inference,ddp, got ['train']"),
    (['--only', ','], '--only takes a subset'),
    (['--image-size', '800x1333'], "--image-size takes H,W (two integers), got '800x1333'"),
    (['--image-size', '16,1333'], 'each side must be >= 32 pixels'),
    (['--iters', '0'], '--iters must be >= 1, got 0'),
    (['--batch-size', '-1'], '--batch-size must be >= 1, got -1'),
    (['--budget-s', '0'], '--budget-s must be > 0'),
    (['--no-such-flag'], 'unrecognized arguments: --no-such-flag'),
])
def test_bad_arguments_are_one_line(argv, expected):
    with pytest.raises(CliError) as exc:
        gpu_check.parse_args(argv)
    message = str(exc.value)
    assert message.startswith('tools/gpu_check.py: error: ') and expected in message
    assert '\n' not in message


def test_cli_bad_argument_exit_2_one_line(tmp_path):
    res = subprocess.run([sys.executable, str(REPO / 'tools' / 'gpu_check.py'), '--iters', '0',
                          '--out-dir', str(tmp_path / 'out')],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        'tools/gpu_check.py: error: --iters must be >= 1, got 0 (see tools/gpu_check.py --help)']
    assert not (tmp_path / 'out').exists()


# ----------------------------------------------------------------------------- CPU refusal
def test_cpu_machine_is_refused_with_one_line(monkeypatch, capsys, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    code = gpu_check.main(['--out-dir', str(tmp_path / 'out')])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith('tools/gpu_check.py: no CUDA GPU visible (torch ')
    assert err[0].endswith('run it on a GPU machine, or add --dry-run for the tiny CPU run')
    assert not (tmp_path / 'out').exists()


def test_out_dir_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('keep me')
    assert gpu_check.main(['--dry-run', '--out-dir', str(blocker)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'is a file, not a folder' in err[0]
    assert blocker.read_text() == 'keep me'


# ----------------------------------------------------------------------------- report schema
def fake_entries() -> list[dict]:
    """One entry per check as run_check() makes them, with made-up measurements."""
    return [
        dict(name='versions', status='ok', seconds=0.5, error=None, python='3.11.7',
             torch='2.14.1', torch_cuda='13.0', cudnn='92400', gpu='NVIDIA H200',
             capability='9.0', mmcv='2.1.0', mmcv_compiled_cuda='13.0', mmdet='3.3.0',
             mmengine='0.10.7'),
        dict(name='mmcv_ops', status='ok', seconds=1.25, error=None, nms_boxes=4000,
             nms_kept=3100, nms_equal_cpu=True, batched_nms_equal_cpu=True,
             focal_loss_max_abs_diff=3e-8),
        dict(name='train_fp32', status='ok', seconds=20.0, error=None, iters=50, batch_size=2,
             image_hw=[800, 1333], loss_first=4.2, loss_last=3.1, all_finite=True,
             first_iter_s=3.5, s_per_iter=0.21, peak_mem_mib=7000.0),
        dict(name='train_amp', status='failed', seconds=2.0,
             error='RuntimeError at grad_scaler.py:10: boom'),
        dict(name='inference', status='skipped', seconds=0.0,
             error='time budget (--budget-s) used up before this check'),
    ]


def test_report_from_fake_measurements_validates_and_renders():
    report = gpu_check.build_report(fake_entries(), dict(device='cuda:0', dry_run=False), 23.75,
                                    created='2026-12-03T20:00:00Z')
    assert report['schema'] == 'o2f-gpu-check/1' and report['total_seconds'] == 23.75
    assert report['passed'] is False  # train_amp failed; a skipped check alone would not fail
    assert [c['name'] for c in report['checks']] == [
        'versions', 'mmcv_ops', 'train_fp32', 'train_amp', 'inference']
    json.loads(json.dumps(report))  # plain JSON
    markdown = gpu_check.render_markdown(report).splitlines()
    assert markdown[0] == 'o2f GPU check FAILED (2026-12-03T20:00:00Z, cuda:0, 24 s)'
    assert markdown[2:4] == ['| check | status | s | result |', '|---|---|---|---|']
    assert markdown[5] == ('| mmcv_ops | ok | 1.2 | nms_boxes 4000, nms_kept 3100, '
                           'nms_equal_cpu yes, batched_nms_equal_cpu yes, '
                           'focal_loss_max_abs_diff 3e-08 |')
    assert markdown[6].startswith('| train_fp32 | ok | 20.0 | image_hw 800x1333, batch_size 2, '
                                  'iters 50, all_finite yes, loss_first 4.2, loss_last 3.1, '
                                  's_per_iter 0.21,')
    assert markdown[7] == '| train_amp | failed | 2.0 | RuntimeError at grad_scaler.py:10: boom |'
    assert len(markdown) == 9

    only_skipped = [e for e in fake_entries() if e['status'] != 'failed']
    assert gpu_check.build_report(only_skipped, {}, 1.0)['passed'] is True


@pytest.mark.parametrize('break_it, message', [
    (lambda r: r['checks'][2].pop('peak_mem_mib'), "'train_fp32' passed without ['peak_mem_mib']"),
    (lambda r: r['checks'][3].update(error=None), "'train_amp' failed without a reason"),
    (lambda r: r['checks'][0].update(status='fine'), "status 'fine' not in"),
    (lambda r: r['checks'].append(dict(r['checks'][0])), 'each once'),
    (lambda r: r['checks'][1].update(name='nms'), 'each once'),
    (lambda r: r.update(passed=True), 'disagrees with the checks'),
    (lambda r: r.pop('settings'), "lacks 'settings'"),
    (lambda r: r['checks'][2].update(loss_last=float('nan')), 'Out of range float'),
])
def test_schema_violations_are_caught(break_it, message):
    report = gpu_check.build_report(fake_entries(), {}, 1.0)
    break_it(report)
    with pytest.raises(ValueError, match=message.replace('[', r'\[').replace('(', r'\(')):
        gpu_check.validate_report(report)


def test_run_check_records_failures_and_the_budget():
    def broken():
        raise RuntimeError('CUDA error: an illegal\nmemory access')

    entry = gpu_check.run_check('ddp', broken, deadline=float('inf'))
    assert entry['status'] == 'failed' and entry['name'] == 'ddp'
    assert entry['error'].startswith('RuntimeError at test_gpu_check.py:')
    assert entry['error'].endswith(': CUDA error: an illegal memory access')
    late = gpu_check.run_check('ddp', broken, deadline=0.0)
    assert late == dict(name='ddp', status='skipped', seconds=0.0,
                        error='time budget (--budget-s) used up before this check')


@pytest.mark.parametrize('entry, verdict', [
    (dict(name='mmcv_ops', nms_equal_cpu=True, batched_nms_equal_cpu=True,
          focal_loss_max_abs_diff=1e-7), None),
    (dict(name='mmcv_ops', nms_equal_cpu=False, batched_nms_equal_cpu=True,
          focal_loss_max_abs_diff=None), 'CUDA result differs from the reference: nms_equal_cpu'),
    (dict(name='mmcv_ops', nms_equal_cpu=True, batched_nms_equal_cpu=True,
          focal_loss_max_abs_diff=0.01),
     'CUDA result differs from the reference: focal_loss_max_abs_diff 0.01 > 1e-4'),
    (dict(name='train_amp', all_finite=False), 'a training loss was not finite'),
    (dict(name='ddp', all_finite=True, all_reduce_ok=False), 'all_reduce returned a wrong value'),
])
def test_wrong_measurements_fail_the_check(entry, verdict):
    assert gpu_check._failed_measurements(entry) == verdict


# ----------------------------------------------------------------------------- the dry run
@pytest.mark.slow  # ~20 s of CPU: three R50 detectors built, trained and run at 64x96
def test_dry_run_runs_every_check_on_cpu_and_writes_the_report(tmp_path, capsys):
    """The real code path (R50 config, mmcv nms, train_step, test_step, gloo DDP), tiny."""
    out = tmp_path / 'report'
    assert gpu_check.main(['--dry-run', '--out-dir', str(out), '--budget-s', '600']) == 0
    report = json.loads((out / 'gpu_check.json').read_text())
    gpu_check.validate_report(report)
    checks = {c['name']: c for c in report['checks']}
    assert list(checks) == list(gpu_check.CHECKS)
    assert {n: c['status'] for n, c in checks.items()} == dict(
        versions='ok', mmcv_ops='ok', train_fp32='ok', train_amp='skipped', inference='ok',
        ddp='ok')
    assert checks['train_amp']['error'] == 'AMP (AmpOptimWrapper) needs a CUDA GPU'
    assert checks['versions']['gpu'].startswith('none (cpu')
    assert checks['mmcv_ops']['nms_equal_cpu'] and checks['mmcv_ops']['nms_kept'] > 0
    train = checks['train_fp32']
    assert train['iters'] == 2 and train['image_hw'] == [64, 96] and train['all_finite']
    assert train['loss_first'] > 0 and train['peak_mem_mib'] is None
    assert checks['inference']['images'] == 1 and checks['inference']['o2f_fps'] > 0
    assert checks['ddp']['backend'] == 'gloo' and checks['ddp']['all_reduce_ok']
    assert report['settings']['dry_run'] is True and report['passed'] is True
    markdown = (out / 'gpu_check.md').read_text()
    assert markdown == gpu_check.render_markdown(report)
    assert capsys.readouterr().out.endswith(f"wrote {out / 'gpu_check.json'} and "
                                            f"{out / 'gpu_check.md'}\n")

"""tools/train.py and tools/test.py: one-line errors with exit code 2, the pretrained fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip('mmdet')

from mmengine.config import Config  # noqa: E402

from o2f_core import eval_runner, train_runner  # noqa: E402
from o2f_core.cli import drop_unavailable_pretrained  # noqa: E402

# Port 9 (discard) on localhost: refused at once, so the probe fails without any real network.
UNREACHABLE = 'http://127.0.0.1:9/resnet50-unreachable.pth'


def one_error_line(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert 'Traceback' not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_unknown_task_subprocess(tool, cli, cli_env, python):
    proc = cli([python, tool, 'detection', 'configs/det/o2f_r50_1x.py', 'x.pth'], cli_env)
    assert proc.returncode == 2
    one_error_line(proc.stderr, "unknown task 'detection'", 'det, seg, crowd')


@pytest.mark.parametrize('tool,extra', [('tools/train.py', []), ('tools/test.py', ['x.pth'])])
def test_missing_config_subprocess(tool, extra, cli, cli_env, python):
    proc = cli([python, tool, 'det', 'configs/det/nope.py', *extra], cli_env)
    assert proc.returncode == 2
    one_error_line(proc.stderr, 'config file not found: configs/det/nope.py')
    assert proc.stdout.strip() == ''


def test_wrong_task_config(repo, capsys):
    config = str(repo / 'configs/det/o2f_r50_1x.py')
    assert train_runner.run([config], 'seg') == 2
    one_error_line(capsys.readouterr().err, "o2f_task = 'seg'", "found 'det'")
    assert eval_runner.run([config, config], 'crowd') == 2
    one_error_line(capsys.readouterr().err, "o2f_task = 'crowd'", "found 'det'")


def test_config_without_task_key(tmp_path, capsys):
    config = tmp_path / 'plain.py'
    config.write_text("model = dict(type='FCOS')\n")
    assert train_runner.run([str(config)], 'det') == 2
    one_error_line(capsys.readouterr().err, "expected o2f_task = 'det'", 'no such key')


def test_unknown_option_and_bad_values(repo, capsys):
    config = str(repo / 'configs/det/o2f_r50_1x.py')
    assert train_runner.run([config, '--epochs', '3'], 'det') == 2
    one_error_line(capsys.readouterr().err, 'unrecognized arguments: --epochs 3')
    assert train_runner.run([config, '--launcher', 'slurm'], 'det') == 2
    one_error_line(capsys.readouterr().err, "invalid choice: 'slurm'")
    assert eval_runner.run([config, 'missing.pth'], 'det') == 2
    one_error_line(capsys.readouterr().err, 'checkpoint not found: missing.pth')
    assert train_runner.run([config, '--resume', 'missing.pth'], 'det') == 2
    one_error_line(capsys.readouterr().err, '--resume checkpoint not found')


def test_amp_on_cpu_is_a_clear_error(repo, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert train_runner.run([str(repo / 'configs/det/o2f_r50_1x.py'), '--amp'], 'det') == 2
    one_error_line(capsys.readouterr().err, '--amp needs a CUDA GPU')


def test_unavailable_pretrained_weights_warn_once_and_drop(repo, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cfg = Config.fromfile(str(repo / 'configs/det/o2f_r50_1x.py'))
    cfg.model.backbone.init_cfg.checkpoint = UNREACHABLE
    warnings = drop_unavailable_pretrained(cfg)
    assert cfg.model.backbone.init_cfg is None
    err = capsys.readouterr().err
    one_error_line(err, f'warning: ImageNet weights {UNREACHABLE} unavailable (',
                   'training from scratch')
    assert warnings == [err.strip()]


def test_cached_pretrained_weights_are_kept(repo, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    (cache / 'resnet50-unreachable.pth').write_bytes(b'cached')
    cfg = Config.fromfile(str(repo / 'configs/det/o2f_r50_1x.py'))
    cfg.model.backbone.init_cfg.checkpoint = UNREACHABLE
    assert drop_unavailable_pretrained(cfg) == []
    assert cfg.model.backbone.init_cfg.checkpoint == UNREACHABLE
    assert capsys.readouterr().err == ''


def test_torchvision_names_resolve_to_their_urls():
    from o2f_core.cli import resolve_checkpoint_url

    url = resolve_checkpoint_url('torchvision://resnet50')
    assert url.startswith('https://download.pytorch.org/models/resnet50')


def test_print_config_shows_the_heads_defaults_and_trains_nothing(tmp_path, capsys):
    config = str(Path(__file__).resolve().parents[2] / 'configs/det/o2f_demo_cpu.py')
    work = tmp_path / 'work'
    assert train_runner.run([config, '--print-config', '--work-dir', str(work), '--cfg-options',
                             '+model.bbox_head.dcn_on_last_conv=True'], 'det') == 0
    out = capsys.readouterr().out
    # mmdet's AnchorFreeHead default, which no o2f config spells out
    assert "bbox_coder=dict(type='DistancePointBBoxCoder')" in out
    assert 'dcn_on_last_conv=True' in out  # the config's (here --cfg-options') value wins
    assert 'dcn_on_last_conv=False' not in out
    filled = next(line for line in out.splitlines() if line.startswith('# model.bbox_head'))
    assert 'bbox_coder' in filled and 'dcn_on_last_conv' not in filled
    assert not work.exists()  # nothing built, nothing trained


def test_constructor_defaults_follow_the_mro():
    class Base:
        def __init__(self, a, b=1, c=2, init_cfg=None, test_cfg=None, **kwargs):
            pass

    class Child(Base):
        def __init__(self, *args, b=10, d=4, **kwargs):
            super().__init__(*args, **kwargs)

    assert train_runner.constructor_defaults(Child) == {'b': 10, 'd': 4, 'c': 2}

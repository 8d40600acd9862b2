"""Issue 11, parts 2-4 through tools/train.py and tools/test.py: never a result from the wrong
model, never training garbage silently, one line (exit 2) for every bad input.

Every test runs the CPU demo configs on a tiny synthetic dataset (4 train + 2 val images, 64 px).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('mmdet')

import torch  # noqa: E402

from o2f_core import eval_runner, train_runner  # noqa: E402
from o2f_core.cli import CliError  # noqa: E402
from o2f_core.data_checks import check_dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

DEMO_CONFIG = '''
_base_ = {base!r}
data_root = {root!r}
train_dataloader = dict(batch_size=2, sampler=dict(shuffle=False),
                        dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=100)
default_hooks = dict(logger=dict(interval=1))
'''


def one_line(stderr: str, *needles: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert 'Traceback' not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory) -> Path:
    from o2f_core.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp('safety') / 'data'
    write_synthetic_dataset(root, num_train=4, num_val=2, image_size=(64, 64), seed=1)
    return root


def demo_config(tmp_dir: Path, data_root: Path, name: str = 'o2f_demo_cpu') -> str:
    path = tmp_dir / f'{name}_tiny.py'
    path.write_text(DEMO_CONFIG.format(base=str(REPO / f'configs/det/{name}.py'),
                                       root=str(data_root) + '/'))
    return str(path)


@pytest.fixture(scope='module')
def o2f_config(demo_data, tmp_path_factory) -> str:
    return demo_config(tmp_path_factory.mktemp('cfg'), demo_data)


# ----------------------------------------------------------------------------------------------
# Part 2: strict checkpoint loading in tools/test.py


def _model_state(config: str) -> dict:
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    init_default_scope('mmdet')
    return MODELS.build(Config.fromfile(config).model).state_dict()


@pytest.fixture(scope='module')
def foreign_checkpoints(demo_data, tmp_path_factory) -> dict:
    import torchvision

    folder = tmp_path_factory.mktemp('ckpts')
    fcos = demo_config(folder, demo_data, 'fcos_demo_cpu')
    paths = {}
    for name, content in (
            ('fcos', {'state_dict': _model_state(fcos), 'meta': {}}),
            ('resnet18', torchvision.models.resnet18().state_dict()),
            ('foo', {'foo': torch.zeros(3)})):
        paths[name] = folder / f'{name}.pth'
        torch.save(content, str(paths[name]))
    return paths


@pytest.mark.parametrize('name', ['fcos', 'resnet18', 'foo'])
def test_checkpoint_of_another_model_is_refused(name, o2f_config, foreign_checkpoints, tmp_path,
                                                capsys):
    checkpoint = str(foreign_checkpoints[name])
    code = eval_runner.run([o2f_config, checkpoint, '--work-dir', str(tmp_path)], 'det')
    captured = capsys.readouterr()
    assert code == 2
    line = one_line(captured.err, f'checkpoint {checkpoint} does not match the model: ',
                    "of the model's", 'weights missing (', '--allow-partial')
    assert '| w/o NMS |' not in captured.out  # no AP table from the wrong model
    if name == 'foo':
        assert '1 unexpected keys (foo)' in line


def test_allow_partial_evaluates_and_says_what_was_not_loaded(o2f_config, foreign_checkpoints,
                                                              tmp_path, capsys):
    checkpoint = str(foreign_checkpoints['foo'])
    code = eval_runner.run([o2f_config, checkpoint, '--work-dir', str(tmp_path), '--allow-partial'],
                       'det')
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warnings = [line for line in captured.err.splitlines() if line.startswith('warning:')]
    assert len(warnings) == 1
    assert warnings[0].startswith(f'warning: partial load of {checkpoint}: ')
    assert '1 unexpected keys (foo)' in warnings[0]
    assert '| w/o NMS |' in captured.out and '| w/ NMS |' in captured.out


def test_own_model_checkpoint_loads_strictly(o2f_config, tmp_path, capsys):
    checkpoint = tmp_path / 'own.pth'
    torch.save({'state_dict': _model_state(o2f_config), 'meta': {}}, str(checkpoint))
    assert eval_runner.run([o2f_config, str(checkpoint), '--work-dir', str(tmp_path / 'w')],
                       'det') == 0
    captured = capsys.readouterr()
    assert 'warning' not in captured.err and '| w/ NMS |' in captured.out


@pytest.mark.parametrize('content', [b'', b'not weights\n', bytes(range(256)) * 8])
def test_corrupt_checkpoint_is_one_line(content, o2f_config, tmp_path, capsys):
    checkpoint = tmp_path / 'broken.pth'
    checkpoint.write_bytes(content)
    assert eval_runner.run([o2f_config, str(checkpoint)], 'det') == 2
    line = one_line(capsys.readouterr().err, f'not a valid checkpoint: {checkpoint} (')
    assert 'O2F_TRUST_CHECKPOINTS' not in line


def test_out_that_is_an_input_is_refused(o2f_config, tmp_path, capsys):
    checkpoint = tmp_path / 'model.pkl'
    torch.save({'state_dict': _model_state(o2f_config)}, str(checkpoint))
    before = checkpoint.read_bytes()
    code = eval_runner.run([o2f_config, str(checkpoint), '--out', str(checkpoint),
                        '--work-dir', str(tmp_path / 'w')], 'det')
    assert code == 2
    one_line(capsys.readouterr().err, f'--out {checkpoint} is the same file as the input')
    assert checkpoint.read_bytes() == before


# ----------------------------------------------------------------------------------------------
# Part 3: non-finite loss, empty training set


@pytest.mark.parametrize('name', ['fcos_demo_cpu', 'poto_demo_cpu'])
def test_non_finite_loss_stops_training_without_a_nan_checkpoint(name, demo_data, tmp_path,
                                                                 capsys):
    config = demo_config(tmp_path, demo_data, name)
    work = tmp_path / 'work'
    code = train_runner.run([config, '--work-dir', str(work), '--cfg-options',
                         'optim_wrapper.optimizer.lr=1e6', 'train_cfg.max_epochs=3',
                         'default_hooks.checkpoint.interval=1',
                         'default_hooks.checkpoint.max_keep_ckpts=10',
                         '+default_hooks.checkpoint.by_epoch=False'], 'det')
    assert code == 1
    line = one_line(capsys.readouterr().err, 'training stopped: non-finite loss loss_',
                    'no checkpoint was saved after it')
    iteration = int(line.split(' at iteration ')[1].split()[0])
    assert 2 <= iteration <= 6  # 3 epochs of 2 iterations
    saved = sorted(work.glob('iter_*.pth'))
    assert [p.name for p in saved] == [f'iter_{i}.pth' for i in range(1, iteration)]
    if saved:  # the latest checkpoint is the last finite one
        assert (work / 'last_checkpoint').read_text().strip().endswith(f'iter_{iteration - 1}.pth')
    for path in saved:
        state = torch.load(str(path), map_location='cpu', weights_only=False)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_all_empty_training_set_is_one_line(demo_data, tmp_path, capsys):
    data = tmp_path / 'data'
    shutil.copytree(demo_data, data)
    ann = data / 'annotations' / 'instances_train.json'
    coco = json.loads(ann.read_text())
    coco['annotations'] = []
    ann.write_text(json.dumps(coco))
    config = demo_config(tmp_path, data)
    assert train_runner.run([config, '--work-dir', str(tmp_path / 'w')], 'det') == 2
    one_line(capsys.readouterr().err, 'no training image left after filter_cfg',
             str(ann), 'train_dataloader.dataset.filter_cfg.filter_empty_gt=False')


# ----------------------------------------------------------------------------------------------
# Part 4: --cfg-options, unknown types, data files, --resume


def test_cfg_options_typo_is_refused_and_plus_adds_a_key(o2f_config, tmp_path, capsys):
    assert train_runner.run([o2f_config, '--cfg-options', 'trian_cfg.max_epochs=5'], 'det') == 2
    one_line(capsys.readouterr().err, "unknown --cfg-options key 'trian_cfg.max_epochs'",
             "did you mean 'train_cfg'", '+trian_cfg.max_epochs=VALUE')
    assert train_runner.run([o2f_config, '--cfg-options', 'train_cfg.max_epochz=5'], 'det') == 2
    one_line(capsys.readouterr().err, "has no key 'train_cfg.max_epochz'",
             "did you mean 'train_cfg.max_epochs'")
    runner = train_runner.build_runner([o2f_config, '--work-dir', str(tmp_path), '--cfg-options',
                                    '+o2f_note=hello', 'train_cfg.max_epochs=5'], 'det')
    assert runner.cfg.o2f_note == 'hello' and runner.cfg.train_cfg.max_epochs == 5


@pytest.mark.parametrize('option,needle', [
    ('model.train_cfg.assigner.num_ambiguous=-1', 'num_ambiguous must be >= 0, got -1'),
    ('model.train_cfg.assigner.num_ambiguous=abc', "num_ambiguous must be a number, got 'abc'"),
    ('model.train_cfg.assigner.alpha=2', 'alpha must lie in [0, 1], got 2'),
    ('model.train_cfg.assigner.center_radius=0', 'center_radius must be > 0, got 0'),
    ('+model.bbox_head.num_ambigous=3', "unexpected keyword argument 'num_ambigous'"),
])
def test_invalid_head_values_are_one_line_naming_the_key(option, needle, o2f_config, tmp_path,
                                                          capsys):
    key = option.lstrip('+').split('=')[0]
    assert train_runner.run([o2f_config, '--work-dir', str(tmp_path), '--cfg-options', option],
                        'det') == 2
    one_line(capsys.readouterr().err, 'cannot build the model', f'(config key {key})', needle)


def test_unknown_type_names_the_type_and_its_key(o2f_config, tmp_path, capsys):
    assert train_runner.run([o2f_config, '--work-dir', str(tmp_path), '--cfg-options',
                         'model.neck.type=FPNN'], 'det') == 2
    one_line(capsys.readouterr().err, "unknown type 'FPNN' in model.neck")


def test_readme_command_without_coco_names_the_missing_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools/train.py'), 'det',
         str(REPO / 'configs/det/o2f_swin_t_3x.py'), '--work-dir', str(tmp_path / 'w')],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2
    one_line(proc.stderr, 'annotation file not found: data/coco/annotations/'
             'instances_train2017.json (train_dataloader.dataset.ann_file)', 'data/coco/')


def _dataset_cfg(root: Path, ann: str = 'annotations/instances_train.json') -> dict:
    return dict(data_root=str(root) + '/', ann_file=ann, data_prefix=dict(img='train/'))


@pytest.mark.parametrize('damage,needle', [
    ('missing_ann', 'annotation file not found: {root}/annotations/instances_train.json'),
    ('empty_ann', 'annotation file {root}/annotations/instances_train.json '
     '(train_dataloader.dataset.ann_file) is empty'),
    ('truncated_ann', 'is not valid JSON (truncated or not a COCO file?)'),
    ('not_coco', "is not a COCO annotation file: no 'images' list"),
    ('missing_dir', 'image folder not found: {root}/train/'),
    ('missing_image', 'image {root}/train/000003.png (listed in '),
    ('empty_image', '{root}/train/000002.png (listed in'),
    ('corrupt_image', '{root}/train/000001.png (listed in'),
])
def test_data_problems_are_one_line_naming_the_file(damage, needle, demo_data, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(demo_data, root)
    ann = root / 'annotations' / 'instances_train.json'
    if damage == 'missing_ann':
        ann.unlink()
    elif damage == 'empty_ann':
        ann.write_text('')
    elif damage == 'truncated_ann':
        ann.write_text(ann.read_text()[:100])
    elif damage == 'not_coco':
        ann.write_text(json.dumps({'foo': 1}))
    elif damage == 'missing_dir':
        shutil.rmtree(root / 'train')
    elif damage == 'missing_image':
        (root / 'train' / '000003.png').unlink()
    elif damage == 'empty_image':
        (root / 'train' / '000002.png').write_bytes(b'')
    elif damage == 'corrupt_image':
        (root / 'train' / '000001.png').write_bytes(b'\x89PNG garbage')
    with pytest.raises(CliError) as info:
        check_dataset(_dataset_cfg(root), 'train_dataloader.dataset')
    message = str(info.value)
    assert '\n' not in message
    assert needle.format(root=root) in message, message
    if damage in ('missing_image', 'empty_image', 'corrupt_image'):
        assert {'missing_image': 'is missing', 'empty_image': 'empty (zero-byte)',
                'corrupt_image': 'cannot be decoded'}[damage] in message


def test_data_check_runs_before_the_model_is_built(demo_data, tmp_path, capsys, monkeypatch):
    root = tmp_path / 'data'
    shutil.copytree(demo_data, root)
    (root / 'train' / '000002.png').write_bytes(b'')
    config = demo_config(tmp_path, root)
    from mmengine.runner import Runner

    def fail(*args, **kwargs):
        raise AssertionError('the model was built before the data check')

    monkeypatch.setattr(Runner, 'from_cfg', fail)
    assert train_runner.run([config, '--work-dir', str(tmp_path / 'w')], 'det') == 2
    one_line(capsys.readouterr().err, f'image {root}/train/000002.png', 'zero-byte')


def test_odgt_checks(demo_data, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(demo_data, root)
    odgt = root / 'annotations' / 'crowd_train.odgt'
    dataset = dict(data_root=str(root) + '/', ann_file='annotations/crowd_train.odgt',
                   data_prefix=dict(img='Images/'))
    assert check_dataset(dataset, 'train_dataloader.dataset') == 4
    odgt.write_text(odgt.read_text()[:50])
    with pytest.raises(CliError, match=r'crowd_train.odgt \(train_dataloader.dataset.ann_file\) '
                       r'line 1 is not JSON \(truncated\?\)'):
        check_dataset(dataset, 'train_dataloader.dataset')


def test_resume_without_checkpoint_says_training_starts_from_scratch(o2f_config, tmp_path,
                                                                      capsys):
    work = tmp_path / 'work'
    runner = train_runner.build_runner([o2f_config, '--work-dir', str(work), '--resume'], 'det')
    assert runner._resume is True and runner._load_from is None  # mmengine's auto-resume kept
    assert f'no checkpoint in {work}: training starts from scratch' in capsys.readouterr().err
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    train_runner.build_runner([o2f_config, '--work-dir', str(work), '--resume'], 'det')
    assert 'training starts from scratch' not in capsys.readouterr().err


@pytest.mark.slow  # two export subprocesses
def test_export_onnx_refuses_another_models_checkpoint(foreign_checkpoints, tmp_path):
    checkpoint = str(foreign_checkpoints['foo'])
    out = tmp_path / 'model.onnx'
    command = [sys.executable, str(REPO / 'tools/export_onnx.py'),
               str(REPO / 'configs/det/o2f_demo_cpu.py'), checkpoint, '--out', str(out)]
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}  # mmengine's pkg_resources notice
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False, env=env)
    assert proc.returncode == 2
    one_line(proc.stderr, f'checkpoint {checkpoint} does not match the model', '--allow-partial')
    assert not out.exists() and 'OK' not in proc.stdout
    proc = subprocess.run(command + ['--allow-partial', '--no-check'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'warning: partial load of {checkpoint}: ' in proc.stderr and out.is_file()

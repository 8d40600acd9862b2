"""End to end through the CLIs on a tiny COCO json: train, resume, evaluate w/o and w/ NMS."""

from __future__ import annotations

import pickle

import pytest
import torch

pytest.importorskip('mmdet')

UNREACHABLE = 'http://127.0.0.1:9/swin_tiny_patch4_window7_224.pth'


def data_options(root: str) -> list[str]:
    """--cfg-options pointing a COCO config's training data at the tiny dataset."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=annotations/tiny.json',
        'train_dataloader.dataset.data_prefix.img=images/',
        '+train_dataloader.dataset.metainfo.classes=(square,bar)',  # a key the COCO base lacks
        'train_dataloader.dataset.filter_cfg.filter_empty_gt=False',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        'model.bbox_head.num_classes=2',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
    ]


@pytest.mark.slow
def test_swin_t_3x_starts_real_training(tiny_coco, tmp_path, cli, cli_env, python, lines):
    options = data_options(str(tiny_coco) + '/') + [
        'train_dataloader.dataset.pipeline.2.scale=[(96,96),(128,128)]',
        f'model.backbone.init_cfg.checkpoint={UNREACHABLE}',
    ]
    proc = cli([python, 'tools/train.py', 'det', 'configs/det/o2f_swin_t_3x.py',
                '--work-dir', str(tmp_path / 'swin'), '--cfg-options', *options], cli_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    logs = proc.stdout + proc.stderr
    warnings = [line for line in lines(logs) if line.startswith('warning: ImageNet weights')]
    assert len(warnings) == 1
    assert warnings[0].startswith(f'warning: ImageNet weights {UNREACHABLE} unavailable (')
    assert warnings[0].endswith('); training from scratch')
    assert 'Traceback' not in logs
    # The trained model is a Swin-T (its stages and patch embedding), not the URL's name alone.
    state = torch.load(tmp_path / 'swin' / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']  # our own file, written just above
    assert any(key.startswith('backbone.patch_embed.') for key in state)
    assert any(key.startswith('backbone.stages.3.blocks.') for key in state)
    assert state['neck.lateral_convs.0.conv.weight'].shape[1] == 192  # Swin-T stage-2 width
    assert 'Epoch(train) [1][2/2]' in logs and 'loss_cls' in logs and 'loss_bbox' in logs
    assert (tmp_path / 'swin' / 'epoch_1.pth').is_file()


@pytest.mark.slow
def test_train_resume_and_evaluate_with_and_without_nms(tiny_config, tmp_path, cli, cli_env,
                                                        python):
    work = tmp_path / 'tiny'
    proc = cli([python, 'tools/train.py', 'det', str(tiny_config), '--work-dir', str(work)],
               cli_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (work / 'epoch_1.pth').is_file()

    # Resume (the checkpoint goes through o2f_core's weights_only loader) for one more epoch.
    proc = cli([python, 'tools/train.py', 'det', str(tiny_config), '--work-dir', str(work),
                '--resume', '--cfg-options', 'train_cfg.max_epochs=2'], cli_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    logs = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in logs and 'Epoch(train) [2]' in logs
    assert (work / 'epoch_2.pth').is_file()

    out = tmp_path / 'preds' / 'tiny.pkl'
    proc = cli([python, 'tools/test.py', 'det', str(tiny_config), str(work / 'epoch_2.pth'),
                '--work-dir', str(tmp_path / 'eval'), '--out', str(out),
                '--cfg-options', 'model.test_cfg.score_thr=0.0'], cli_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith('|')]
    assert table[0].split('|')[1:-1] == [' NMS ', ' AP ', ' AP_50 ', ' AP_75 ', ' AP_s ',
                                         ' AP_m ', ' AP_l ', ' AR@100 ', ' dup@0.3 ']
    assert table[2].startswith('| w/o NMS |') and table[3].startswith('| w/ NMS |')
    with open(out, 'rb') as file:
        predictions = pickle.load(file)
    assert set(predictions) == {'without_nms', 'with_nms'}
    for key in predictions:
        assert len(predictions[key]) == 4  # one entry per image
        counts = [len(p['pred_instances']['scores']) for p in predictions[key]]
        assert all(0 < n <= 100 for n in counts)
    # NMS can only remove boxes: no image has more boxes with NMS than without.
    without = [len(p['pred_instances']['scores']) for p in predictions['without_nms']]
    with_nms = [len(p['pred_instances']['scores']) for p in predictions['with_nms']]
    assert all(w <= wo for w, wo in zip(with_nms, without, strict=True))
    assert not [p for p in out.parent.iterdir() if p.name != 'tiny.pkl']  # no temp files left

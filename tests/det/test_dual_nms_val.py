"""O2FDualNMSValLoop: AP without and with NMS after every epoch from one forward pass (Fig. 5)."""

from __future__ import annotations

import pytest

pytest.importorskip('matplotlib')
torch = pytest.importorskip('torch')


def build_runner(config_path, work_dir, epochs=2, dual=True):
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(str(config_path))
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = 1
    cfg.model.test_cfg.score_thr = 0.0  # an untrained head scores low: keep its boxes
    if dual:
        cfg.val_cfg = dict(type='O2FDualNMSValLoop')
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    # mmengine keeps one visualizer per name (the config's 'visualizer'): a runner of an
    # earlier test would receive this run's scalars
    cfg.visualizer.name = cfg.experiment_name = f'dual-{id(cfg)}'
    return Runner.from_cfg(cfg)


def test_short_training_logs_both_ap_sets_and_plots_fig5(tiny_config, tmp_path):
    from o2f_core.curves import plot_curves, read_run

    runner = build_runner(tiny_config, tmp_path / 'o2f')
    runner.train()
    run = read_run(tmp_path / 'o2f')
    epochs, without_nms = run.metric('coco/bbox_mAP')
    nms_epochs, with_nms = run.metric('nms/coco/bbox_mAP')
    assert epochs == nms_epochs == [1, 2]
    assert all(0.0 <= value <= 1.0 for value in without_nms + with_nms)
    assert run.metric('nms/coco/bbox_mAP_50')[0] == [1, 2]
    assert sorted(run.temperature) == [1, 2] and run.temperature[1] > run.temperature[2]
    assert run.loss[1]['loss'] > 0
    drawn = plot_curves([run], tmp_path / 'fig5.png')
    assert drawn['o2f']['ap'] == without_nms and drawn['o2f']['ap_nms'] == with_nms
    assert (tmp_path / 'fig5.png').stat().st_size > 0

    # One forward pass per batch: the backbone runs once for both predictions.
    calls, seen = [], {'': [], 'nms/': []}
    handle = runner.model.backbone.register_forward_hook(lambda *args: calls.append(1))
    loop, head = runner.val_loop, runner.model.bbox_head
    for evaluator, key in ((loop.evaluator, ''), (loop.nms_evaluator, 'nms/')):
        def capture(data_samples, data_batch=None, _process=evaluator.process, _key=key):
            seen[_key] += [sample.pred_instances.bboxes.clone() for sample in data_samples]
            return _process(data_samples, data_batch)
        evaluator.process = capture
    # Boxes of 2 strides around every point (neighbours overlap with IoU 1/3) and NMS at IoU
    # 0.3, so that NMS must remove boxes (a barely trained head predicts degenerate boxes).
    with torch.no_grad():
        head.conv_reg.weight.zero_()
        head.conv_reg.bias.fill_(1.0)
    head.test_cfg.nms.iou_threshold = 0.3
    head.set_with_nms(False)
    dual = loop.run()
    handle.remove()
    assert len(calls) == len(runner.val_dataloader) == 2  # 4 images, batch 2
    assert {'coco/bbox_mAP', 'nms/coco/bbox_mAP'} <= set(dual)
    assert head.test_cfg['with_nms'] is False  # the head's own setting is restored
    assert 'extract_feat' not in vars(runner.model) and 'forward' not in vars(head)

    # Independent route: the model's own prediction, once per NMS setting, gives the same boxes.
    for with_nms, key in ((False, ''), (True, 'nms/')):
        head.set_with_nms(with_nms)
        expected = [sample.pred_instances.bboxes for batch in runner.val_dataloader
                    for sample in runner.model.val_step(batch)]
        assert len(expected) == len(seen[key]) == 4
        for got, want in zip(seen[key], expected, strict=True):
            assert torch.equal(got, want)
    # NMS removed boxes: the two prediction sets really differ.
    assert not all(torch.equal(a, b) for a, b in zip(seen['nms/'], seen[''], strict=True))


def test_refuses_a_model_without_nms_switch(tiny_config, tmp_path):
    """FCOS without the switch cannot be evaluated both ways: one clear error at build time."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(str(tiny_config))
    cfg.model.bbox_head.type = 'FCOSHead'
    for key in ('ctr_conv_channels', 'num_ctr_convs', 'centerness_branch'):
        cfg.model.bbox_head.pop(key, None)
    cfg.model.pop('train_cfg', None)
    cfg.work_dir = str(tmp_path / 'fcos')
    cfg.val_cfg = dict(type='O2FDualNMSValLoop')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(TypeError, match='no head with set_with_nms'):
        runner.val()


def test_train_flag_selects_the_dual_loop(tiny_config, tmp_path):
    from o2f_core.train_runner import build_runner

    runner = build_runner([str(tiny_config), '--work-dir', str(tmp_path / 'flag'),
                           '--dual-nms-val'], 'det')
    assert runner.cfg.val_cfg.type == 'O2FDualNMSValLoop'
    runner = build_runner([str(tiny_config), '--work-dir', str(tmp_path / 'plain')], 'det')
    assert runner.cfg.val_cfg.type == 'ValLoop'

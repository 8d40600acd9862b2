"""The README's "Extending o2f" blocks, run as they stand: a mixin head plus a config trains and
predicts; T comes from the temperature hook's setter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet')

from mmengine.structures import InstanceData  # noqa: E402

README = Path(__file__).resolve().parents[2] / 'README.md'


def readme_blocks() -> list[str]:
    text = README.read_text()
    section = text.split('## Extending o2f', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```python\n(.*?)```', section, flags=re.S)


def test_readme_mixin_head_and_config_train_and_predict():
    from mmdet.registry import HOOKS, MODELS

    import o2f_det  # noqa: F401  (registers the plug-ins and the hook)
    from o2f_core.engine import set_model_temperature

    head_code, config_code = readme_blocks()
    if MODELS.get('MyO2FHead') is None:  # registered once per test session
        exec(compile(head_code, 'README.md', 'exec'), {})
    config: dict = {}
    exec(compile(config_code, 'README.md', 'exec'), config)
    model = config['model']
    # As configured, at a test's width (32 instead of 256 channels, one conv per tower).
    head = MODELS.build(dict(model['bbox_head'], in_channels=32, feat_channels=32,
                             stacked_convs=1, train_cfg=model['train_cfg'],
                             test_cfg=model['test_cfg']))
    assert type(head.assigner).__name__ == 'O2FTaskAssigner'
    assert len(head.conv_centerness.ctr_convs) == 3 and head.loss_bbox.loss_weight == 2.0
    hook = HOOKS.build(config['custom_hooks'][0])
    assert (hook.t_max, hook.t_min) == (0.6, 0.2)
    assert set_model_temperature(head, 0.6) == 1  # what the hook calls before each epoch

    head.init_weights()
    feats = tuple(torch.randn(1, 32, 256 // s, 256 // s) for s in (8, 16, 32, 64, 128))
    gts = [InstanceData(bboxes=torch.tensor([[4.0, 6.0, 40.0, 50.0]]), labels=torch.tensor([7]))]
    losses = head.loss_by_feat(*head(feats), gts, [dict(img_shape=(256, 256))])
    assert set(losses) == {'loss_cls', 'loss_bbox'} and losses['loss_bbox'] > 0
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert head.conv_centerness.predictor.weight.grad.abs().sum() > 0
    head.eval()
    with torch.no_grad():
        results = head.predict_by_feat(*head(feats), batch_img_metas=[dict(img_shape=(256, 256))])
    assert len(results[0]) <= 100

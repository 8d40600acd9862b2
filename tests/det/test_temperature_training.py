"""O2FTemperatureHook in a real (tiny) mmengine training: the assigner uses the hook's T of each
epoch, and the soft targets follow it (the head has no T of its own)."""

from __future__ import annotations

import pytest

pytest.importorskip('mmdet')

from o2f_core import linear_temperature  # noqa: E402


def test_two_epoch_training_uses_the_hooks_temperature_per_epoch(tiny_config, tmp_path):
    from o2f_det.training import build_runner

    runner = build_runner([str(tiny_config), '--work-dir', str(tmp_path / 'work'),
                           '--cfg-options', 'train_cfg.max_epochs=2'], 'det')
    head = runner.model.bbox_head
    assert head.temperature is None  # before training: nothing but the hook sets T
    seen = []  # (epoch, T given to the assigner, largest ambiguous soft target or None)
    assign = head.assigner.assign

    def recording_assign(*args, **kwargs):
        result = assign(*args, **kwargs)
        soft, certain = (result.get_extra_property(k) for k in ('soft_targets', 'certain'))
        ambiguous = (result.gt_inds > 0) & ~certain
        largest = soft[ambiguous].max().item() if ambiguous.any() else None
        seen.append((runner.epoch, kwargs['temperature'], largest))
        return result

    head.assigner.assign = recording_assign
    runner.train()

    expected = {0: linear_temperature(0, 2), 1: linear_temperature(1, 2)}  # 0.6, then 0.2
    assert expected == {0: 0.6, 1: 0.2}
    # 4 images per epoch (2 iterations of 2), one assignment each.
    assert sorted({epoch for epoch, _, _ in seen}) == [0, 1] and len(seen) == 8
    for epoch, temperature, largest in seen:
        assert temperature == pytest.approx(expected[epoch])
        if largest is not None:  # the largest ambiguous target is exactly T
            assert largest == pytest.approx(expected[epoch], rel=1e-6)
    assert sum(largest is not None for _, _, largest in seen) >= 4

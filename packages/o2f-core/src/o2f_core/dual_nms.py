"""Validation without and with NMS from one forward pass (the paper's Fig. 5 after every epoch).

``val_cfg = dict(type='O2FDualNMSValLoop')`` (``tools/train.py --dual-nms-val``) replaces
mmengine's ``ValLoop`` for det, seg and crowd. For every batch the network runs once: the
detector's ``extract_feat`` (backbone + neck) and the ``forward`` of every head with an NMS switch
(``set_with_nms``, :class:`o2f_det.models.NMSSwitchMixin`) are recorded on the first prediction
and replayed on the second, so only the post-processing (``predict_by_feat``: candidate
selection, NMS or not; for CondInst also the per-instance dynamic mask convs, which depend on the
kept instances) runs twice. The two prediction sets feed two copies of the config's
``val_evaluator``.

Logged names (scalars, ``vis_data/*.json``, the metrics ``after_val_epoch`` hooks see):

* ``<metric>`` (``coco/bbox_mAP``, ``coco/segm_mAP``, ``crowd_human/mAP``, ...): **without NMS**,
  whatever the config's ``test_cfg.with_nms`` says (o2f's point is the NMS-free number;
  ``save_best='coco/bbox_mAP'`` keeps the best NMS-free checkpoint);
* ``nms/<metric>``: **with NMS** (``test_cfg.nms`` of the config).

The heads' own ``with_nms`` settings are restored after validation. A copy of a metric that
writes files gets its own names: ``outfile_prefix`` + ``'_nms'``.
"""

from __future__ import annotations

import copy
import os.path as osp
from collections.abc import Callable, Sequence

import torch
from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner.amp import autocast
from mmengine.runner.loops import ValLoop, _parse_losses, _update_losses

__all__ = ['O2FDualNMSValLoop', 'NMS_PREFIX', 'nms_switch_heads', 'ReplayedForward']

NMS_PREFIX = 'nms/'


def nms_switch_heads(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The submodules with an NMS switch (``set_with_nms``), outermost first."""
    if is_model_wrapper(model):
        model = model.module
    return [module for module in model.modules() if callable(getattr(module, 'set_with_nms', None))]


class ReplayedForward:
    """Record the outputs of some callables once and hand them back on the next calls.

    ``record()`` mode: each patched callable runs and its output is stored in call order;
    ``replay()`` mode: each call returns the stored output of the same position without running
    (the inputs are the same batch: the caller guarantees it). ``close()`` restores everything.

    Args:
        owners_and_names: ``(object, attribute name)`` of the callables to patch, e.g.
            ``(detector, 'extract_feat')`` and ``(head, 'forward')``.
    """

    def __init__(self, owners_and_names: Sequence[tuple[object, str]]):
        self._patched: list[tuple[object, str, bool]] = []
        self._records: dict[int, list] = {}
        self._cursor: dict[int, int] = {}
        self.replaying = False
        for index, (owner, name) in enumerate(owners_and_names):
            had_own = name in vars(owner)
            original = getattr(owner, name)
            setattr(owner, name, self._wrap(index, original))
            self._patched.append((owner, name, had_own))

    def _wrap(self, index: int, original: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            if not self.replaying:
                output = original(*args, **kwargs)
                self._records.setdefault(index, []).append(output)
                return output
            position = self._cursor.get(index, 0)
            records = self._records.get(index, [])
            if position >= len(records):
                raise RuntimeError('O2FDualNMSValLoop: the second prediction called a recorded '
                                   'module more often than the first; the model is not '
                                   'deterministic in its calls, use ValLoop')
            self._cursor[index] = position + 1
            return records[position]

        return wrapper

    def record(self) -> None:
        self.replaying = False
        self._records.clear()
        self._cursor.clear()

    def replay(self) -> None:
        self.replaying = True
        self._cursor.clear()

    def close(self) -> None:
        for owner, name, had_own in reversed(self._patched):
            if had_own:  # pragma: no cover - nobody patches these before us
                continue
            delattr(owner, name)
        self._patched.clear()
        self._records.clear()


def _separate_outputs(evaluator: Evaluator, log_dir: str | None) -> None:
    """Give the metrics of the NMS copy their own output files."""
    for metric in evaluator.metrics:
        if not hasattr(metric, 'outfile_prefix'):
            continue
        if isinstance(metric.outfile_prefix, str):
            metric.outfile_prefix = metric.outfile_prefix + '_nms'
        elif metric.outfile_prefix is None and callable(getattr(metric, '_output_path', None)) \
                and log_dir:  # a metric that writes into the run's log folder by default
            default = getattr(metric, 'default_prefix', None) or 'metric'
            metric.outfile_prefix = osp.join(log_dir, f'{default}_dt_nms')


@LOOPS.register_module()
class O2FDualNMSValLoop(ValLoop):
    """``ValLoop`` that evaluates without NMS and with NMS from one forward pass per batch.

    Args:
        runner, dataloader, evaluator, fp16: as mmengine's ``ValLoop``; ``evaluator`` must be a
            config (dict or list), copied for the NMS evaluation.

    Raises:
        TypeError: an evaluator object (not a config) or a model without an NMS-switch head.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False) -> None:
        if not isinstance(evaluator, dict | list):
            raise TypeError('O2FDualNMSValLoop: val_evaluator must be a config (dict or list) '
                            'so it can be copied for the NMS evaluation')
        nms_config = copy.deepcopy(evaluator)
        super().__init__(runner, dataloader, evaluator, fp16)
        self.nms_evaluator = runner.build_evaluator(nms_config)
        if hasattr(self.dataloader.dataset, 'metainfo'):
            self.nms_evaluator.dataset_meta = self.dataloader.dataset.metainfo
        _separate_outputs(self.nms_evaluator, getattr(runner, 'log_dir', None))

    def _recorded_callables(self, model) -> list[tuple[object, str]]:
        detector = model.module if is_model_wrapper(model) else model
        heads = nms_switch_heads(detector)
        if not heads:
            raise TypeError('O2FDualNMSValLoop: the model has no head with set_with_nms(); use '
                            'an o2f head (O2FHead, POTOHead, NMSSwitchFCOSHead, ...) or ValLoop')
        owners = [(head, 'forward') for head in heads]
        if callable(getattr(detector, 'extract_feat', None)):
            owners.insert(0, (detector, 'extract_feat'))
        return owners

    def run(self) -> dict:
        """Validate once; metrics without NMS under their names, with NMS under ``nms/``."""
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        self.val_loss.clear()
        from .eval_runner import switch_nms  # the one NMS switch (lazy: no CLI import cost)

        heads = nms_switch_heads(self.runner.model)
        saved = [None if head.test_cfg is None else head.test_cfg.get('with_nms')
                 for head in heads]
        self._replay = ReplayedForward(self._recorded_callables(self.runner.model))
        try:
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
        finally:
            self._replay.close()
            for head, value in zip(heads, saved, strict=True):
                if value is None:
                    head.test_cfg.pop('with_nms', None)
                else:
                    switch_nms(head, value)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        nms_metrics = self.nms_evaluator.evaluate(len(self.dataloader.dataset))
        metrics.update({NMS_PREFIX + key: value for key, value in nms_metrics.items()})
        if self.val_loss:
            metrics.update(_parse_losses(self.val_loss, 'val'))
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    def _set_nms(self, enabled: bool) -> None:
        from .eval_runner import switch_nms

        switch_nms(self.runner.model, enabled)

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]):
        """One batch: predict without NMS (network runs), then with NMS (replayed features)."""
        self.runner.call_hook('before_val_iter', batch_idx=idx, data_batch=data_batch)
        self._replay.record()
        self._set_nms(False)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.val_step(data_batch)
        outputs, self.val_loss = _update_losses(outputs, self.val_loss)
        # The evaluator converts the predictions now: the second prediction may reuse the
        # same data-sample objects.
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self._replay.replay()
        self._set_nms(True)
        with autocast(enabled=self.fp16):
            nms_outputs = self.runner.model.val_step(data_batch)
        self.nms_evaluator.process(data_samples=nms_outputs, data_batch=data_batch)
        self.runner.call_hook('after_val_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)


"""A ``test_cfg.with_nms`` switch for mmdet dense heads (mmdet has no config-only way to skip NMS).

With ``with_nms=False`` the head's candidates (already cut to ``nms_pre`` per level and
``score_thr``) are sorted by score and cut to ``max_per_img``; with ``with_nms=True`` mmdet's
class-aware NMS (``test_cfg.nms``) runs as usual. ``tools/test.py`` flips the switch on a built
model through :meth:`NMSSwitchMixin.set_with_nms` to evaluate both settings in one run.
"""

from __future__ import annotations

from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

DEFAULT_MAX_PER_IMG = 100


class NMSSwitchMixin:
    """Mix into a ``BaseDenseHead`` subclass (before it in the bases) to get the NMS switch.

    ``test_cfg.with_nms`` (default False: NMS-free) decides whether NMS runs. NMS runs only if
    the caller also allows it (mmdet's ``with_nms`` argument, True by default).
    """

    def set_with_nms(self, enabled: bool) -> None:
        """Turn NMS at inference on or off (``tools/test.py`` calls this on every head)."""
        if self.test_cfg is None:
            self.test_cfg = ConfigDict()
        self.test_cfg['with_nms'] = bool(enabled)

    def _bbox_post_process(self, results: InstanceData, cfg: ConfigDict, rescale: bool = False,
                           with_nms: bool = True, img_meta: dict | None = None) -> InstanceData:
        """mmdet's post-process, with NMS only when ``cfg.with_nms``; otherwise sort and cap."""
        nms_on = bool(cfg.get('with_nms', False))
        results = super()._bbox_post_process(results, cfg, rescale=rescale,
                                             with_nms=with_nms and nms_on, img_meta=img_meta)
        if not nms_on:
            # mmdet's no-NMS path neither sorts (outputs are per-level) nor applies max_per_img;
            # COCO evaluation assumes <= 100 detections per image.
            order = results.scores.argsort(descending=True)
            results = results[order[:cfg.get('max_per_img', DEFAULT_MAX_PER_IMG)]]
        return results


@MODELS.register_module()
class NMSSwitchFCOSHead(NMSSwitchMixin, FCOSHead):
    """mmdet's FCOS head (one-to-many) with the ``test_cfg.with_nms`` switch: the FCOS baseline."""

"""CondInst detector whose one-to-few box head can match with mask IoU."""

from mmdet.models.detectors import CondInst
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.structures import InstanceData
from torch import Tensor


@MODELS.register_module()
class O2FCondInst(CondInst):
    """:class:`mmdet.models.CondInst` with optional mask-IoU matching for the o2f box head.

    With ``mask_iou_matching=False`` (default) it trains exactly like CondInst: the box head
    assigns with box IoU (centre regions at mask centres of mass), then the mask head trains
    on the assigned anchors.

    With ``mask_iou_matching=True`` the IoU term of the matching score
    ``p^(1-alpha) * IoU^alpha`` is the soft IoU between each candidate anchor's *predicted
    mask* (its dynamic filter applied to the current mask features) and the object's mask.
    Masks only exist once the mask branch has run, so this detector runs the mask feature
    branch first, lends the box head a function that scores candidates with it (gradients
    off), and hands the same features to the mask head for its loss, so the branch runs
    once per step. Cost: one dynamic-conv forward per candidate anchor (tens per object),
    in chunks of ``mask_head.candidate_chunk``. Early in training the masks are poor and the
    soft IoU is small but positive, so every object keeps candidates (a thresholded IoU
    would be 0 and leave objects unmatched).

    Args:
        mask_iou_matching (bool): match with the mask IoU of predicted masks instead of the
            box IoU. Needs an assigner with ``candidate_mask`` (o2f, not POTO).
        **kwargs: arguments of :class:`mmdet.models.CondInst`.
    """

    def __init__(self, *args, mask_iou_matching: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mask_iou_matching = bool(mask_iou_matching)

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """Box and mask losses; see the class docstring for the mask-IoU path.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) normalised images.
            batch_data_samples (list[DetDataSample]): with ``gt_instances`` holding
                ``bboxes``, ``labels`` and ``masks``.

        Returns:
            dict: ``loss_cls``, ``loss_bbox``, ``loss_mask`` (and the mask head's ``loss_sem``).
        """
        if not self.mask_iou_matching:
            return super().loss(batch_inputs, batch_data_samples)
        x = self.extract_feat(batch_inputs)
        mask_feats = self.mask_head.mask_feature_head(x)  # (B, C_mask, H/8, W/8)
        batch_input_shape = batch_data_samples[0].metainfo['batch_input_shape']

        def mask_quality(img_id: int, candidates: InstanceData,
                         gt_instances: InstanceData) -> Tensor:
            gt_masks = gt_instances.masks.pad(batch_input_shape)
            return self.mask_head.candidate_mask_iou(mask_feats[img_id].detach(), candidates,
                                                     gt_masks)

        losses = self.bbox_head.loss(x, batch_data_samples, mask_quality_fn=mask_quality)
        mask_losses = self.mask_head.loss(
            x, batch_data_samples, positive_infos=self.bbox_head.get_positive_infos(),
            mask_feats=mask_feats)
        assert not set(mask_losses) & set(losses)
        losses.update(mask_losses)
        return losses

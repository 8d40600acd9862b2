"""Table 5 baselines: DeFCN's 3D max filter, the one-to-many assigners (ATSS on DeFCN's quality,
top-k, FCOS), POTO + 3DMF + Aux and Hybrid-Epoch; values worked out by hand in the comments."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.registry import MODELS, TASK_UTILS  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

import o2f_det  # noqa: E402,F401
from o2f_det.models import O2FMaxFilter3D, max_filter_3d  # noqa: E402

from .conftest import REPO  # noqa: E402

T = torch.tensor


# ------------------------------------------------------------------------------- 3D max filter
def test_max_filter_3d_on_two_levels_by_hand():
    # Level 0 (4x4) is 0 but a 9 in the corner; level 1 (2x2) is [[1, 0], [0, 0]].
    level0 = torch.zeros(1, 1, 4, 4)
    level0[0, 0, 3, 3] = 9.0
    level1 = T([[[[1.0, 0.0], [0.0, 0.0]]]])
    out0, out1 = max_filter_3d([level0, level1], kernel_size=3, tau=2)
    # Level 1 upsampled (bilinear, half-pixel centres): u = [1, .75, .25, 0] per axis, u u^T;
    # max with level 0, then the 3x3 window (borders take only what exists).
    expected0 = T([[1.0, 1.0, 0.75, 0.25],
                   [1.0, 1.0, 0.75, 0.25],
                   [0.75, 0.75, 9.0, 9.0],
                   [0.25, 0.25, 9.0, 9.0]])
    assert torch.allclose(out0[0, 0], expected0)
    # Level 0 downsampled: the mean of each 2x2 block, [[0, 0], [0, 9/4]]; max with level 1 and
    # the 3x3 window cover the whole 2x2 map: 2.25 everywhere (it comes from level 0).
    assert torch.allclose(out1[0, 0], torch.full((2, 2), 2.25))


def test_max_filter_3d_tau_and_kernel_knobs():
    # Three 2x2 levels (no resizing): a 5 on level 2 only, a 3 on level 0 only.
    levels = [torch.zeros(1, 1, 2, 2) for _ in range(3)]
    levels[2][0, 0, 1, 1] = 5.0
    levels[0][0, 0, 0, 0] = 3.0
    out = max_filter_3d(levels, kernel_size=3, tau=2)
    # one adjacent level each side: level 0 sees levels 0-1, level 1 sees 0-2, level 2 sees 1-2
    assert [o.max().item() for o in out] == [3.0, 5.0, 5.0]
    assert torch.equal(out[0], torch.full((1, 1, 2, 2), 3.0))
    # tau = 0: no level mixing, the spatial max only
    assert [o.max().item() for o in max_filter_3d(levels, 3, tau=0)] == [3.0, 0.0, 5.0]
    # kernel 1: the max over levels, point by point
    out = max_filter_3d(levels, kernel_size=1, tau=2)
    assert out[1][0, 0].tolist() == [[3.0, 0.0], [0.0, 5.0]]
    assert out[0][0, 0].tolist() == [[3.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match='tau must be an even'):
        O2FMaxFilter3D(4, tau=1)


def make_head(branch: dict | None = None, head_type: str = 'O2FHead', train_cfg=None):
    cfg = dict(type=head_type, num_classes=2, in_channels=32, feat_channels=32,
               stacked_convs=1, strides=[8, 16, 32], norm_cfg=dict(type='GN', num_groups=8),
               norm_on_bbox=True, centerness_on_reg=True,
               loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=False),
               train_cfg=ConfigDict(train_cfg or dict(assigner=dict(type='POTOAssigner'))),
               test_cfg=ConfigDict(nms_pre=1000, score_thr=0.0, max_per_img=100))
    if branch is not None:
        cfg['centerness_branch'] = branch
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def feats(seed: int = 0, batch: int = 2):
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, 32, 64 // s, 64 // s, generator=generator)
                 for s in (8, 16, 32))


@pytest.mark.parametrize('branch, crosses', [(dict(type='O2FMaxFilter3D'), True),
                                             (None, False)])
def test_the_3dmf_branch_makes_the_gate_see_the_next_level(branch, crosses):
    torch.manual_seed(0)
    head = make_head(branch).eval()
    x = feats()
    _, _, gate = head(x)
    assert [tuple(g.shape) for g in gate] == [(2, 1, 8, 8), (2, 1, 4, 4), (2, 1, 2, 2)]
    changed = (x[0], x[1] + 1.0, x[2])
    _, _, gate_changed = head(changed)
    assert torch.equal(gate[2], gate_changed[2]) is not crosses  # level 2 reads level 1
    assert torch.equal(gate[0], gate_changed[0]) is not crosses
    if crosses:
        assert isinstance(head.conv_centerness, O2FMaxFilter3D)


# ------------------------------------------------------------------------------- POTO + 3DMF
def brute_force(quality: torch.Tensor) -> dict[int, int]:
    num_gts, num_points = quality.shape
    best, best_map = -math.inf, None
    for columns in itertools.permutations(range(num_points), num_gts):
        total = sum(quality[g, c].item() for g, c in enumerate(columns))
        if total > best:
            best, best_map = total, columns
    return {g: c for g, c in enumerate(best_map) if quality[g, c] > -1}


def test_poto_3dmf_matches_by_hungarian_on_the_gated_quality():
    # DeFCN's matching by an independent route: quality (sigmoid(cls) * sigmoid(filter))^0.2 *
    # IoU^0.8 inside the 1.5-stride centre square, -1 outside, best one-to-one total.
    from o2f_core.assigner import pairwise_iou

    torch.manual_seed(1)
    head = make_head(dict(type='O2FMaxFilter3D'))
    cls, box, gate = head(feats(1, batch=1))
    scores, pred_boxes, points, strides = head.o2f_flatten(cls, box, gate)
    gt = InstanceData(bboxes=T([[4.0, 6.0, 30.0, 34.0], [14.0, 10.0, 40.0, 30.0],
                                [30.0, 30.0, 62.0, 60.0]]), labels=torch.tensor([0, 1, 0]))
    result = head.o2f_assign(scores, pred_boxes, points, strides, [gt])[0]
    prob = (torch.cat([c.permute(0, 2, 3, 1).reshape(-1, 2) for c in cls]).sigmoid()
            * torch.cat([g.reshape(-1) for g in gate]).sigmoid()[:, None]).detach()
    quality = prob[:, gt.labels].T ** 0.2 * pairwise_iou(gt.bboxes, pred_boxes[0].detach()) ** 0.8
    centres = (gt.bboxes[:, :2] + gt.bboxes[:, 2:]) / 2
    half = 1.5 * strides
    x, y, boxes = points[None, :, 0], points[None, :, 1], gt.bboxes[:, None]
    inside = ((x > torch.maximum(centres[:, None, 0] - half, boxes[..., 0]))
              & (x < torch.minimum(centres[:, None, 0] + half, boxes[..., 2]))
              & (y > torch.maximum(centres[:, None, 1] - half, boxes[..., 1]))
              & (y < torch.minimum(centres[:, None, 1] + half, boxes[..., 3])))
    quality = torch.where(inside, quality, torch.full_like(quality, -1.0))
    columns = inside.any(dim=0).nonzero().flatten()          # brute force on the candidates
    expected = {g: columns[c].item() for g, c in brute_force(quality[:, columns]).items()}
    labelled = result.labelled.nonzero().flatten().tolist()
    matched = {result.assigned_gt[i].item(): i for i in labelled}
    assert matched == expected and len(expected) == 3


# ------------------------------------------------------------------------------- assigners
def fcos_case():
    # stride 8: (12,12) (20,20) (28,28) (44,44); stride 16: (24,24) (40,40)
    points = T([[12.0, 12.0], [20.0, 20.0], [28.0, 28.0], [44.0, 44.0], [24.0, 24.0],
                [40.0, 40.0]])
    strides = T([8.0, 8.0, 8.0, 8.0, 16.0, 16.0])
    preds = InstanceData(priors=torch.cat([points, strides[:, None], strides[:, None]], 1))
    # A (area 2304, centre 24) and B (area 576, centre 28)
    gts = InstanceData(bboxes=T([[0.0, 0.0, 48.0, 48.0], [16.0, 16.0, 40.0, 40.0]]),
                       labels=torch.tensor([0, 1]))
    return preds, gts


def test_fcos_assigner_by_hand():
    preds, gts = fcos_case()
    ranges = ((-1, 32), (32, 1e8))
    result = TASK_UTILS.build(dict(type='FCOSAssigner', regress_ranges=ranges)).assign(preds, gts)
    # A: centre region (12, 36) at stride 8, (0, 48) at 16; largest ltrb 28, 28 (stride 8, in
    # (-1, 32)), 24 at (24,24) (not in (32, inf)), 40 at (40,40). B: (20,20), (28,28) (largest
    # 20, 12); (24,24) has 16 < 32; (40,40) lies on B's border. Shared points go to B (smaller).
    assert result.gt_inds.tolist() == [0, 2, 2, 0, 0, 1]
    assert result.labels.tolist() == [-1, 1, 1, -1, -1, 0]
    # regress ranges knob: every level takes every size -> (24,24) joins (B wins again: smaller)
    wide = TASK_UTILS.build(dict(type='FCOSAssigner', regress_ranges=((-1, 1e8), (-1, 1e8))))
    assert wide.assign(preds, gts).gt_inds.tolist() == [0, 2, 2, 0, 2, 1]
    # centre radius knob: 0.5 stride -> A's square at stride 8 is (20, 28): no point strictly in
    # it; B's is (24, 32): (28,28) only; at stride 16 A's is (16, 32): (24,24), out of range
    narrow = TASK_UTILS.build(dict(type='FCOSAssigner', center_radius=0.5, regress_ranges=ranges))
    assert narrow.assign(preds, gts).gt_inds.tolist() == [0, 0, 2, 0, 0, 0]


def test_fcos_assigner_default_ranges_and_level_count_check():
    preds, gts = fcos_case()
    assigner = TASK_UTILS.build(dict(type='FCOSAssigner'))
    # mmdet's rule: upper bound 8 strides, the last level open
    assert assigner.level_ranges(T([8.0, 16.0])).tolist() == [[-1.0, 64.0], [64.0, 1e8]]
    with pytest.raises(ValueError, match='regress_ranges has 3 levels but the head has 2'):
        TASK_UTILS.build(dict(type='FCOSAssigner', regress_ranges=((0, 1),) * 3)).assign(
            preds, gts)


def quality_case():
    # Five points on one level inside the box [0, 0, 40, 40], one outside at (50, 50).
    points = T([[8.0, 8.0], [16.0, 16.0], [24.0, 24.0], [32.0, 32.0], [20.0, 8.0],
                [50.0, 50.0]])
    priors = torch.cat([points, torch.full((6, 2), 8.0)], 1)
    scores = T([[0.9], [0.2], [0.6], [0.4], [0.8], [0.99]])
    # IoU with the box: 1, .25, .5625, .0625 (boxes shrinking towards the corner), 0.04, 1
    bboxes = T([[0.0, 0.0, 40.0, 40.0], [0.0, 0.0, 20.0, 20.0], [0.0, 0.0, 30.0, 30.0],
                [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 8.0, 8.0], [0.0, 0.0, 40.0, 40.0]])
    gts = InstanceData(bboxes=T([[0.0, 0.0, 40.0, 40.0]]), labels=torch.tensor([0]))
    return InstanceData(priors=priors, scores=scores, bboxes=bboxes), gts


def test_topk_assigner_by_hand_with_its_knobs():
    preds, gts = quality_case()

    def positives(**kwargs):
        result = TASK_UTILS.build(dict(type='QualityTopkAssigner', **kwargs)).assign(preds, gts)
        return (result.gt_inds > 0).nonzero().flatten().tolist()

    # alpha 0: quality = p; the outside point (p .99) never counts
    assert positives(topk=2, alpha=0.0) == [0, 4]        # p .9, .8
    assert positives(topk=3, alpha=0.0) == [0, 2, 4]     # + .6
    # alpha 1: quality = IoU: 1, .25, .5625, .0625, .04 -> points 0, 2
    assert positives(topk=2, alpha=1.0) == [0, 2]
    assert positives(topk=9, alpha=0.0) == [0, 1, 2, 3, 4]  # capped by the box's points


def test_topk_and_atss_give_a_shared_point_to_the_better_quality():
    preds, _ = quality_case()
    # two copies of the box, classes 0 and 1; class 1 scores lower everywhere
    preds.scores = torch.cat([preds.scores, preds.scores * 0.5], 1)
    gts = InstanceData(bboxes=T([[0.0, 0.0, 40.0, 40.0]] * 2), labels=torch.tensor([1, 0]))
    result = TASK_UTILS.build(dict(type='QualityTopkAssigner', topk=2, alpha=0.0)).assign(
        preds, gts)
    assert result.gt_inds.tolist() == [2, 0, 0, 0, 2, 0] and result.labels[0].item() == 0


def test_quality_atss_by_hand_with_its_topk():
    # Two levels of four points (strides 8, 16), all inside the box; alpha 0: quality = p.
    points = T([[4.0, 4.0], [12.0, 4.0], [4.0, 12.0], [12.0, 12.0],
                [8.0, 8.0], [24.0, 8.0], [8.0, 24.0], [24.0, 24.0]])
    strides = T([8.0] * 4 + [16.0] * 4)
    p = T([0.9, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0])
    preds = InstanceData(priors=torch.cat([points, strides[:, None], strides[:, None]], 1),
                         scores=p[:, None], bboxes=T([[0.0, 0.0, 32.0, 32.0]]).expand(8, 4))
    gts = InstanceData(bboxes=T([[0.0, 0.0, 32.0, 32.0]]), labels=torch.tensor([0]))

    def positives(topk):
        assigner = TASK_UTILS.build(dict(type='QualityATSSAssigner', topk=topk, alpha=0.0))
        return (assigner.assign(preds, gts).gt_inds > 0).nonzero().flatten().tolist()

    # topk 4: all 8 candidates, mean .225, unbiased std sqrt((2 * .675^2 + 6 * .225^2) / 7) =
    # .4166: threshold .642 -> the two .9 points
    assert positives(4) == [0, 4]
    # topk 2: candidates .9, 0, .9, 0: mean .45 + std .5196 = .97 > .9 -> none
    assert positives(2) == []
    # topk 1: .9, .9: std 0, threshold .9 (>=) -> both
    assert positives(1) == [0, 4]
    # a point outside the box is never positive: move the box off point 4
    outside = InstanceData(bboxes=T([[0.0, 0.0, 6.0, 32.0]]), labels=torch.tensor([0]))
    assigner = TASK_UTILS.build(dict(type='QualityATSSAssigner', topk=1, alpha=0.0))
    assert (assigner.assign(preds, outside).gt_inds > 0).nonzero().flatten().tolist() == [0]


def test_one_to_many_assigners_mark_ignore_regions_and_take_empty_images():
    preds, gts = fcos_case()
    ignore = InstanceData(bboxes=T([[40.0, 40.0, 48.0, 48.0]]))  # holds (44,44)
    result = TASK_UTILS.build(dict(type='FCOSAssigner', regress_ranges=((-1, 32), (32, 1e8)))
                              ).assign(preds, gts, ignore)
    assert result.gt_inds.tolist() == [0, 2, 2, -1, 0, 1]
    empty = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    for kind in ('FCOSAssigner', 'QualityATSSAssigner', 'QualityTopkAssigner'):
        preds, _ = quality_case()
        assert TASK_UTILS.build(dict(type=kind)).assign(preds, empty).gt_inds.tolist() == [0] * 6


# ------------------------------------------------------------------------------- Aux head
AUX_TRAIN_CFG = dict(assigner=dict(type='POTOAssigner'))
GTS = [InstanceData(bboxes=T([[4.0, 6.0, 40.0, 50.0], [30.0, 20.0, 60.0, 44.0]]),
                    labels=torch.tensor([0, 1])),
       InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
METAS = [dict(img_shape=(64, 64))] * 2


@pytest.mark.parametrize('aux, expected', [
    (None, 'QualityATSSAssigner'), (dict(type='QualityTopkAssigner'), 'QualityTopkAssigner'),
    (dict(type='FCOSAssigner', regress_ranges=((-1, 32), (32, 64), (64, 1e8))), 'FCOSAssigner')])
def test_aux_assigner_switch_changes_the_aux_labels(aux, expected):
    torch.manual_seed(0)
    train_cfg = dict(AUX_TRAIN_CFG, **({} if aux is None else dict(aux_assigner=aux)))
    head = make_head(dict(type='O2FMaxFilter3D'), 'O2FAuxLossHead', train_cfg)
    assert type(head.aux_assigner).__name__ == expected
    outs = head(feats())
    _, results = head.aux_assign(*outs, GTS)
    # the labels are those of that assigner, fed sigmoid(cls) (no gate) and the decoded boxes
    cls = torch.cat([c[0].permute(1, 2, 0).reshape(-1, 2) for c in outs[0]]).sigmoid().detach()
    _, boxes, points, strides = head.o2f_flatten(*outs)
    direct = head.aux_assigner.assign(
        InstanceData(priors=torch.cat([points, strides[:, None], strides[:, None]], 1),
                     scores=cls, bboxes=boxes[0].detach()), GTS[0])
    assert torch.equal(results[0].gt_inds, direct.gt_inds)
    if aux is not None:  # a different assigner labels differently on the same outputs
        base = make_head(dict(type='O2FMaxFilter3D'), 'O2FAuxLossHead', AUX_TRAIN_CFG)
        base.load_state_dict(head.state_dict())
        assert not torch.equal(base.aux_assign(*outs, GTS)[1][0].gt_inds, results[0].gt_inds)
    losses = head.loss_by_feat(*outs, GTS, METAS)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_cls_aux'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    # one-to-many: some object has several auxiliary positives
    assert (results[0].gt_inds > 0).sum() > 2 and (results[1].gt_inds > 0).sum() == 0


def test_aux_loss_is_defcn_focal_on_the_ungated_score():
    from mmdet.models.losses import sigmoid_focal_loss  # noqa: F401  (mmcv op; CPU path below)

    torch.manual_seed(0)
    head = make_head(dict(type='O2FMaxFilter3D'), 'O2FAuxLossHead', AUX_TRAIN_CFG)
    outs = head(feats())
    logits, results = head.aux_assign(*outs, GTS)
    labels = torch.cat([torch.where(r.gt_inds > 0, r.labels, -1) for r in results])
    prob = logits.reshape(-1, 2).sigmoid()
    target = torch.zeros_like(prob)
    target[labels >= 0, labels[labels >= 0]] = 1.0
    # focal alpha .25, gamma 2, summed, over the number of auxiliary positives
    bce = -(target * prob.log() + (1 - target) * (1 - prob).log())
    p_t = prob * target + (1 - prob) * (1 - target)
    alpha_t = 0.25 * target + 0.75 * (1 - target)
    expected = (alpha_t * (1 - p_t) ** 2 * bce).sum() / (labels >= 0).sum()
    loss = head.aux_loss(*outs, GTS)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    # the gate (filter) is not in the auxiliary loss: its gradient there is 0
    loss.backward()
    assert head.conv_centerness.predictor.weight.grad is None or \
        head.conv_centerness.predictor.weight.grad.abs().sum() == 0
    assert head.conv_cls.weight.grad.abs().sum() > 0


# ------------------------------------------------------------------------------- Hybrid-Epoch
HYBRID_TRAIN_CFG = dict(assigner=dict(type='POTOAssigner'),
                        o2m_assigner=dict(type='FCOSAssigner',
                                          regress_ranges=((-1, 32), (32, 64), (64, 1e8))))


@pytest.mark.parametrize('switch_epoch, epoch, phase', [
    (2, 0, 'o2m'), (2, 1, 'o2m'), (2, 2, 'o2o'), (2, 5, 'o2o'), (1, 1, 'o2o'), (3, 2, 'o2m'),
    (0, 0, 'o2o')])
def test_hybrid_epoch_weights_and_labels_follow_the_switch_epoch(switch_epoch, epoch, phase):
    torch.manual_seed(0)
    head = make_head(None, 'O2FHybridEpochHead',
                     dict(HYBRID_TRAIN_CFG, switch_epoch=switch_epoch))
    head.set_train_epoch(epoch)
    assert head.hybrid_weights() == ((0.0, 1.0) if phase == 'o2m' else (1.0, 0.0))
    outs = head(feats())
    scores, boxes, points, strides = head.o2f_flatten(*outs)
    result = head.o2f_assign(scores, boxes, points, strides, GTS)[0]
    per_object = torch.bincount(result.assigned_gt[result.labelled], minlength=2)
    if phase == 'o2o':
        assert per_object.tolist() == [1, 1]
    else:  # FCOS: every point of the centre region in range
        assert per_object.min() > 1
    losses = head.loss_by_feat(*outs, GTS, METAS)
    idle = 'o2o' if phase == 'o2m' else 'o2m'
    assert losses[f'loss_cls_{phase}'] > 0 and losses[f'loss_bbox_{phase}'] > 0
    assert losses[f'loss_cls_{idle}'] == 0 and losses[f'loss_bbox_{idle}'] == 0


def test_hybrid_epoch_needs_the_epoch_and_a_valid_switch():
    head = make_head(None, 'O2FHybridEpochHead', dict(HYBRID_TRAIN_CFG, switch_epoch=1))
    with pytest.raises(ValueError, match='O2FTrainEpochHook'):
        head.loss_by_feat(*head(feats()), GTS, METAS)
    with pytest.raises(ValueError, match='switch_epoch must be an integer'):
        make_head(None, 'O2FHybridEpochHead', HYBRID_TRAIN_CFG)


def test_train_epoch_hook_sets_the_epoch_and_refuses_a_model_without_one():
    from types import SimpleNamespace

    from o2f_core.engine import O2FTrainEpochHook

    head = make_head(None, 'O2FHybridEpochHead', dict(HYBRID_TRAIN_CFG, switch_epoch=1))
    hook = O2FTrainEpochHook()
    hook.before_train_epoch(SimpleNamespace(model=torch.nn.Sequential(head), epoch=3))
    assert head.train_epoch == 3
    with pytest.raises(RuntimeError, match='set_train_epoch'):
        hook.before_train_epoch(SimpleNamespace(model=torch.nn.Linear(1, 1), epoch=0))


# ------------------------------------------------------------------------------- configs
def load(name: str, options: dict | None = None) -> Config:
    cfg = Config.fromfile(str(REPO / 'configs/det' / name))
    if options:
        cfg.merge_from_dict(options)
    return cfg


def test_baseline_configs_are_defcn_and_derive_like_o2f():
    for size in ('1x', '3x'):
        dmf = load(f'poto_3dmf_r50_{size}.py')
        aux = load(f'poto_3dmf_aux_r50_{size}.py')
        hybrid = load(f'fcos_hybrid_epoch_r50_{size}.py')
        o2f = load(f'o2f_r50_{size}.py')
        for cfg in (dmf, aux, hybrid):
            assert cfg.train_cfg == o2f.train_cfg and cfg.param_scheduler == o2f.param_scheduler
            assert cfg.train_dataloader == o2f.train_dataloader
            assert cfg.model.backbone == o2f.model.backbone and cfg.model.test_cfg.with_nms is False
        assert dmf.model.bbox_head.centerness_branch == dict(type='O2FMaxFilter3D', kernel_size=3,
                                                             tau=2)
        assert dmf.model.train_cfg.assigner == dict(type='POTOAssigner', alpha=0.8,
                                                    center_radius=1.5, ranking='multiply')
        assert aux.model.bbox_head.type == 'O2FAuxLossHead'
        assert aux.model.train_cfg.aux_assigner == dict(type='QualityATSSAssigner')
        assert aux.model.bbox_head.loss_aux == dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                                                    alpha=0.25, loss_weight=1.0)
        assert hybrid.custom_hooks == [dict(type='O2FTrainEpochHook')]
    assert load('fcos_hybrid_epoch_r50_1x.py').model.train_cfg.switch_epoch == 8
    assert load('fcos_hybrid_epoch_r50_3x.py').model.train_cfg.switch_epoch == 24
    assert load('fcos_hybrid_epoch_demo_cpu.py').model.train_cfg.switch_epoch == 16


def test_switches_reach_the_built_head_by_name():
    from mmdet.utils import register_all_modules

    register_all_modules()
    for kind in ('QualityTopkAssigner', 'FCOSAssigner'):
        cfg = load('poto_3dmf_aux_demo_cpu.py', {'model.train_cfg.aux_assigner.type': kind})
        assert type(MODELS.build(cfg.model).bbox_head.aux_assigner).__name__ == kind
    cfg = load('fcos_hybrid_epoch_demo_cpu.py', {'model.train_cfg.switch_epoch': 3})
    assert MODELS.build(cfg.model).bbox_head.switch_epoch == 3

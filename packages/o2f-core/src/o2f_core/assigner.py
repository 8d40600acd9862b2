"""One-to-few (o2f) label assignment, paper Sec. 3.2, as one pure vectorised function of one image.

Per object j the rule is:

1. *Candidates*: point i is a candidate if it lies strictly inside the square of half-side
   ``center_radius * stride_i`` around the object's centre (box centre, or ``gt_centers`` such as a
   mask's centre of mass), that square clipped to the object's box. Every FPN level takes part.
2. *Ranking score*: ``S_ij = p_ij^(1-alpha) * IoU_ij^alpha`` for candidates, 0 elsewhere, with
   ``p_ij`` the joint probability of point i at object j's class (``ranking='add'``: the paper's
   Table 4 alternative ``S_ij = (1-alpha) * p_ij + alpha * IoU_ij``).
3. *Top-k*: the ``1 + num_ambiguous`` best points by S, capped at the number of candidates with
   IoU > 0. A point with S = 0 is never labelled.
4. *Conflicts*: a point picked by several objects goes to the one with the larger S (ties: lower
   object index); the losers take no replacement.
5. The best remaining point of each object is its *certain* positive (target 1, weight 1); the
   others are *ambiguous* with target ``t_i = p_ij / max_k p_kj * T`` (max over the object's
   ambiguous points, so the largest ambiguous target is exactly T) and weight ``ambiguous_weight``.

The module imports only torch: the det, seg and crowd packages and outside checks all call it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["O2FAssigner", "O2FAssignResult", "PAPER_PRESET", "OFFICIAL_PRESET", "RANKINGS",
           "ranking_score"]

# The paper (Sec. 4.1): one certain positive plus K = 7 ambiguous anchors, no extra weight.
PAPER_PRESET = dict(num_ambiguous=7, alpha=0.8, center_radius=1.5, ambiguous_weight=1.0)
# The authors' released code: top-7 *including* the certain positive, ambiguous weight 0.4
# (CrowdHuman: 1 + 3, see ``official_crowdhuman_preset``).
OFFICIAL_PRESET = dict(num_ambiguous=6, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4)
OFFICIAL_CROWDHUMAN_PRESET = dict(num_ambiguous=3, alpha=0.8, center_radius=1.5,
                                  ambiguous_weight=0.4)

IOU_UNION_EPS = 1e-6  # the official code clamps IoU's union to at least this
# How p and IoU combine into the ranking score (paper Table 4); "multiply" is the paper's choice.
RANKINGS = ("multiply", "add")


def ranking_score(prob: Tensor, overlap: Tensor, alpha: float, ranking: str = "multiply") -> Tensor:
    """Ranking score of (object, point) pairs, any shape (elementwise).

    ``multiply``: ``p^(1-alpha) * IoU^alpha``; ``add``: ``(1-alpha) * p + alpha * IoU``, 0 where the
    overlap is <= 0 (as ``multiply`` gives for alpha > 0: a point whose box misses its object is
    never ranked up by its class score alone).
    """
    overlap = overlap.clamp(min=0)
    if ranking == "multiply":
        return prob.pow(1 - alpha) * overlap.pow(alpha)
    if ranking == "add":
        return torch.where(overlap > 0, (1 - alpha) * prob + alpha * overlap,
                           torch.zeros_like(overlap))
    raise ValueError(f"ranking must be one of {RANKINGS}, got {ranking!r}")


@dataclass
class O2FAssignResult:
    """Per-point labels of one image. Every field has shape (num_points,).

    Attributes:
        assigned_gt (Tensor): long, index of the object the point is labelled for; -1 = negative.
        labels (Tensor): long, that object's class; -1 = negative.
        soft_targets (Tensor): float32, 1.0 certain positive, ``t`` ambiguous, 0.0 negative.
        weights (Tensor): float32, 1.0 certain, ``ambiguous_weight`` ambiguous, 0.0 negative.
        certain (Tensor): bool, the certain positives (at most one per object).
        ignored (Tensor): bool, unlabelled points inside an ignore region: they add no loss.
    """

    assigned_gt: Tensor
    labels: Tensor
    soft_targets: Tensor
    weights: Tensor
    certain: Tensor
    ignored: Tensor

    @property
    def labelled(self) -> Tensor:
        """bool (num_points,): certain or ambiguous."""
        return self.assigned_gt >= 0

    @property
    def ambiguous(self) -> Tensor:
        """bool (num_points,): labelled but not certain."""
        return self.labelled & ~self.certain

    @property
    def num_labelled(self) -> int:
        return int(self.labelled.sum())

    @classmethod
    def all_negative(cls, num_points: int, device: torch.device) -> O2FAssignResult:
        """The result of an image with no object: every point negative, none ignored."""
        return cls(
            assigned_gt=torch.full((num_points,), -1, dtype=torch.long, device=device),
            labels=torch.full((num_points,), -1, dtype=torch.long, device=device),
            soft_targets=torch.zeros(num_points, dtype=torch.float32, device=device),
            weights=torch.zeros(num_points, dtype=torch.float32, device=device),
            certain=torch.zeros(num_points, dtype=torch.bool, device=device),
            ignored=torch.zeros(num_points, dtype=torch.bool, device=device),
        )


def _check_shape(name: str, tensor: Tensor, shape: tuple) -> None:
    """Raise a ValueError naming the argument when its shape is wrong (None = any size)."""
    if tensor.dim() != len(shape) or any(
        want is not None and got != want for got, want in zip(tensor.shape, shape)
    ):
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"O2FAssigner.assign: {name} has shape {tuple(tensor.shape)}, "
                         f"expected {expected}")


def _check_finite(named_tensors: dict) -> None:
    """Raise a ValueError naming the first argument that holds NaN or inf.

    One float32 sum per tensor and a single device sync: a sum is non-finite exactly when an
    element is (these inputs are far too small to overflow float32).
    """
    names = list(named_tensors)
    sums = torch.stack([named_tensors[n].sum(dtype=torch.float32) for n in names])
    finite = torch.isfinite(sums).tolist()
    for name, ok in zip(names, finite):
        if not ok:
            raise ValueError(f"O2FAssigner.assign: {name} contains NaN or inf; check the model "
                             f"outputs (diverged training?) or the annotations")


def points_in_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """bool (num_boxes, num_points): point strictly inside box (xyxy)."""
    x, y = points[None, :, 0], points[None, :, 1]
    return ((x > boxes[:, None, 0]) & (x < boxes[:, None, 2])
            & (y > boxes[:, None, 1]) & (y < boxes[:, None, 3]))


def pairwise_iou(gt_boxes: Tensor, pred_boxes: Tensor) -> Tensor:
    """IoU (num_gts, num_points) of all xyxy box pairs; same conventions as ``aligned_iou``."""
    num_gts, num_points = gt_boxes.shape[0], pred_boxes.shape[0]
    return aligned_iou(gt_boxes[:, None].expand(-1, num_points, -1).reshape(-1, 4),
                       pred_boxes[None].expand(num_gts, -1, -1).reshape(-1, 4)
                       ).view(num_gts, num_points)


def aligned_iou(boxes: Tensor, other: Tensor) -> Tensor:
    """IoU (K,) of aligned xyxy box pairs; union clamped to IOU_UNION_EPS, areas without +1."""
    top_left = torch.maximum(boxes[:, :2], other[:, :2])
    bottom_right = torch.minimum(boxes[:, 2:], other[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(dim=-1)
    other_area = (other[:, 2:] - other[:, :2]).clamp(min=0).prod(dim=-1)
    return inter / (area + other_area - inter).clamp(min=IOU_UNION_EPS)


class O2FAssigner:
    """One certain positive and up to ``num_ambiguous`` soft (ambiguous) anchors per object.

    Args:
        num_ambiguous (int): ambiguous anchors per object besides the certain one. The paper uses
            7; the official code's "top-7" means 6 (see ``OFFICIAL_PRESET``).
        alpha (float): IoU exponent of the ranking score ``p^(1-alpha) * IoU^alpha``.
        center_radius (float): half-side of the candidate square in strides.
        ambiguous_weight (float): loss weight of an ambiguous anchor's positive BCE (official 0.4).
        ranking (str): ``'multiply'`` (paper) or ``'add'`` (Table 4), see :func:`ranking_score`.
    """

    def __init__(self, num_ambiguous: int = 7, alpha: float = 0.8, center_radius: float = 1.5,
                 ambiguous_weight: float = 1.0, ranking: str = "multiply"):
        if ranking not in RANKINGS:
            raise ValueError(f"ranking must be one of {RANKINGS}, got {ranking!r}")
        self.ranking = ranking
        # Values come from configs and --cfg-options: refuse strings, bools and NaN up front.
        for name, value in (("num_ambiguous", num_ambiguous), ("alpha", alpha),
                            ("center_radius", center_radius),
                            ("ambiguous_weight", ambiguous_weight)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ValueError(f"{name} must be a number, got {value!r}")
        if isinstance(num_ambiguous, float) and not num_ambiguous.is_integer():
            raise ValueError(f"num_ambiguous must be a whole number, got {num_ambiguous}")
        if num_ambiguous < 0:
            raise ValueError(f"num_ambiguous must be >= 0, got {num_ambiguous}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if center_radius <= 0:
            raise ValueError(f"center_radius must be > 0, got {center_radius}")
        if ambiguous_weight < 0:
            raise ValueError(f"ambiguous_weight must be >= 0, got {ambiguous_weight}")
        self.num_ambiguous = int(num_ambiguous)
        self.alpha = float(alpha)
        self.center_radius = float(center_radius)
        self.ambiguous_weight = float(ambiguous_weight)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_ambiguous={self.num_ambiguous}, alpha={self.alpha}, "
                f"center_radius={self.center_radius}, ambiguous_weight={self.ambiguous_weight}, "
                f"ranking={self.ranking!r})")

    def candidate_mask(self, points: Tensor, strides: Tensor, gt_boxes: Tensor,
                       gt_centers: Tensor) -> Tensor:
        """bool (num_gts, num_points): inside the centre square, clipped to the box.

        Args:
            points (Tensor): (num_points, 2) xy pixels.
            strides (Tensor): (num_points,) stride of each point's level.
            gt_boxes (Tensor): (num_gts, 4) xyxy.
            gt_centers (Tensor): (num_gts, 2) xy centre of each object's region.
        """
        radius = self.center_radius * strides[None, :]                              # (1, N)
        x, y = points[None, :, 0], points[None, :, 1]
        x1 = torch.maximum(gt_centers[:, None, 0] - radius, gt_boxes[:, None, 0])  # (M, N)
        y1 = torch.maximum(gt_centers[:, None, 1] - radius, gt_boxes[:, None, 1])
        x2 = torch.minimum(gt_centers[:, None, 0] + radius, gt_boxes[:, None, 2])
        y2 = torch.minimum(gt_centers[:, None, 1] + radius, gt_boxes[:, None, 3])
        return (x > x1) & (x < x2) & (y > y1) & (y < y2)

    @torch.no_grad()
    def assign(self, scores: Tensor, pred_boxes: Tensor, points: Tensor, strides: Tensor,
               gt_boxes: Tensor, gt_labels: Tensor, temperature: float,
               gt_centers: Tensor | None = None, ignore_boxes: Tensor | None = None,
               quality: Tensor | None = None) -> O2FAssignResult:
        """Label every point of one image.

        Args:
            scores (Tensor): (N, C) joint probabilities ``sigmoid(cls) * sigmoid(ctr)``.
            pred_boxes (Tensor): (N, 4) decoded predicted boxes, xyxy pixels.
            points (Tensor): (N, 2) point locations, xy pixels.
            strides (Tensor): (N,) stride of each point's FPN level.
            gt_boxes (Tensor): (M, 4) object boxes, xyxy pixels.
            gt_labels (Tensor): (M,) long classes in [0, C).
            temperature (float): T of the current epoch, the largest ambiguous target.
            gt_centers (Tensor, optional): (M, 2) centres of the candidate squares; box centres
                when None (the seg package passes mask centres of mass).
            ignore_boxes (Tensor, optional): (I, 4) xyxy ignore regions: unlabelled points inside
                one are marked ``ignored`` (neither positive nor negative).
            quality (Tensor, optional): (M, N) replaces the box IoU in the ranking score (e.g. a
                mask IoU); values in [0, 1], and a candidate counts only where it is > 0.

        Returns:
            O2FAssignResult: per-point labels, all fields (N,), on the inputs' device.
        """
        num_points, num_gts = scores.shape[0], gt_boxes.shape[0]
        named = dict(scores=(scores, (None, None)), pred_boxes=(pred_boxes, (num_points, 4)),
                     points=(points, (num_points, 2)), strides=(strides, (num_points,)),
                     gt_boxes=(gt_boxes, (None, 4)), gt_labels=(gt_labels, (num_gts,)),
                     gt_centers=(gt_centers, (num_gts, 2)), ignore_boxes=(ignore_boxes, (None, 4)),
                     quality=(quality, (num_gts, num_points)))
        named = {name: pair for name, pair in named.items() if pair[0] is not None}
        for name, (tensor, shape) in named.items():
            _check_shape(name, tensor, shape)
        _check_finite({name: tensor for name, (tensor, _) in named.items()
                       if tensor.is_floating_point()})
        if num_gts and (int(gt_labels.min()) < 0 or int(gt_labels.max()) >= scores.shape[1]):
            raise ValueError(f"O2FAssigner.assign: gt_labels must lie in [0, {scores.shape[1]}), "
                             f"got range [{int(gt_labels.min())}, {int(gt_labels.max())}]")
        if not float(temperature) >= 0.0:
            raise ValueError(f"O2FAssigner.assign: temperature must be >= 0, got {temperature}")

        device = scores.device
        result = O2FAssignResult.all_negative(num_points, device)
        if num_gts > 0 and num_points > 0:
            self._label_objects(result, scores.float(), pred_boxes.float(), points.float(),
                                strides.float(), gt_boxes.float(), gt_labels.long(),
                                float(temperature),
                                None if gt_centers is None else gt_centers.float(),
                                None if quality is None else quality.float())
        if ignore_boxes is not None and ignore_boxes.numel() and num_points:
            inside_ignore = points_in_boxes(points.float(), ignore_boxes.float()).any(dim=0)
            result.ignored = inside_ignore & ~result.labelled
        return result

    def _label_objects(self, result: O2FAssignResult, scores: Tensor, pred_boxes: Tensor,
                       points: Tensor, strides: Tensor, gt_boxes: Tensor, gt_labels: Tensor,
                       temperature: float, gt_centers: Tensor | None,
                       quality: Tensor | None) -> None:
        """Fill ``result`` in place for M >= 1 objects and N >= 1 points (float32 inputs).

        Works on the P (object, candidate point) pairs only, not on dense (M, N) matrices: an
        object has a few dozen candidates among ~20k points, so this is what keeps the assignment
        cheaper than FCOS's own target computation. Ties break towards the lower point index
        (top-k, certain positive) and the lower object index (conflicts).
        """
        num_gts, num_points = gt_boxes.shape[0], points.shape[0]
        device = points.device
        if gt_centers is None:
            gt_centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        pair_gt, pair_point = self.candidate_mask(points, strides, gt_boxes,
                                                  gt_centers).nonzero(as_tuple=True)  # (P,)
        if pair_gt.numel() == 0:
            return
        if quality is None:
            overlap = aligned_iou(gt_boxes[pair_gt], pred_boxes[pair_point])
        else:
            overlap = quality[pair_gt, pair_point]
        prob = scores[pair_point, gt_labels[pair_gt]]                                  # (P,)
        ranking = ranking_score(prob, overlap, self.alpha, self.ranking)

        # Top-k per object, k_j capped by its candidates with IoU > 0; S = 0 is never labelled.
        # Pairs sorted by object, then by S descending (stable: the lower point index first).
        num_picks = 1 + self.num_ambiguous
        k_per_gt = torch.zeros(num_gts, dtype=torch.long, device=device).index_add_(
            0, pair_gt, (overlap > 0).long()).clamp(max=num_picks)                   # (M,)
        order = ranking.argsort(descending=True, stable=True)
        order = order[pair_gt[order].argsort(stable=True)]
        pairs_per_gt = torch.bincount(pair_gt, minlength=num_gts)
        first_pair = pairs_per_gt.cumsum(0) - pairs_per_gt
        rank = torch.arange(order.numel(), device=device) - first_pair[pair_gt[order]]
        picked = order[(rank < k_per_gt[pair_gt[order]]) & (ranking[order] > 0)]      # (K,)
        pick_gt, pick_point, pick_score = pair_gt[picked], pair_point[picked], ranking[picked]

        # Conflicts: each point goes to the object that ranks it highest (lower object index on
        # ties); an object that loses a point takes no replacement.
        best_score = torch.zeros(num_points, device=device).scatter_reduce(
            0, pick_point, pick_score, reduce="amax")                                  # (N,)
        is_best = pick_score == best_score[pick_point]
        owner = torch.full((num_points,), num_gts, dtype=torch.long, device=device)
        owner.scatter_reduce_(0, pick_point[is_best], pick_gt[is_best], reduce="amin")
        won = pick_gt == owner[pick_point]
        won_gt, won_point, won_score = pick_gt[won], pick_point[won], pick_score[won]
        won_prob = prob[picked][won]

        # Certain positive: the best point each object kept (lower point index on ties).
        best_kept = torch.zeros(num_gts, device=device).scatter_reduce(
            0, won_gt, won_score, reduce="amax")                                       # (M,)
        is_top = won_score == best_kept[won_gt]
        certain_point = torch.full((num_gts,), num_points, dtype=torch.long, device=device)
        certain_point.scatter_reduce_(0, won_gt[is_top], won_point[is_top], reduce="amin")
        won_certain = won_point == certain_point[won_gt]

        # Ambiguous targets: p relative to the best p among the object's ambiguous points, times T.
        max_ambiguous_prob = torch.zeros(num_gts, device=device).scatter_reduce(
            0, won_gt, torch.where(won_certain, torch.zeros_like(won_prob), won_prob),
            reduce="amax")                                                             # (M,)
        denom = max_ambiguous_prob[won_gt].clamp(min=torch.finfo(torch.float32).tiny)
        soft = (won_prob / denom * temperature).clamp(max=temperature)

        result.assigned_gt[won_point] = won_gt
        result.labels[won_point] = gt_labels[won_gt]
        result.certain[won_point] = won_certain
        result.soft_targets[won_point] = torch.where(won_certain, torch.ones_like(soft), soft)
        result.weights[won_point] = torch.where(
            won_certain, torch.ones_like(soft), torch.full_like(soft, self.ambiguous_weight))

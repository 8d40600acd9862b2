"""One-to-few (o2f) label assignment, paper Sec. 3.2, as one pure vectorised function of one image.

Per object j the rule is:

1. *Candidates*: point i is a candidate if it lies strictly inside the square of half-side
   ``center_radius * stride_i`` around the object's centre (box centre, or ``gt_centers`` such as a
   mask's centre of mass), that square clipped to the object's box. Every FPN level takes part.
2. *Ranking score*: ``S_ij = p_ij^(1-alpha) * IoU_ij^alpha`` for candidates, 0 elsewhere, with
   ``p_ij`` the joint probability of point i at object j's class.
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

__all__ = ["O2FAssigner", "O2FAssignResult", "PAPER_PRESET", "OFFICIAL_PRESET"]

# The paper (Sec. 4.1): one certain positive plus K = 7 ambiguous anchors, no extra weight.
PAPER_PRESET = dict(num_ambiguous=7, alpha=0.8, center_radius=1.5, ambiguous_weight=1.0)
# The authors' released code: top-7 *including* the certain positive, ambiguous weight 0.4
# (CrowdHuman: 1 + 3, see ``official_crowdhuman_preset``).
OFFICIAL_PRESET = dict(num_ambiguous=6, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4)
OFFICIAL_CROWDHUMAN_PRESET = dict(num_ambiguous=3, alpha=0.8, center_radius=1.5, ambiguous_weight=0.4)

IOU_UNION_EPS = 1e-6  # the official code clamps IoU's union to at least this


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


def _check(name: str, tensor: Tensor, shape: tuple, finite: bool = True) -> None:
    """Raise a ValueError naming the argument when its shape or values are wrong.

    ``shape`` holds ints or None (any size) per dimension.
    """
    if tensor.dim() != len(shape) or any(
        want is not None and got != want for got, want in zip(tensor.shape, shape)
    ):
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"O2FAssigner.assign: {name} has shape {tuple(tensor.shape)}, "
                         f"expected {expected}")
    if finite and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"O2FAssigner.assign: {name} contains NaN or inf; check the model "
                         f"outputs (diverged training?) or the annotations")


def points_in_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """bool (num_boxes, num_points): point strictly inside box (xyxy)."""
    x, y = points[None, :, 0], points[None, :, 1]
    return ((x > boxes[:, None, 0]) & (x < boxes[:, None, 2])
            & (y > boxes[:, None, 1]) & (y < boxes[:, None, 3]))


def pairwise_iou(gt_boxes: Tensor, pred_boxes: Tensor) -> Tensor:
    """IoU (num_gts, num_points) of xyxy boxes; union clamped to IOU_UNION_EPS, areas not +1."""
    top_left = torch.maximum(gt_boxes[:, None, :2], pred_boxes[None, :, :2])
    bottom_right = torch.minimum(gt_boxes[:, None, 2:], pred_boxes[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    gt_area = (gt_boxes[:, 2:] - gt_boxes[:, :2]).clamp(min=0).prod(dim=-1)
    pred_area = (pred_boxes[:, 2:] - pred_boxes[:, :2]).clamp(min=0).prod(dim=-1)
    union = (gt_area[:, None] + pred_area[None, :] - inter).clamp(min=IOU_UNION_EPS)
    return inter / union


class O2FAssigner:
    """One certain positive and up to ``num_ambiguous`` soft (ambiguous) anchors per object.

    Args:
        num_ambiguous (int): ambiguous anchors per object besides the certain one. The paper uses
            7; the official code's "top-7" means 6 (see ``OFFICIAL_PRESET``).
        alpha (float): IoU exponent of the ranking score ``p^(1-alpha) * IoU^alpha``.
        center_radius (float): half-side of the candidate square in strides.
        ambiguous_weight (float): loss weight of an ambiguous anchor's positive BCE (official 0.4).
    """

    def __init__(self, num_ambiguous: int = 7, alpha: float = 0.8, center_radius: float = 1.5,
                 ambiguous_weight: float = 1.0):
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
                f"center_radius={self.center_radius}, ambiguous_weight={self.ambiguous_weight})")

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
        _check("scores", scores, (None, None))
        _check("pred_boxes", pred_boxes, (num_points, 4))
        _check("points", points, (num_points, 2))
        _check("strides", strides, (num_points,))
        _check("gt_boxes", gt_boxes, (None, 4))
        _check("gt_labels", gt_labels, (num_gts,))
        if gt_centers is not None:
            _check("gt_centers", gt_centers, (num_gts, 2))
        if ignore_boxes is not None:
            _check("ignore_boxes", ignore_boxes, (None, 4))
        if quality is not None:
            _check("quality", quality, (num_gts, num_points))
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
        """Fill ``result`` in place for M >= 1 objects and N >= 1 points (float32 inputs)."""
        num_gts, num_points = gt_boxes.shape[0], points.shape[0]
        if gt_centers is None:
            gt_centers = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        candidates = self.candidate_mask(points, strides, gt_boxes, gt_centers)      # (M, N)
        overlap = pairwise_iou(gt_boxes, pred_boxes) if quality is None else quality  # (M, N)
        prob = scores[:, gt_labels].T                                                # (M, N)
        ranking = prob.pow(1 - self.alpha) * overlap.clamp(min=0).pow(self.alpha)
        ranking = torch.where(candidates, ranking, torch.zeros_like(ranking))

        # Top-k per object, k_j capped by its candidates with IoU > 0; S = 0 is never labelled.
        num_picks = min(1 + self.num_ambiguous, num_points)
        k_per_gt = ((candidates & (overlap > 0)).sum(dim=1)).clamp(max=num_picks)    # (M,)
        top_scores, top_idx = ranking.topk(num_picks, dim=1)                         # (M, k)
        rank = torch.arange(num_picks, device=ranking.device)
        keep = (rank[None, :] < k_per_gt[:, None]) & (top_scores > 0)
        picked = torch.zeros_like(ranking)                                           # (M, N)
        picked.scatter_(1, top_idx, torch.where(keep, top_scores, torch.zeros_like(top_scores)))

        # Conflicts: each point goes to the object that ranks it highest (argmax: lower index on
        # ties); an object that loses a point takes no replacement.
        best_score, best_gt = picked.max(dim=0)                                      # (N,)
        labelled = best_score > 0
        owner = torch.where(labelled, best_gt, torch.full_like(best_gt, -1))
        won = picked * (owner[None, :] == torch.arange(num_gts, device=owner.device)[:, None])

        # Certain positive: the best point each object kept (argmax over its won scores).
        has_points = won.max(dim=1).values > 0                                       # (M,)
        certain_idx = won.argmax(dim=1)[has_points]
        certain = torch.zeros(num_points, dtype=torch.bool, device=owner.device)
        certain[certain_idx] = True
        ambiguous = labelled & ~certain

        # Ambiguous targets: p relative to the best p among the object's ambiguous points, times T.
        safe_owner = owner.clamp(min=0)
        point_prob = prob.gather(0, safe_owner[None, :])[0]                          # (N,)
        amb_prob = torch.where(ambiguous, point_prob, torch.zeros_like(point_prob))
        max_amb_prob = torch.zeros(num_gts, device=owner.device).scatter_reduce(
            0, safe_owner, amb_prob, reduce="amax", include_self=True)               # (M,)
        denom = max_amb_prob[safe_owner].clamp(min=torch.finfo(torch.float32).tiny)
        soft = (point_prob / denom * temperature).clamp(max=temperature)

        result.assigned_gt = owner
        result.labels = torch.where(labelled, gt_labels[safe_owner], owner)
        result.certain = certain
        result.soft_targets = torch.where(
            certain, torch.ones_like(soft), torch.where(ambiguous, soft, torch.zeros_like(soft)))
        result.weights = torch.where(
            certain, torch.ones_like(soft),
            torch.where(ambiguous, torch.full_like(soft, self.ambiguous_weight),
                        torch.zeros_like(soft)))

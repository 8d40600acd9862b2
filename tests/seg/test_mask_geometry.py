"""Mask centres of mass and soft mask IoU, against values worked out by hand."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip('mmdet')

from o2f_seg.models.utils import mask_centres_of_mass, soft_mask_iou  # noqa: E402


def l_shape(height=128, width=128) -> torch.Tensor:
    """An L in the box [16, 16, 112, 112]: a 24-px vertical arm and a 24-px bottom arm."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[16:112, 16:40] = True   # vertical arm, x in [16, 40), y in [16, 112)
    mask[88:112, 16:112] = True  # bottom arm, x in [16, 112), y in [88, 112)
    return mask


def test_centre_of_mass_of_an_l_shape_is_off_its_box_centre():
    # Pixel centres at index + 0.5. Vertical arm: area 24 * 96 = 2304, centroid (28, 64); the
    # rest of the bottom arm: x in [40, 112), y in [88, 112), area 72 * 24 = 1728, centroid
    # (76, 100). Total 4032: cx = (2304 * 28 + 1728 * 76) / 4032 = 340 / 7,
    # cy = (2304 * 64 + 1728 * 100) / 4032 = 556 / 7.
    boxes = torch.tensor([[16.0, 16.0, 112.0, 112.0]])
    centre = mask_centres_of_mass(l_shape()[None], boxes, pixel_offset=0.5)
    assert centre.shape == (1, 2)
    assert torch.allclose(centre, torch.tensor([[340 / 7, 556 / 7]]), atol=1e-4)
    assert not l_shape()[64, 64]  # the box centre (64, 64) is off the mask
    # the authors' convention (default): a pixel's mass at its index, half a pixel up-left
    assert torch.allclose(mask_centres_of_mass(l_shape()[None], boxes),
                          torch.tensor([[340 / 7 - 0.5, 556 / 7 - 0.5]]), atol=1e-4)


def test_centre_of_mass_uses_pixel_indices_and_falls_back_to_the_box():
    masks = torch.zeros(3, 10, 12, dtype=torch.bool)
    masks[0, 2, 3] = True          # one pixel, row 2, column 3
    masks[1, 0:4, 0:2] = True      # columns 0-1, rows 0-3
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 2.0, 4.0], [2.0, 4.0, 6.0, 10.0]])
    # the empty mask falls back to its box centre (4, 7) in both conventions
    by_index = torch.tensor([[3.0, 2.0], [0.5, 1.5], [4.0, 7.0]])
    by_centre = torch.tensor([[3.5, 2.5], [1.0, 2.0], [4.0, 7.0]])
    assert torch.allclose(mask_centres_of_mass(masks, boxes), by_index)
    assert torch.allclose(mask_centres_of_mass(masks, boxes, pixel_offset=0.5), by_centre)


def test_soft_mask_iou_by_hand():
    gt = torch.zeros(2, 2, 2)
    gt[0, 0, :] = 1  # top row
    gt[1] = 1        # everything
    probs = torch.tensor([[[1.0, 0.5], [0.0, 0.0]],    # sum 1.5, overlap with top row 1.5
                          [[0.0, 0.0], [0.25, 0.25]]])  # sum 0.5, no overlap with top row
    iou = soft_mask_iou(gt, probs)
    # gt 0: 1.5 / (2 + 1.5 - 1.5) = 0.75 and 0 / (2 + 0.5) = 0
    # gt 1: 1.5 / (4 + 1.5 - 1.5) = 0.375 and 0.5 / (4 + 0.5 - 0.5) = 0.125
    assert torch.allclose(iou, torch.tensor([[0.75, 0.0], [0.375, 0.125]]))

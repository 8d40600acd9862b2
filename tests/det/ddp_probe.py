"""Run by test_ddp.py under torchrun.

``ddp_probe.py CONFIG WORK_DIR``: train a tiny config with the shared runner, then save this
rank's weights so the test can compare the ranks (mmengine itself only saves on rank 0).

``ddp_probe.py --losses OUT_JSON``: each rank computes the o2f losses of its share of a fixed
4-image batch (rank r: images 2r, 2r + 1); rank 0 writes the mean over ranks (what DDP's gradient
averaging optimises) to OUT_JSON. :func:`batch_losses` also runs in one process for comparison.
"""

import json
import os
import sys

import torch

NUM_IMAGES = 4
# Objects per image (x1, y1, x2, y2, class): images 0-1 have 5 objects, images 2-3 only 1, so the
# two ranks label very different numbers of points (their local normalisers differ).
OBJECTS = [
    [(4, 6, 40, 50, 0), (30, 20, 60, 44, 1), (8, 30, 28, 60, 1)],
    [(2, 2, 30, 30, 0), (34, 34, 62, 62, 1)],
    [(10, 10, 50, 40, 1)],
    [],
]


def batch_losses(image_ids: list[int]) -> dict[str, float]:
    """o2f losses of the given images of the fixed batch (same weights in every process)."""
    from mmengine.config import ConfigDict
    from mmengine.structures import InstanceData

    from o2f_det import O2FHead

    torch.manual_seed(0)
    head = O2FHead(num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1,
                   strides=[8, 16, 32], norm_cfg=None, norm_on_bbox=True, centerness_on_reg=True,
                   train_cfg=ConfigDict(assigner=dict(type='O2FAssigner', num_ambiguous=6,
                                                      ambiguous_weight=0.4)))
    head.init_weights()
    # Confident class scores (p ~ 0.4 instead of the prior's 0.005): the negatives then weigh in,
    # so a rank's loss depends on its normaliser (its own 35 or 7 labelled points, or the mean).
    torch.nn.init.constant_(head.conv_cls.bias, 2.0)
    head.set_temperature(0.6)
    feats = tuple(torch.randn(NUM_IMAGES, 8, 64 // s, 64 // s) for s in (8, 16, 32))
    gts = [InstanceData(bboxes=torch.tensor([o[:4] for o in objects],
                                            dtype=torch.float32).reshape(-1, 4),
                        labels=torch.tensor([o[4] for o in objects], dtype=torch.long))
           for objects in OBJECTS]
    outs = head(tuple(level[image_ids] for level in feats))
    losses = head.loss_by_feat(*outs, [gts[i] for i in image_ids],
                               [dict(img_shape=(64, 64))] * len(image_ids))
    return {name: value.item() for name, value in losses.items()}


def losses_main(out_json: str) -> None:
    import torch.distributed as dist

    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    share = NUM_IMAGES // world
    losses = batch_losses(list(range(rank * share, (rank + 1) * share)))
    mean = {}
    for name, value in sorted(losses.items()):
        tensor = torch.tensor(value, dtype=torch.float64)
        dist.all_reduce(tensor)
        mean[name] = tensor.item() / world
    if rank == 0:
        with open(out_json, 'w') as handle:
            json.dump(dict(world_size=world, mean_losses=mean), handle)
    dist.destroy_process_group()


def training_main(config: str, work_dir: str) -> None:
    from mmengine.dist import get_rank
    from mmengine.model import is_model_wrapper

    from o2f_det.training import build_runner

    runner = build_runner([config, '--launcher', 'pytorch', '--work-dir', work_dir,
                           '--cfg-options', 'train_cfg.max_epochs=3'], 'det')
    runner.train()
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
    torch.save(state, os.path.join(work_dir, f'rank{get_rank()}_weights.pth'))


if __name__ == '__main__':
    if sys.argv[1] == '--losses':
        losses_main(sys.argv[2])
    else:
        training_main(sys.argv[1], sys.argv[2])

"""Run by test_ddp.py under torchrun: train a tiny config with the shared runner, then save this
rank's weights so the test can compare the ranks (mmengine itself only saves on rank 0)."""

import os
import sys

import torch
from mmengine.dist import get_rank
from mmengine.model import is_model_wrapper

from o2f_core.train_runner import build_runner

config, work_dir = sys.argv[1], sys.argv[2]
runner = build_runner([config, '--launcher', 'pytorch', '--work-dir', work_dir,
                       '--cfg-options', 'train_cfg.max_epochs=3'], 'det')
runner.train()
model = runner.model.module if is_model_wrapper(runner.model) else runner.model
state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
torch.save(state, os.path.join(work_dir, f'rank{get_rank()}_weights.pth'))

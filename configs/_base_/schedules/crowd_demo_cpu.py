# The crowd demo's schedule: the CrowdHuman recipe's optimizer (AdamW, weight decay 1e-4 on every
# parameter, no gradient clipping; `crowdhuman_50e.py`) at the CPU demo's from-scratch learning
# rate 2e-3 (the recipe's 4e-5 fine-tunes an ImageNet backbone; from scratch it would not converge
# in a CPU budget). Linear warm-up over 100 iterations from 0.1 x lr, lr x0.1 for the last ~1/6 of
# the epochs; `tools/demo.py --crowd` sets the epochs and rebuilds the milestone from them.
# Owns: max_epochs, train_cfg, val_cfg, test_cfg, optim_wrapper, param_scheduler.
max_epochs = 24
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.0001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=True, milestones=[max_epochs - 4], gamma=0.1),
]

# The authors' CrowdHuman schedule (configs/crowdhuman.py): AdamW lr 4e-5, weight decay 1e-4 (on
# every parameter), no gradient clipping; linear warm-up over 1000 iterations from 0.001 x lr,
# lr x0.1 after epoch 40, 50 epochs, evaluation every epoch.
# Owns: train_cfg, val_cfg, test_cfg, optim_wrapper, param_scheduler, auto_scale_lr.
max_epochs = 50
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-05, weight_decay=0.0001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[40], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

# The authors' COCO 1x schedule (configs/r50_1x.py), in mmdet 3 terms: SGD lr 0.01 (8 GPUs x 2
# images), momentum 0.9, weight decay 1e-4 except on norm layers (`norm_decay_mult=0.`), no
# gradient clipping (`grad_clip=None`); linear warm-up over 1000 iterations from 0.001 x lr, lr x0.1
# after epochs 8 and 11, 12 epochs, evaluation every epoch.
# Owns: train_cfg, val_cfg, test_cfg, optim_wrapper, param_scheduler, auto_scale_lr.
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1),
]
# The lr above is for a total batch of 16; enable to scale it linearly to another batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)

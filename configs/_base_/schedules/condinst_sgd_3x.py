# The authors' CondInst 3x schedule (configs/condinst_r50_3x.py): as condinst_sgd_1x.py
# (SGD 0.01, biases lr x2 / no decay, no clipping, 500-iteration warm-up from x0.001) over 36
# epochs, lr x0.1 after epochs 24 and 33.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=36, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[24, 33], gamma=0.1),
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))

auto_scale_lr = dict(enable=False, base_batch_size=16)

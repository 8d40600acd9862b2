# The authors' COCO 3x schedule (configs/r50_3x_ms.py): schedules/schedule_1x.py over 36 epochs,
# lr x0.1 after epochs 24 and 33. Owns the same keys as schedule_1x.py.
max_epochs = 36
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[24, 33],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

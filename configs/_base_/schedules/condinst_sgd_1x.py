# The authors' CondInst 1x schedule (configs/condinst_r50_1x.py): SGD lr 0.01 for 16 images
# per step, momentum 0.9, weight decay 1e-4; biases at lr x2 without weight decay; no gradient
# clipping; linear warm-up over 500 iterations from lr x0.001; 12 epochs, lr x0.1 after
# epochs 8 and 11.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))

# lr 0.01 is for 8 GPUs x 2 images; --auto-scale-lr rescales it for another batch
auto_scale_lr = dict(enable=False, base_batch_size=16)

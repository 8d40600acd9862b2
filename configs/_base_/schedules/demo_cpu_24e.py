# The CPU demo's schedule (trained from scratch): AdamW lr 2e-3, weight decay 0.05 except on norms
# and biases, clipping at 10; warm-up over 100 iterations from 0.1 x lr, lr x0.1 after epoch 20,
# 24 epochs, one evaluation at the end. AdamW converges from scratch in a few epochs where SGD
# would need many more. Owns: max_epochs, train_cfg, val_cfg, test_cfg, optim_wrapper,
# param_scheduler.
max_epochs = 24
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=True, milestones=[max_epochs - 4], gamma=0.1),
]

# The authors' Swin-T 1x schedule (configs/swin_1x.py): AdamW lr 1e-4, betas (0.9, 0.999),
# weight decay 0.05 except on position tables and norms, no gradient clipping; linear warm-up over
# 1000 iterations from 0.001 x lr, lr x0.1 after epochs 8 and 11, 12 epochs.
# Owns the same keys as schedule_1x.py.
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
            'norm': dict(decay_mult=0.0),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

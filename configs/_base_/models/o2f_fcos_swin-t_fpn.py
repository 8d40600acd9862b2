# FCOS-o2f, Swin-T + FPN: the model of the authors' configs/swin_1x.py. Owns: model, custom_hooks.
# Head, assignment and T schedule as models/o2f_fcos_r50_fpn.py. The backbone outputs all four
# stages and the FPN starts at the second (start_level=1), as the authors'; patch embedding,
# stage 1 and its output norm are frozen (frozen_stages=1).
pretrained = ('https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
              'swin_tiny_patch4_window7_224.pth')
model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='SwinTransformer',
        frozen_stages=1,
        embed_dims=96,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        window_size=7,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.2,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        with_cp=False,
        convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(
        type='FPN',
        in_channels=[96, 192, 384, 768],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='O2FHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        norm_on_bbox=True,
        centerness_on_reg=True,
        conv_bias=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        centerness_branch=dict(type='O2FCenternessBranch', num_convs=3, channels=64),
        # soft focal loss on the joint probability p = sigmoid(cls) * sigmoid(ctr)
        loss_cls=dict(type='O2FSoftFocalLoss', negative_weight=0.75, gamma=2.0, loss_weight=1.0),
        # GIoU on every labelled point, each weighted by its target's centerness
        loss_bbox=dict(type='O2FGIoULoss', centerness_weighting=True, loss_weight=2.0)),
    # the o2f assignment (mmdet TASK_UTILS)
    train_cfg=dict(
        assigner=dict(type='O2FAssigner', num_ambiguous=6, alpha=0.8, center_radius=1.5,
                      ambiguous_weight=0.4, ranking='multiply')),
    test_cfg=dict(
        nms_pre=1000,
        score_thr=0.05,
        max_per_img=100,
        with_nms=False,
        nms=dict(type='nms', iou_threshold=0.6)))

custom_hooks = [dict(type='O2FTemperatureHook', t_max=0.6, t_min=0.2, by_epoch=True)]

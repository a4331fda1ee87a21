"""Torch pieces shared by the classifiers' train.py scripts (imports torch; evaluate.py does not).

  * `Net`: the plain 28x28 CNN of pneumonia-cxr-28, breast-us-28 and retina-dr-28 (three stages of
    two 3x3 conv + batch norm + ReLU, max pooling 28 -> 14 -> 7, global average pool, dropout,
    linear), with the input channels and outputs as parameters;
  * `normalise`: the runtime's (v - 0.5) / 0.5 that every classifier's manifest declares;
  * `augment`: the random affine + intensity augmentation all classifiers train with, driven by
    the `aug` block of the model's config (optional horizontal flip and per-channel gain);
  * `predict_logits`: float64 logits of single-channel images in [0, 1], in eval mode;
  * `export_onnx`: the ONNX export every model ships (opset 13, dynamic batch, eval mode), checked.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.5, 0.5


class Net(nn.Module):
    def __init__(self, widths=(16, 32, 64), dropout=0.3, in_ch=1, n_out=2):
        super().__init__()
        a, b, c = widths

        def blk(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*blk(in_ch, a), *blk(a, a), nn.MaxPool2d(2),    # 28 -> 14
                                      *blk(a, b), *blk(b, b), nn.MaxPool2d(2),        # 14 -> 7
                                      *blk(b, c), *blk(c, c), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, n_out))

    def forward(self, x):
        return self.head(self.features(x))


def normalise(v01):
    return (v01 - MEAN) / STD


def augment(x, g, cfg):
    """x: [B,C,H,W] in [0,1]. Random affine (rotation, scale, aspect, translation, and a
    horizontal flip when cfg['aug'] has 'hflip'), then gamma, contrast around the image mean,
    brightness, and a per-channel gain when cfg['aug'] has 'channel_gain'. Deterministic via g;
    the random draws happen in this order, a flip or gain only when configured."""
    B = x.shape[0]
    a = cfg['aug']

    def U(lo, hi):
        return lo + (hi - lo) * torch.rand(B, generator=g)
    th = U(-a['rot_deg'], a['rot_deg']) * np.pi / 180
    s = U(*a['scale'])
    asp = U(*a['aspect'])
    sx, sy = s * asp, s
    flip = torch.where(torch.rand(B, generator=g) < a['hflip'], -1.0, 1.0) if 'hflip' in a else None
    tx, ty = U(-a['translate'], a['translate']) * 2, U(-a['translate'], a['translate']) * 2
    cos, sin = torch.cos(th), torch.sin(th)
    fcos, fsin = (cos, sin) if flip is None else (flip * cos, flip * sin)
    # affine_grid maps output coords -> input coords; dividing by the scale makes s > 1 zoom in
    theta = torch.stack([torch.stack([fcos / sx, -sin / sx, tx], 1),
                         torch.stack([fsin / sy, cos / sy, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
    gam = torch.exp(U(np.log(a['gamma'][0]), np.log(a['gamma'][1]))).view(B, 1, 1, 1)
    x = x.clamp(0, 1) ** gam
    con = U(*a['contrast']).view(B, 1, 1, 1)
    bri = U(-a['brightness'], a['brightness']).view(B, 1, 1, 1)
    m = x.mean((1, 2, 3), keepdim=True)
    x = ((x - m) * con + m + bri).clamp(0, 1)
    if 'channel_gain' in a:
        gain = 1 + a['channel_gain'] * (2 * torch.rand(B, x.shape[1], 1, 1, generator=g) - 1)
        x = (x * gain).clamp(0, 1)
    return x


@torch.no_grad()
def predict_logits(model, x01, bs=512):
    """Logits (float64 NumPy) of single-channel images x01 [N,H,W] in [0,1], eval mode."""
    model.eval()
    out = []
    for i in range(0, len(x01), bs):
        out.append(model(normalise(torch.from_numpy(x01[i:i + bs]).unsqueeze(1))))
    return torch.cat(out).double().numpy()


def export_onnx(model, path, input_shape, output_names=('logits',)):
    """Exports model (eval mode) with input `image` of input_shape (batch dimension dynamic) and
    the given outputs; checks the file with onnx.checker and returns the loaded graph."""
    model.eval()
    dynamic = {'image': {0: 'batch'}, **{name: {0: 'batch'} for name in output_names}}
    torch.onnx.export(model, torch.zeros(*input_shape), path, input_names=['image'], output_names=list(output_names),
                      dynamic_axes=dynamic, opset_version=13, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m

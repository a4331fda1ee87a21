#!/usr/bin/python3
"""Train the retina-vessels-drive model (retinal vessel segmentation, DRIVE, 565x584 RGB).

Reproduce (Debian's python with torch 1.13, from the repository root):

    /usr/bin/python3 models/retina-vessels-drive/train.py      # model.onnx + metrics.json (val part)
    /usr/bin/python3 models/retina-vessels-drive/evaluate.py   # test, once -> metrics.json, manifest.json

Data: DRIVE (Staal J. et al., "Ridge-based vessel segmentation in color images of the retina",
IEEE Trans. Med. Imaging 23(4):501-509, 2004), `$DRIVE_DATA_DIR` or ../../../shared/data/drive:
40 colour fundus photographs (565x584, 8-bit RGB TIFF) from a Dutch diabetic-retinopathy
screening programme, manual vessel masks (GIF, vessel = 255) and field-of-view (FOV) masks.
Split: the 20 images of `training/` only. Images 21-36 train the network; images 37-40 are the
validation set on which EVERYTHING is chosen (checkpoint, temperature, threshold). The 20 images
of `testing/` are never read here; evaluate.py reads them once.

Runtime contract (the TypeScript service feeds the model exactly this way):
  input `image` float32 [N, 3, 584, 565]: RGB 8-bit / 255 -> (v - mean[c]) / std[c], with mean / std
  the per-channel mean / standard deviation of all pixels of the 16 training images (rounded to
  4 decimals; those rounded values are used in training too). No other preprocessing.
  output `logits` float32 [N, 1, 584, 565]; vessel probability = sigmoid(logit / temperature).
The U-Net needs sizes divisible by 8: forward() reflect-pads the right/bottom edge inside the
graph (565 -> 568 columns, the mirrored columns 563, 562, 561; 584 rows are already divisible)
and crops the logits back, so the graph's input and output are exactly 584x565.

Network: U-Net, 4 levels 16-32-64-128 channels, two 3x3 conv + batch norm + ReLU per level,
2x2 max pooling, 2x2 stride-2 transposed convolutions, skip concatenations, 1x1 head (482,737
parameters). Trained from scratch (no pretrained weights).
Training: random 96x96 patches whose centre lies inside the FOV, batch 8, augmentation = random
90-degree rotation, horizontal flip, gamma 0.8-1.25, contrast x0.85-1.15 around the patch mean,
per-channel gain x0.9-1.1, brightness +-0.04 (all in [0,1] before normalisation, clipped);
loss = binary cross-entropy over every patch pixel; Adam (weight decay 1e-5), one-cycle learning
rate (max 2e-3, 5% warm-up, cosine decay) over ITERATIONS steps. Every EVAL_EVERY steps (one
"epoch" here) the model is run on the 4 full validation images (padded forward, eval mode) and
scored inside their FOV masks: pooled ROC AUC and best-threshold pooled Dice. The checkpoint with
the highest validation Dice is kept.
Calibration: a temperature T is fitted on the validation FOV pixels (minimum NLL); it is shipped
only if it also lowers the validation ECE (15 bins), else T = 1.
Threshold: the probability threshold (sigmoid(logit / T) >= t -> vessel) that maximises the pooled
validation Dice inside the FOV, placed midway between the two neighbouring probabilities and
rounded to 4 decimals.
Field of view: the runtime estimates the FOV as pixels whose mean of R, G, B (in [0,1]) is
>= fieldOfView.minIntensity; the value is chosen on the 16 training images (maximum pooled IoU
with the DRIVE FOV masks), placed midway between two attainable 8-bit means.
Seeds fixed (SEED), deterministic algorithms, 1 thread.
The DRIVE reader, the pixel metrics and sigmoid temperature scaling, the ONNX executor and the
export are the shared ones of models/_shared (drive_data, segkit, evalkit, onnxexec, torchkit).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The DRIVE reader, metrics, the ONNX executor and the export shared by every model's scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from drive_data import HEIGHT, WIDTH, fov_estimate, iou, load_case, to_input  # noqa: E402
from evalkit import auc  # noqa: E402
from onnxexec import OnnxNumpy, check_onnxruntime_node  # noqa: E402
from segkit import (best_dice_threshold, counts, fit_temperature_sigmoid, from_counts, nll_sigmoid,  # noqa: E402
                    pixel_ece, sigmoid)
from torchkit import export_onnx  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
DATA = os.environ.get('DRIVE_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data', 'drive'))
MODEL_ID = 'retina-vessels-drive'
SEED = 20240623
TRAIN_IDS = list(range(21, 37))
VAL_IDS = list(range(37, 41))
PAD_MULTIPLE = 8          # 3 poolings

CONFIG = {
    'widths': [16, 32, 64, 128],
    'patch': 96,
    'batch_size': 8,
    'iterations': 2000,
    'eval_every': 200,
    'lr': 2e-3,
    'weight_decay': 1e-5,
    'pct_start': 0.05,
    'loss': 'binary cross-entropy (mean over all patch pixels)',
    'aug': {'rot90': True, 'hflip': 0.5, 'gamma': [0.8, 1.25], 'contrast': [0.85, 1.15],
            'channel_gain': [0.9, 1.1], 'brightness': 0.04},
    'selection': 'highest validation Dice (pooled over the FOV pixels of images 37-40, best threshold)',
}


# ----------------------------------------------------------------------------- network
def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.enc = nn.ModuleList()
        c = 3
        for w in widths:
            self.enc.append(block(c, w))
            c = w
        self.up, self.dec = nn.ModuleList(), nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.dec.append(block(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        # Sizes as Python ints: the exported graph has fixed pads/crop for 584x565 (the contract).
        h, w = int(x.shape[2]), int(x.shape[3])
        ph, pw = (-h) % PAD_MULTIPLE, (-w) % PAD_MULTIPLE
        # Reflect padding (as F.pad mode='reflect') written as constant slices + concat, so the
        # exported graph has static shapes (no computed Pad pads).
        if ph:
            x = torch.cat([x] + [x[:, :, h - 1 - i:h - i] for i in range(1, ph + 1)], 2)
        if pw:
            x = torch.cat([x] + [x[:, :, :, w - 1 - i:w - i] for i in range(1, pw + 1)], 3)
        skips = []
        for i, enc in enumerate(self.enc):
            if i:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], 1))
        x = self.head(x)
        if ph or pw:
            x = x[:, :, :h, :w]
        return x


# ----------------------------------------------------------------------------- data
def load_cases(ids):
    return [load_case(DATA, 'training', i) for i in ids]


def normalisation(cases):
    x = np.stack([c['rgb'] for c in cases]).reshape(-1, 3).astype(np.float64) / 255.0
    return [round(float(v), 4) for v in x.mean(0)], [round(float(v), 4) for v in x.std(0)]


class PatchSampler:
    def __init__(self, cases, cfg, seed):
        self.x = np.stack([c['rgb'] for c in cases]).astype(np.float32) / 255.0     # K,H,W,3
        self.x = np.ascontiguousarray(self.x.transpose(0, 3, 1, 2))                  # K,3,H,W
        self.y = np.stack([c['manual1'] for c in cases]).astype(np.float32)          # K,H,W
        self.fov = np.stack([c['fov'] for c in cases])
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)

    def batch(self):
        P, a, rng = self.cfg['patch'], self.cfg['aug'], self.rng
        K, _, H, W = self.x.shape
        xs, ys = [], []
        while len(xs) < self.cfg['batch_size']:
            k = int(rng.integers(K))
            y0, x0 = int(rng.integers(0, H - P + 1)), int(rng.integers(0, W - P + 1))
            if not self.fov[k, y0 + P // 2, x0 + P // 2]:
                continue
            xi = self.x[k, :, y0:y0 + P, x0:x0 + P]
            yi = self.y[k, y0:y0 + P, x0:x0 + P]
            r = int(rng.integers(4))
            xi, yi = np.rot90(xi, r, axes=(1, 2)), np.rot90(yi, r)
            if rng.random() < a['hflip']:
                xi, yi = xi[:, :, ::-1], yi[:, ::-1]
            g = rng.uniform(*a['gamma'])
            xi = np.power(xi, g)
            m = xi.mean()
            xi = (xi - m) * rng.uniform(*a['contrast']) + m
            xi = xi * rng.uniform(*a['channel_gain'], size=(3, 1, 1))
            xi = np.clip(xi + rng.uniform(-a['brightness'], a['brightness']), 0, 1)
            xs.append(np.ascontiguousarray(xi, dtype=np.float32))
            ys.append(np.ascontiguousarray(yi, dtype=np.float32))
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))[:, None]


# ----------------------------------------------------------------------------- validation
@torch.no_grad()
def predict_full(model, cases, mean, std):
    """Full-image logits [H, W] (float32) per case, through the padded forward, eval mode."""
    model.eval()
    return [model(torch.from_numpy(to_input(c['rgb'], mean, std))[None])[0, 0].numpy() for c in cases]


def val_scores(logit_maps, cases):
    z = np.concatenate([m[c['fov']] for m, c in zip(logit_maps, cases)]).astype(np.float32)
    y = np.concatenate([c['manual1'][c['fov']] for c in cases])
    return z, y


def onnx_summary(m):
    """Operator types and the input / output names and shapes of an exported graph."""
    ops = sorted({n.op_type for n in m.graph.node})
    shape = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    io = {'input': [m.graph.input[0].name, shape(m.graph.input[0])],
          'output': [m.graph.output[0].name, shape(m.graph.output[0])]}
    return ops, io


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--iterations', type=int, default=None, help='smoke runs only')
    ap.add_argument('--eval-every', type=int, default=None, help='smoke runs only')
    args = ap.parse_args()
    cfg = json.loads(json.dumps(CONFIG))
    if args.iterations:
        cfg['iterations'] = args.iterations
    if args.eval_every:
        cfg['eval_every'] = args.eval_every

    def log(*a):
        print(*a, flush=True)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    t_start = time.time()

    train_cases, val_cases = load_cases(TRAIN_IDS), load_cases(VAL_IDS)
    mean, std = normalisation(train_cases)
    log(f'DRIVE training/: train {TRAIN_IDS[0]}-{TRAIN_IDS[-1]}, val {VAL_IDS[0]}-{VAL_IDS[-1]}; '
        f'normalisation mean {mean} std {std}')

    # ---- field-of-view intensity threshold (training images only)
    s_all = np.concatenate([c['rgb'].astype(np.int64).sum(axis=2).ravel() for c in train_cases])
    f_all = np.concatenate([c['fov'].ravel() for c in train_cases])
    h_in = np.bincount(s_all[f_all], minlength=766)
    h_out = np.bincount(s_all[~f_all], minlength=766)
    above_in = h_in.sum() - np.cumsum(h_in)             # [k] = #(FOV pixels with sum > k)
    above_out = h_out.sum() - np.cumsum(h_out)
    ious = above_in / (h_in.sum() + above_out)          # IoU of {sum > k} with the FOV masks
    best = (float(ious.max()), int(np.argmax(ious)))
    min_int = round((best[1] + 0.5) / 765.0, 4)            # s > k  <=>  s / 765 >= (k + 0.5) / 765
    assert abs(min_int - (best[1] + 0.5) / 765.0) < 0.4 / 765.0

    def fov_report(cases):
        ests = [fov_estimate(c['rgb'], min_int) for c in cases]
        inter = sum(int((e & c['fov']).sum()) for e, c in zip(ests, cases))
        union = sum(int((e | c['fov']).sum()) for e, c in zip(ests, cases))
        per = [iou(e, c['fov']) for e, c in zip(ests, cases)]
        return {'pooledIoU': round(inter / union, 4), 'meanIoU': round(float(np.mean(per)), 4),
                'minIoU': round(float(np.min(per)), 4)}
    fov = {'minIntensity': min_int,
           'rule': 'FOV estimate = mean(R,G,B)/255 >= minIntensity; chosen to maximise the pooled IoU with the DRIVE '
                   'FOV masks of training images 21-36; midway between two attainable 8-bit means',
           'train': fov_report(train_cases), 'val': fov_report(val_cases)}
    log('field of view:', json.dumps(fov))

    # ---- training
    model = UNet(cfg['widths'])
    n_params = sum(p.numel() for p in model.parameters())
    log(f'U-Net {cfg["widths"]}: {n_params} parameters')
    opt = torch.optim.Adam(model.parameters(), lr=cfg['lr'], weight_decay=cfg['weight_decay'])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg['lr'], total_steps=cfg['iterations'],
                                                pct_start=cfg['pct_start'])
    sampler = PatchSampler(train_cases, cfg, SEED)
    mean_t = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    std_t = torch.tensor(std, dtype=torch.float32)[None, :, None, None]
    history, best_state = [], None
    run_loss, run_n = 0.0, 0
    t0 = time.time()
    for it in range(1, cfg['iterations'] + 1):
        model.train()
        x, y = sampler.batch()
        loss = F.binary_cross_entropy_with_logits(model((x - mean_t) / std_t), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run_loss += float(loss)
        run_n += 1
        if it % cfg['eval_every'] == 0 or it == cfg['iterations']:
            zv, yv = val_scores(predict_full(model, val_cases, mean, std), val_cases)
            d, _, _ = best_dice_threshold(yv, sigmoid(zv))
            row = {'epoch': len(history) + 1, 'iteration': it, 'train_loss': round(run_loss / run_n, 5),
                   'val_auc': round(auc(yv, zv), 5), 'val_dice_best_threshold': round(d, 5),
                   'val_nll': round(nll_sigmoid(zv, yv, 1.0), 5), 'seconds': round(time.time() - t0, 1)}
            history.append(row)
            run_loss, run_n = 0.0, 0
            log(json.dumps(row))
            if best_state is None or row['val_dice_best_threshold'] > best_state[0]:
                best_state = (row['val_dice_best_threshold'], row['epoch'],
                              {k: v.clone() for k, v in model.state_dict().items()})
    train_seconds = time.time() - t0
    model.load_state_dict(best_state[2])
    model.eval()
    sel = history[best_state[1] - 1]
    log(f'selected epoch {sel["epoch"]} (iteration {sel["iteration"]}): val Dice {sel["val_dice_best_threshold"]}, '
        f'AUC {sel["val_auc"]}; training {train_seconds:.0f}s')

    # ---- calibration and threshold on val
    val_maps = predict_full(model, val_cases, mean, std)
    zv, yv = val_scores(val_maps, val_cases)
    T_fit = fit_temperature_sigmoid(zv, yv)
    ece1, eceT = pixel_ece(yv, sigmoid(zv)), pixel_ece(yv, sigmoid(zv / T_fit))
    T = round(T_fit, 4) if eceT < ece1 else 1.0
    pv = sigmoid(zv / T)
    d_best, p_at, p_below = best_dice_threshold(yv, pv)
    thr = round((p_at + p_below) / 2, 4)
    vc = from_counts(counts(yv, pv >= thr))
    calibration = {'method': 'temperature scaling of the logits, minimum NLL on the validation FOV pixels; shipped only '
                             'if it also lowers the validation ECE (15 bins), else 1',
                   'fitted_temperature': round(T_fit, 4), 'temperature': T,
                   'val_nll_T1': round(nll_sigmoid(zv, yv, 1.0), 5), 'val_nll_fitted': round(nll_sigmoid(zv, yv, T_fit), 5),
                   'val_ece_T1': round(ece1, 5), 'val_ece_fitted': round(eceT, 5)}
    op = {'threshold': thr,
          'threshold_rule': 'maximises the pooled validation Dice inside the FOV (sigmoid(logit / T) >= threshold), '
                            'midway between the neighbouring probabilities, rounded to 4 decimals',
          'val_at_threshold': {k: round(v, 5) for k, v in vc.items()}, 'val_dice_best_unrounded': round(d_best, 5)}
    log('calibration', json.dumps(calibration))
    log('operating point', json.dumps(op))

    # ---- export and check
    onnx_path = os.path.join(args.out, 'model.onnx')
    ops, io = onnx_summary(export_onnx(model, onnx_path, (1, 3, HEIGHT, WIDTH)))
    log('onnx ops', ops, io)
    runner = OnnxNumpy(onnx_path, dtype=np.float32, conv='shifted')
    xv = np.stack([to_input(c['rgb'], mean, std) for c in val_cases])
    onnx_np = np.concatenate([runner.run(xv[i:i + 1]) for i in range(len(xv))])
    torch_maps = np.stack(val_maps)[:, None]
    diff_np = float(np.abs(onnx_np - torch_maps).max())
    log(f'onnx (numpy executor) vs torch on the 4 val images: max |logit diff| {diff_np:.2e}')
    assert onnx_np.shape == (4, 1, HEIGHT, WIDTH) and diff_np < 1e-3, diff_np
    ort = check_onnxruntime_node(onnx_path, xv, REPO)        # batch of 4: exercises the dynamic axis
    diff_ort = None if ort is None else float(np.abs(ort - torch_maps).max())
    log(f'onnxruntime-node vs torch on the 4 val images (batch 4): max |logit diff| {diff_ort}')
    if diff_ort is not None:
        assert diff_ort < 1e-3, diff_ort

    metrics = {
        'model': MODEL_ID, 'version': '1.0.0', 'seed': SEED, 'torch': torch.__version__,
        'data': {'dataset': 'DRIVE (Staal et al., IEEE TMI 2004)', 'train_images': TRAIN_IDS, 'val_images': VAL_IDS,
                 'test_images': 'testing/ 01-20, read only by evaluate.py',
                 'train_fov_pixels': int(sum(c['fov'].sum() for c in train_cases)),
                 'val_fov_pixels': int(len(yv)), 'val_vessel_fraction_in_fov': round(float(yv.mean()), 5)},
        'normalization': {'mean': mean, 'std': std,
                          'rule': 'per-channel mean / std of all pixels (v = RGB/255) of training images 21-36'},
        'config': cfg, 'architecture': f'U-Net {cfg["widths"]}, BN, ReLU, maxpool, transposed-conv up, reflect pad '
                                       f'to a multiple of {PAD_MULTIPLE} inside forward',
        'parameters': int(n_params),
        'onnx': {'opset': 13, 'bytes': os.path.getsize(onnx_path), 'ops': ops, 'io': io,
                 'max_abs_logit_diff_numpy_executor_vs_torch': diff_np,
                 'max_abs_logit_diff_onnxruntime_node_vs_torch': diff_ort},
        'selected_epoch': sel['epoch'], 'selected_iteration': sel['iteration'],
        'epoch_definition': f'{cfg["eval_every"]} iterations of {cfg["batch_size"]} patches',
        'history': history,
        'calibration': calibration, 'operating_point': op, 'fieldOfView': fov,
        'train_seconds': round(train_seconds, 1), 'total_seconds': round(time.time() - t_start, 1),
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
        f.write('\n')
    log(f'wrote {onnx_path} and metrics.json in {time.time() - t_start:.0f}s')


if __name__ == '__main__':
    main()

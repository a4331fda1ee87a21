#!/usr/bin/env python3
"""Train cardiac-mri-sax-seg (2-D U-Net over cine-MRI short-axis slices) on ACDC `train`, select on
`val`, export model.onnx into this folder (NOT committed: ACDC is research use only, no ACDC-derived
file goes into the repository; this script is how the file is made).

Reproduce (CPU only, from the repository root):

    python3 -m venv /tmp/acdcvenv
    /tmp/acdcvenv/bin/pip install torch numpy scikit-learn onnx onnxruntime scipy
    /tmp/acdcvenv/bin/python models/cardiac-mri-sax-seg/train.py      # writes model.onnx, train section of metrics.json
    /tmp/acdcvenv/bin/python models/cardiac-mri-sax-seg/evaluate.py   # val metrics, manifest.json metrics
(or `npm run model:cardiac`, which runs both with PYTHON, default python3). Data: shared/data/acdc
(ACDC_DATA_DIR overrides). One thread (`torch.set_num_threads(1)`), fixed seed.

Input, exactly as the service feeds it (manifest `input`): per-slice min-max to [0,1]
(`windowing: minmax`), area resize to 128 x 128 without keeping the aspect ratio (`resize: area`),
(v - mean) / std with mean / std of the training slices after those two steps.
Training target: the one-hot label area-resized to 128 x 128 (soft targets).
Network output: 4 logits per pixel (background, RV cavity, LV myocardium, LV cavity), softmax.
Exported graph output `logits` [N, 3, 128, 128]: for each foreground class c the one-vs-rest
log-odds z_c - logsumexp_{k != c} z_k, so that sigmoid(logits[c]) is exactly the softmax
probability of class c (the service's segmentation runtime applies a per-class sigmoid).
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
import acdc_data as A  # noqa: E402

MODEL_ID = 'cardiac-mri-sax-seg'
SEED = 20240715
SIZE = 128
CLASSES = ['background', 'rv_cavity', 'lv_myocardium', 'lv_cavity']

CONFIG = {
    'size': SIZE,
    'widths': [16, 32, 64, 128, 256],
    'batch_size': 8,
    'crop': 96,
    'iterations': 900,
    'eval_every': 150,
    'lr': 3e-3,
    'weight_decay': 1e-5,
    'pct_start': 0.1,
    'loss': 'cross-entropy (soft targets) + soft Dice over the 3 foreground classes (batch-pooled), equal weight',
    'aug': {'hflip': 0.5, 'vflip': 0.5, 'rotate_deg': 25, 'scale': [0.8, 1.25], 'aspect': [0.85, 1.18],
            'shift': 0.08, 'gamma': [0.7, 1.5], 'p_affine': 0.8},
    'crop_note': 'random crop of crop x crop pixels from the augmented 128 x 128 slice, for CPU time',
    'selection': 'checkpoint with the highest mean validation Dice (3-D, per patient and frame, 3 structures, '
                 'original resolution, softmax probability >= 0.5), evaluated every eval_every iterations',
}


# ----------------------------------------------------------------------------- network
def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, widths, n_out=4):
        super().__init__()
        self.enc = nn.ModuleList()
        c = 1
        for w in widths:
            self.enc.append(block(c, w))
            c = w
        self.up, self.dec = nn.ModuleList(), nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.dec.append(block(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, n_out, 1)

    def forward(self, x):
        skips = []
        for i, enc in enumerate(self.enc):
            if i:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], 1))
        return self.head(x)


class OneVsRest(nn.Module):
    """Export wrapper: input normalised image, output the one-vs-rest log-odds of classes 1..3."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        z = self.net(x)
        outs = []
        for c in (1, 2, 3):
            others = [k for k in range(4) if k != c]
            outs.append(z[:, c:c + 1] - torch.logsumexp(z[:, others], dim=1, keepdim=True))
        return torch.cat(outs, 1)


# ----------------------------------------------------------------------------- data
def model_space(patients):
    """Stack every ED and ES slice: x (S,128,128) in [0,1], t (S,4,128,128) soft targets."""
    xs, ts = [], []
    for p in patients:
        for f in ('ed', 'es'):
            xs.append(A.to_model_space(p[f + '_image'], SIZE))
            ts.append(A.labels_to_soft(p[f + '_label'], SIZE))
    return np.concatenate(xs), np.concatenate(ts)


def augment(x, t, g, a):
    """x (B,1,s,s) in [0,1], t (B,4,s,s); torch generator g. Same geometric transform for both."""
    B = x.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    fx = torch.where(u(B) < a['hflip'], -1.0, 1.0)
    fy = torch.where(u(B) < a['vflip'], -1.0, 1.0)
    on = (u(B) < a['p_affine']).float()
    ang = (u(B) * 2 - 1) * math.radians(a['rotate_deg']) * on
    lo, hi = a['scale']
    s = torch.exp(math.log(lo) + u(B) * (math.log(hi) - math.log(lo)))
    s = s * on + (1 - on)
    lo, hi = a['aspect']
    r = torch.exp(math.log(lo) + u(B) * (math.log(hi) - math.log(lo)))
    r = r * on + (1 - on)
    sx, sy = fx / (s * torch.sqrt(r)), fy * torch.sqrt(r) / s
    tx, ty = (u(B) * 2 - 1) * a['shift'] * 2 * on, (u(B) * 2 - 1) * a['shift'] * 2 * on
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos * sx, -sin * sy, tx], 1), torch.stack([sin * sx, cos * sy, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    t = F.grid_sample(t, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    t[:, 0] += (1 - t.sum(1)).clamp(min=0)          # outside the image: background
    lo, hi = a['gamma']
    gam = torch.exp(math.log(lo) + u(B) * (math.log(hi) - math.log(lo)))
    x = x.clamp(0, 1) ** gam[:, None, None, None]
    # Back to per-slice min-max (what the service's windowing gives).
    mn = x.amin((1, 2, 3), keepdim=True)
    mx = x.amax((1, 2, 3), keepdim=True)
    x = torch.where(mx > mn, (x - mn) / (mx - mn).clamp(min=1e-6), torch.zeros_like(x))
    return x, t


def loss_fn(z, t):
    logp = F.log_softmax(z, 1)
    ce = -(t * logp).sum(1).mean()
    p = logp.exp()[:, 1:]
    tt = t[:, 1:]
    inter = (p * tt).sum((0, 2, 3))
    dice = (2 * inter + 1) / (p.sum((0, 2, 3)) + tt.sum((0, 2, 3)) + 1)
    return ce + (1 - dice.mean())


# ----------------------------------------------------------------------------- validation
@torch.no_grad()
def predict_probs(net, x01, mean, std, bs=32):
    """x01 (S,128,128) -> softmax probabilities (S,4,128,128) float32."""
    net.eval()
    out = []
    for i in range(0, len(x01), bs):
        xb = (torch.from_numpy(x01[i:i + bs])[:, None] - mean) / std
        out.append(F.softmax(net(xb), 1).numpy())
    return np.concatenate(out)


def dice3d(a, b):
    s = a.sum() + b.sum()
    return float(2 * (a & b).sum() / s) if s else 1.0


def val_dice(probs_by_frame, patients):
    """Mean Dice over patients x frames x structures, original resolution, prob >= 0.5."""
    ds = []
    for p, (pe, ps) in zip(patients, probs_by_frame):
        for f, pr in (('ed', pe), ('es', ps)):
            lab = p[f + '_label']
            up = A.upsample_probs(pr, lab.shape[1], lab.shape[2])
            for c in (1, 2, 3):
                ds.append(dice3d(up[:, c] >= 0.5, lab == c))
    return float(np.mean(ds))


def split_by_frame(probs, patients):
    out, i = [], 0
    for p in patients:
        z = p['shape'][0]
        out.append((probs[i:i + z], probs[i + z:i + 2 * z]))
        i += 2 * z
    return out


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
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    t_start = time.time()
    train, val = A.load_split('train'), A.load_split('val')
    xtr, ttr = model_space(train)
    xva, _ = model_space(val)
    mean, std = round(float(xtr.mean()), 4), round(float(xtr.std()), 4)
    log(f'ACDC train {len(train)} patients / {len(xtr)} slices (ED+ES), val {len(val)} / {len(xva)}; '
        f'normalisation mean {mean} std {std}; data ready in {time.time() - t_start:.0f}s')

    net = UNet(cfg['widths'])
    n_params = sum(p.numel() for p in net.parameters())
    log(f'U-Net {cfg["widths"]}: {n_params} parameters')
    opt = torch.optim.Adam(net.parameters(), lr=cfg['lr'], weight_decay=cfg['weight_decay'])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg['lr'], total_steps=cfg['iterations'],
                                                pct_start=cfg['pct_start'])
    g = torch.Generator().manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    xtr_t, ttr_t = torch.from_numpy(xtr)[:, None], torch.from_numpy(ttr)
    history, best = [], None
    run_loss, run_n = 0.0, 0
    t0 = time.time()
    order, pos = rng.permutation(len(xtr)), 0
    for it in range(1, cfg['iterations'] + 1):
        net.train()
        if pos + cfg['batch_size'] > len(order):
            order, pos = rng.permutation(len(xtr)), 0
        idx = torch.from_numpy(order[pos:pos + cfg['batch_size']])
        pos += cfg['batch_size']
        x, t = augment(xtr_t[idx], ttr_t[idx].clone(), g, cfg['aug'])
        # Random crop (training only; the network is fully convolutional and sees 128 x 128 at inference).
        c = cfg['crop']
        if c < SIZE:
            oy, ox = (int(v) for v in torch.randint(0, SIZE - c + 1, (2,), generator=g))
            x, t = x[:, :, oy:oy + c, ox:ox + c], t[:, :, oy:oy + c, ox:ox + c]
        loss = loss_fn(net((x - mean) / std), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run_loss += float(loss.detach())
        run_n += 1
        if it % cfg['eval_every'] == 0 or it == cfg['iterations']:
            d = val_dice(split_by_frame(predict_probs(net, xva, mean, std), val), val)
            row = {'check': len(history) + 1, 'iteration': it, 'epochs_seen': round(it * cfg['batch_size'] / len(xtr), 2),
                   'train_loss': round(run_loss / run_n, 5), 'val_mean_dice': round(d, 5),
                   'seconds': round(time.time() - t0, 1)}
            history.append(row)
            run_loss, run_n = 0.0, 0
            log(json.dumps(row))
            if best is None or d > best[0]:
                best = (d, row['check'], {k: v.clone() for k, v in net.state_dict().items()})
    train_seconds = time.time() - t0
    net.load_state_dict(best[2])
    net.eval()
    sel = history[best[1] - 1]
    log(f'selected check {sel["check"]} (iteration {sel["iteration"]}): val mean Dice {sel["val_mean_dice"]}; '
        f'training {train_seconds:.0f}s')

    # ---- export (normalisation stays outside the graph: the service applies the manifest's)
    import onnx
    import onnxruntime as ort
    onnx_path = os.path.join(args.out, 'model.onnx')
    wrapper = OneVsRest(net).eval()
    torch.onnx.export(wrapper, torch.zeros(1, 1, SIZE, SIZE), onnx_path, input_names=['image'], output_names=['logits'],
                      dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=17,
                      do_constant_folding=True, dynamo=False)
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    sess = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    xin = ((xva - mean) / std).astype(np.float32)[:, None]
    with torch.no_grad():
        ref = np.concatenate([wrapper(torch.from_numpy(xin[i:i + 32])).numpy() for i in range(0, len(xin), 32)])
    got = np.concatenate([sess.run(['logits'], {'image': xin[i:i + 32]})[0] for i in range(0, len(xin), 32)])
    diff = float(np.abs(got - ref).max())
    pdiff = float(np.abs(1 / (1 + np.exp(-got.astype(np.float64))) - 1 / (1 + np.exp(-ref.astype(np.float64)))).max())
    log(f'onnxruntime vs torch on the {len(xin)} val slices (batches of 32): max |logit diff| {diff:.2e}, '
        f'max |prob diff| {pdiff:.2e}; ops {ops}')
    assert got.shape == (len(xin), 3, SIZE, SIZE) and pdiff < 1e-4, (got.shape, diff, pdiff)

    metrics_path = os.path.join(args.out, 'metrics.json')
    metrics = {}
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            metrics = json.load(f)
    metrics.update({
        'model': MODEL_ID, 'version': '1.0.0', 'seed': SEED, 'torch': torch.__version__,
        'hardware': '2-core Intel Xeon VM, CPU only, shared with other work; torch.set_num_threads(1)',
        'data': {'dataset': 'ACDC (Bernard et al., IEEE TMI 2018), copy in shared/data/acdc: per-volume min-max '
                            'normalised intensities, no voxel spacing, ED and ES frames only',
                 'train_patients': len(train), 'train_slices_ed_plus_es': int(len(xtr)),
                 'val_patients': len(val), 'val_slices_ed_plus_es': int(len(xva))},
        'preprocessing': {'windowing': 'per-slice min-max to [0,1] (constant slice -> 0)',
                          'resize': f'area resize to {SIZE}x{SIZE}, aspect ratio not kept (= src/image/resize.ts)',
                          'normalization': {'mean': [mean], 'std': [std],
                                            'rule': 'mean / std of all training ED+ES slices after min-max and resize'}},
        'config': cfg,
        'architecture': f'2-D U-Net {cfg["widths"]} (two 3x3 conv + BN + ReLU per level, maxpool, transposed-conv up, '
                        f'skip concatenation), 1 input channel, 4 output logits (softmax)',
        'parameters': int(n_params),
        'onnx': {'opset': 17, 'bytes': os.path.getsize(onnx_path), 'ops': ops,
                 'input': ['image', ['batch', 1, SIZE, SIZE]], 'output': ['logits', ['batch', 3, SIZE, SIZE]],
                 'output_meaning': 'one-vs-rest log-odds of rv_cavity, lv_myocardium, lv_cavity: sigmoid = softmax probability',
                 'max_abs_logit_diff_onnxruntime_vs_torch': diff, 'max_abs_prob_diff_onnxruntime_vs_torch': pdiff,
                 'onnxruntime': ort.__version__},
        'selected_check': sel['check'], 'selected_iteration': sel['iteration'],
        'history': history,
        'train_seconds': round(train_seconds, 1), 'total_seconds': round(time.time() - t_start, 1),
    })
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)
        f.write('\n')
    log(f'wrote {onnx_path} and metrics.json in {time.time() - t_start:.0f}s')


if __name__ == '__main__':
    main()

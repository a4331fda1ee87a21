#!/usr/bin/python3
"""Train the pneumonia-cxr-224 classifier (paediatric pneumonia vs normal, 224x224 chest radiographs).

Reproduce (Debian's python with torch 1.13, from the repository root):

    /usr/bin/python3 models/pneumonia-cxr-224/train.py      # model.onnx + metrics.json (val part)
    /usr/bin/python3 models/pneumonia-cxr-224/evaluate.py   # test once -> metrics.json (test), manifest.json
    /usr/bin/python3 models/pneumonia-cxr-224/compare_28.py # optional: paired comparison with pneumonia-cxr-28

The shipped model took 2,235 s (37 min; 86-169 s per epoch, mean 123 s, 18 epochs) on one CPU
thread of the project's 2-core machine while another training job shared it. A smoke test:
    /usr/bin/python3 models/pneumonia-cxr-224/train.py --out /tmp/smoke --epochs 1 --limit 640

Data (see ../../../shared/data/README.md; override with CXR_DATA_DIR):
  * kermany-cxr-224/train/{NORMAL,PNEUMONIA}/*.jpeg: the Kermany ChestXRay2017 training images
    (Kermany et al., Cell 2018; Mendeley Data, CC BY 4.0), the WHOLE radiograph squashed to
    224x224 RGB by the author of a public copy. No pretrained weights, no other data.
  * The test folder is NOT read here; only evaluate.py reads it, once.

Validation split (there is no official one), by patient, from the file names:
  * PNEUMONIA: `person<N>_(bacteria|virus)_<k>[...].jpeg` -> patient key `person<N>`.
  * NORMAL: `IM-<XXXX>-<YYYY>[...].jpeg` -> `IM-<XXXX>`; `NORMAL2-IM-<XXXX>-<YYYY>[...].jpeg`
    -> `NORMAL2-IM-<XXXX>` (the prefix up to and including XXXX; the two prefixes are kept apart).
    Any other name is an error.
  * Per class, the sorted patient keys are shuffled with numpy default_rng(SEED) (NORMAL first,
    then PNEUMONIA, one generator) and the first round(10%) of each class's keys form val; every
    image of a val patient is in val, no val patient has an image in train.

Preprocessing is the runtime's (models/MANIFEST.md, src/inference/preprocess.ts): the 224x224
JPEG decoded by PIL, RGB/255 as float, grey = 0.299 R + 0.587 G + 0.114 B (BT.601 on floats,
not PIL's integer convert('L')), no resize (the area resize of a 224x224 image to 224x224 is the
identity), (v - 0.5) / 0.5, float32 NCHW [N,1,224,224]. Every training JPEG has R = G = B, so
the float grey equals R/255 exactly up to float rounding; train.py checks this and caches the
grey images as uint8 (the exact 8-bit values) in /tmp (CXR_CACHE_DIR) to decode only once.

Choices (all on val or on the CPU budget, never on test): a compact plain CNN sized so that
training fits ~40 minutes on one CPU thread; epochs by the one-cycle schedule; the checkpoint
with the lowest val NLL; temperature = val-NLL minimiser; threshold = largest with val
sensitivity >= 0.95; review band lower edge = largest threshold with val sensitivity >= 0.98,
upper edge its mirror in logit space (the same rules as pneumonia-cxr-28).
The augmentation, calibration and operating-point rules, the Kermany reader and the ONNX
executor are the shared ones of models/_shared (torchkit, evalkit, kermany_data, onnxexec).
"""
import argparse
import hashlib
import json
import os
import random
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

# Metrics, calibration, augmentation, the Kermany reader and the ONNX executor shared by every
# model's scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from evalkit import auc, ece, fit_temperature, nll, operating_point, sens_spec, softmax1  # noqa: E402
from kermany_data import grey_bt601, kermany_files  # noqa: E402
from onnxexec import OnnxNumpy  # noqa: E402
from torchkit import augment, export_onnx, normalise  # noqa: E402

DATA = os.environ.get('CXR_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
K224 = os.path.join(DATA, 'kermany-cxr-224')
CACHE = os.environ.get('CXR_CACHE_DIR', '/tmp/pneumonia-cxr-224-cache')
SEED = 20240601

CONFIG = {
    'widths': [16, 32, 64, 128],
    'epochs': 18,
    'batch_size': 32,
    'lr': 2e-3,
    'weight_decay': 5e-4,
    'dropout': 0.2,
    'val_fraction_of_patients': 0.10,
    'aug': {'rot_deg': 10.0, 'scale': [0.9, 1.1], 'aspect': [0.9, 1.1], 'translate': 0.08,
            'gamma': [0.8, 1.25], 'contrast': [0.85, 1.15], 'brightness': 0.05},
    'sensitivity_target': 0.95,
    'review_band_lower_sensitivity': 0.98,
}


# ----------------------------------------------------------------------------- data
def patient_key(path):
    n = os.path.basename(path)
    m = re.match(r'^(person\d+)_(?:bacteria|virus)_', n)
    if m:
        return m.group(1)
    m = re.match(r'^((?:NORMAL2-)?IM-\d{4})-', n)
    if m:
        return m.group(1)
    raise ValueError(f'no patient key rule for {n}')


def patient_split(files, labels, frac, seed):
    """Returns a boolean val mask: round(frac * patients) per class, seeded, by patient."""
    keys = [patient_key(f) for f in files]
    rng = np.random.default_rng(seed)
    val_keys = set()
    info = {}
    for c, name in ((0, 'normal'), (1, 'pneumonia')):
        ks = sorted({k for k, y in zip(keys, labels) if y == c})
        # a key must not occur in both classes (it would break stratification)
        n_val = int(round(frac * len(ks)))
        perm = rng.permutation(len(ks))
        chosen = [ks[i] for i in perm[:n_val]]
        val_keys.update(chosen)
        info[f'{name}_patients'] = len(ks)
        info[f'{name}_val_patients'] = n_val
    overlap = {k for k, y in zip(keys, labels) if y == 0} & {k for k, y in zip(keys, labels) if y == 1}
    assert not overlap, overlap
    is_val = np.array([k in val_keys for k in keys])
    info.update({'train_images': int((~is_val).sum()), 'val_images': int(is_val.sum()),
                 'train_normal': int(((~is_val) & (labels == 0)).sum()),
                 'train_pneumonia': int(((~is_val) & (labels == 1)).sum()),
                 'val_normal': int((is_val & (labels == 0)).sum()),
                 'val_pneumonia': int((is_val & (labels == 1)).sum())})
    return is_val, info


def load_train_cached(files, log):
    """uint8 grey cache of the training JPEGs. Exact when every image has R=G=B (checked)."""
    os.makedirs(CACHE, exist_ok=True)
    h = hashlib.sha1('\n'.join(os.path.relpath(f, K224) for f in files).encode()).hexdigest()[:12]
    path = os.path.join(CACHE, f'train_grey_u8_{h}.npy')
    if os.path.exists(path):
        log(f'cache {path}')
        return np.load(path), json.load(open(path + '.json'))
    X = np.empty((len(files), 224, 224), np.uint8)
    max_err = 0.0
    non_grey = 0
    for i, f in enumerate(files):
        g = grey_bt601(f)
        if g.shape != (224, 224):
            raise ValueError(f'{f}: {g.shape}')
        rgb = np.asarray(Image.open(f).convert('RGB'))
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
            non_grey += 1
        q = np.clip(np.round(g * 255.0), 0, 255).astype(np.uint8)
        max_err = max(max_err, float(np.abs(q / 255.0 - g).max()))
        X[i] = q
    info = {'images': len(files), 'non_grey_rgb_images': non_grey,
            'max_abs_diff_cached_vs_float_bt601': max_err}
    np.save(path, X)
    json.dump(info, open(path + '.json', 'w'))
    log(f'decoded {len(files)} JPEGs -> {path} {info}')
    return X, info


# ----------------------------------------------------------------------------- model
def cbr(i, o, stride=1):
    return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class Net(nn.Module):
    """Plain CNN: 224 -> 112 -> 56 -> 28 -> 14 -> 7, global average pool, linear."""

    def __init__(self, widths=(16, 32, 64, 128), dropout=0.2):
        super().__init__()
        a, b, c, d = widths
        self.features = nn.Sequential(
            *cbr(1, a, 2),                   # 112
            *cbr(a, b, 2), *cbr(b, b),       # 56
            *cbr(b, c, 2), *cbr(c, c),       # 28
            *cbr(c, d, 2), *cbr(d, d),       # 14
            *cbr(d, d, 2), *cbr(d, d),       # 7
            nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(d, 2))

    def forward(self, x):
        return self.head(self.features(x))


def to_input(u8):
    """uint8 [B,224,224] -> normalised float32 [B,1,224,224] channels-last."""
    x = torch.from_numpy(u8).unsqueeze(1).float() / 255.0
    return x


@torch.no_grad()
def predict_logits(model, u8, bs=64):
    model.eval()
    out = []
    for i in range(0, len(u8), bs):
        x = normalise(to_input(u8[i:i + bs])).contiguous(memory_format=torch.channels_last)
        out.append(model(x))
    return torch.cat(out).double().numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=HERE, help='output folder (model.onnx, metrics.json)')
    ap.add_argument('--epochs', type=int, default=None)
    ap.add_argument('--widths', type=str, default=None)
    ap.add_argument('--lr', type=float, default=None)
    ap.add_argument('--limit', type=int, default=0, help='smoke test: use only this many train images')
    args = ap.parse_args()
    cfg = json.loads(json.dumps(CONFIG))
    if args.epochs:
        cfg['epochs'] = args.epochs
    if args.widths:
        cfg['widths'] = [int(v) for v in args.widths.split(',')]
    if args.lr:
        cfg['lr'] = args.lr
    os.makedirs(args.out, exist_ok=True)

    def log(*a):
        print(*a, flush=True)

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()

    files, labels = kermany_files(K224, 'train')
    X, cache_info = load_train_cached(files, log)
    is_val, split_info = patient_split(files, labels, cfg['val_fraction_of_patients'], SEED)
    log('split', split_info)
    tr_idx = np.flatnonzero(~is_val)
    if args.limit:
        tr_idx = np.random.default_rng(0).choice(tr_idx, args.limit, replace=False)
    x_val, y_val = X[is_val], labels[is_val]
    Xtr = torch.from_numpy(X[tr_idx])
    Ytr = torch.from_numpy(labels[tr_idx])

    model = Net(cfg['widths'], cfg['dropout']).to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters())
    log(f'parameters {n_params}')
    opt = torch.optim.AdamW(model.parameters(), lr=cfg['lr'], weight_decay=cfg['weight_decay'])
    bs = cfg['batch_size']
    steps_per_epoch = int(np.ceil(len(Ytr) / bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg['lr'], total_steps=steps_per_epoch * cfg['epochs'],
                                                pct_start=0.15)
    g = torch.Generator().manual_seed(SEED)
    best = None
    history = []
    for ep in range(cfg['epochs']):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(Ytr), generator=g)
        tot = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb = augment(Xtr[idx].unsqueeze(1).float() / 255.0, g, cfg)
            xb = normalise(xb).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        t_train = time.time() - t0
        lv = predict_logits(model, x_val)
        pv = softmax1(lv)
        row = {'epoch': ep + 1, 'train_loss': tot / len(Ytr), 'val_nll': nll(lv, y_val, 1.0),
               'val_auc': auc(y_val, pv), 'val_acc_at_0.5': float(((pv >= 0.5) == y_val).mean()),
               'train_seconds': round(t_train, 1), 'epoch_seconds': round(time.time() - t0, 1)}
        history.append(row)
        log(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
        if best is None or row['val_nll'] < best[0]:
            best = (row['val_nll'], ep + 1, {k: v.clone() for k, v in model.state_dict().items()})
    train_loop_seconds = time.time() - t_start
    log(f'best epoch by val NLL: {best[1]}')
    model.load_state_dict(best[2])
    model.eval()

    # ---- calibration and operating point, all on val. Rounded to 4 decimals as the manifest
    # carries them (threshold and band lower edge rounded down, upper edge up).
    lv = predict_logits(model, x_val)
    T = round(fit_temperature(lv, y_val), 4)
    pv = softmax1(lv, T)
    thr, lo, hi = operating_point(y_val, pv, cfg['sensitivity_target'], cfg['review_band_lower_sensitivity'])
    se, sp = sens_spec(y_val, pv, thr)
    p1 = softmax1(lv, 1.0)
    val_report = {'n': int(len(y_val)), 'n_normal': int((y_val == 0).sum()), 'n_pneumonia': int((y_val == 1).sum()),
                  'nll_T1': nll(lv, y_val, 1.0), 'nll_T': nll(lv, y_val, T), 'auc': auc(y_val, pv),
                  'sensitivity': se, 'specificity': sp, 'accuracy': float(((pv >= thr) == y_val).mean()),
                  'accuracy_at_0.5_T1': float(((p1 >= 0.5) == y_val).mean()),
                  'ece15_T1': ece(y_val, p1), 'ece15_T': ece(y_val, pv),
                  'fraction_in_review_band': float(((pv >= lo) & (pv <= hi)).mean())}
    log('val', json.dumps(val_report, indent=1))
    log(f'temperature {T:.4f} threshold {thr:.4f} review band [{lo:.4f}, {hi:.4f}]')

    # ---- export and check the ONNX graph against torch (float64 NumPy executor)
    onnx_path = os.path.join(args.out, 'model.onnx')
    export_onnx(model.to(memory_format=torch.contiguous_format), onnx_path, (1, 1, 224, 224))
    runner = OnnxNumpy(onnx_path, conv='im2col')
    lt = predict_logits(model, x_val[:64])
    lo_ = runner.run(normalise(x_val[:64][:, None].astype(np.float64) / 255.0))
    max_diff = float(np.abs(lt - lo_).max())
    log(f'onnx (numpy executor) vs torch, max |logit diff| on 64 val images: {max_diff:.2e}')
    assert max_diff < 1e-3, max_diff

    metrics = {
        'model': 'pneumonia-cxr-224', 'version': '1.0.0',
        'seed': SEED, 'torch': torch.__version__, 'threads': 1, 'config': cfg, 'parameters': int(n_params),
        'onnx_bytes': os.path.getsize(onnx_path), 'onnx_vs_torch_max_abs_logit_diff': max_diff,
        'data': {'source': 'kermany-cxr-224/train', 'cache': cache_info, 'split': split_info,
                 'split_rule': 'by patient key from the file name (person<N> | IM-<XXXX> | NORMAL2-IM-<XXXX>), '
                               f"round({cfg['val_fraction_of_patients']}) of each class's patients, "
                               f'numpy default_rng({SEED}) permutation of the sorted keys, NORMAL then PNEUMONIA',
                 'smoke_limit': args.limit or None},
        'selected_epoch': best[1], 'history': history,
        'calibration': {'method': 'temperature scaling, minimise NLL on val', 'temperature': T},
        'operating_point': {
            'threshold': thr,
            'threshold_rule': f"largest threshold with val sensitivity >= {cfg['sensitivity_target']} "
                              '(probability of pneumonia after temperature scaling)',
            'review_band': [lo, hi],
            'review_band_rule': f"lower = largest threshold with val sensitivity >= "
                                f"{cfg['review_band_lower_sensitivity']}; upper = its mirror image around the "
                                'threshold in logit space (logit(upper) = 2 logit(threshold) - logit(lower))',
        },
        'val': val_report,
        'train_loop_seconds': round(train_loop_seconds, 1),
        'train_seconds': round(time.time() - t_start, 1),
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    log(f'wrote {onnx_path} and metrics.json in {time.time() - t_start:.0f}s')


if __name__ == '__main__':
    main()

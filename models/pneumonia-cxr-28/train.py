#!/usr/bin/python3
"""Train the pneumonia-cxr-28 classifier (paediatric pneumonia vs normal, 28x28 chest radiographs).

Reproduce (Debian's python with torch 1.13, from the repository root):

    /usr/bin/python3 models/pneumonia-cxr-28/train.py
    /usr/bin/python3 models/pneumonia-cxr-28/evaluate.py

Data (see ../../../shared/data/README.md):
  * PneumoniaMNIST (MedMNIST v2, CC BY 4.0): official train / val / test splits, 28x28 uint8.
    MedMNIST made these by centre-cropping each original radiograph to a square and resizing.
  * kermany-cxr-224/train: the same ChestXRay2017 training images, but resized to 224x224 by
    squashing the WHOLE radiograph (aspect ratio not kept). Area-averaged to 28x28 this is what
    the runtime produces from a full DICOM image (manifest `resize: "area"`), so it is used as a
    second rendering of the training images. The Kermany copy has no split of its own that
    matches MedMNIST's val split, so every Kermany training image is matched to its
    PneumoniaMNIST counterpart (best centre crop, z-scored 14x14 correlation): images that
    match an official *val* image form a "val-224" set (used only for model selection and
    calibration, never trained on), images that clearly match an official *train* image are
    trained on, and ambiguous ones are dropped.
  * The test split (PneumoniaMNIST test and kermany-cxr-224/test) is NOT read here; only
    evaluate.py reads it, once.

Everything (epoch, temperature, threshold, review band) is chosen on validation data.
Preprocessing is exactly the runtime's (models/MANIFEST.md): pixel/255 -> [0,1] ->
area resize to 28x28 -> (v - 0.5) / 0.5.
The network, augmentation, calibration and operating-point rules, the Kermany reader and the
ONNX executor are the shared ones of models/_shared (torchkit, evalkit, kermany_data, onnxexec).
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# Metrics, calibration, the CNN, the Kermany reader and the ONNX executor shared by every model's
# scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from evalkit import auc, fit_temperature, nll, operating_point, sens_spec, softmax1  # noqa: E402
from kermany_data import area_28, kermany_files  # noqa: E402
from onnxexec import OnnxNumpy  # noqa: E402
from torchkit import Net, augment, export_onnx, normalise, predict_logits  # noqa: E402

DATA = os.environ.get('CXR_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
NPZ = os.path.join(DATA, 'medmnist', 'pneumoniamnist.npz')
K224 = os.path.join(DATA, 'kermany-cxr-224')
SEED = 20240601

# Fixed hyper-parameters (the ones chosen on val; see MODEL_CARD.md).
CONFIG = {
    'widths': [16, 32, 64],
    'epochs': 24,
    'batch_size': 128,
    'lr': 3e-3,
    'weight_decay': 5e-4,
    'dropout': 0.2,
    'use_kermany_train': True,
    'aug': {'rot_deg': 10.0, 'scale': [0.9, 1.1], 'aspect': [0.9, 1.1], 'translate': 0.08,
            'gamma': [0.8, 1.25], 'contrast': [0.85, 1.15], 'brightness': 0.05},
    'sensitivity_target': 0.95,
    'review_band_lower_sensitivity': 0.98,
}


# ----------------------------------------------------------------------------- data
def load_medmnist():
    d = np.load(NPZ)
    out = {}
    for s in ('train', 'val', 'test'):
        out[s] = (d[f'{s}_images'].astype(np.float32) / 255.0, d[f'{s}_labels'][:, 0].astype(np.int64))
    return out


def load_gray_224(path):
    """8-bit grayscale exactly as the DICOM fixtures store it (PIL convert('L'))."""
    return np.asarray(Image.open(path).convert('L'), dtype=np.float64)


def load_kermany(split):
    fs, y = kermany_files(K224, split)
    raw = [load_gray_224(f) for f in fs]
    x28 = np.stack([area_28(a).astype(np.float32) for a in raw])
    return fs, raw, x28, y


def _z(x):
    x = x - x.mean(1, keepdims=True)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def match_kermany_to_medmnist(raw224, mm_train, mm_val, log):
    """For each Kermany training image, best z-scored correlation (14x14, over centre-crop
    widths) with any PneumoniaMNIST train image and with any val image."""
    def m14(x):
        return x.reshape(-1, 14, 2, 14, 2).mean((2, 4)).reshape(-1, 196)
    Tz = torch.from_numpy(_z(m14(mm_train)).astype(np.float32))
    Vz = torch.from_numpy(_z(m14(mm_val)).astype(np.float32))
    n = len(raw224)
    best_t = torch.full((n,), -2.0)
    best_v = torch.full((n,), -2.0)
    idx_v = torch.zeros(n, dtype=torch.long)
    pils = [Image.fromarray(a.astype(np.uint8)) for a in raw224]
    t0 = time.time()
    for frac in np.arange(0.45, 1.0001, 0.05):
        w = int(round(224 * frac))
        x0 = (224 - w) // 2
        K = np.stack([np.asarray(p.crop((x0, 0, x0 + w, 224)).resize((14, 14), Image.BOX), np.float32).ravel()
                      for p in pils])
        Kz = torch.from_numpy(_z(K).astype(np.float32))
        ct = (Kz @ Tz.T).max(1).values
        cv, iv = (Kz @ Vz.T).max(1)
        best_t = torch.maximum(best_t, ct)
        upd = cv > best_v
        best_v[upd] = cv[upd]
        idx_v[upd] = iv[upd]
        log(f'  match crop width {frac:.2f}: {time.time() - t0:.0f}s')
    mse_t = (2 - 2 * best_t).numpy()
    mse_v = (2 - 2 * best_v).numpy()
    return mse_t, mse_v, idx_v.numpy()


def split_kermany_train(raw224, ky, mm, log):
    mse_t, mse_v, idx_v = match_kermany_to_medmnist(raw224, mm['train'][0], mm['val'][0], log)
    is_val = (mse_v * 1.5 < mse_t) & (mse_v < 0.2) & (mm['val'][1][idx_v] == ky)
    is_train = (mse_t * 1.5 < mse_v)
    info = {'kermany_train_images': int(len(ky)), 'matched_to_val': int(is_val.sum()),
            'used_for_training': int(is_train.sum()),
            'dropped_ambiguous': int(len(ky) - is_val.sum() - is_train.sum()),
            'distinct_val_images_matched': int(len(set(idx_v[is_val].tolist())))}
    return is_train, is_val, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=HERE, help='output folder (model.onnx, metrics.json)')
    ap.add_argument('--epochs', type=int, default=None)
    ap.add_argument('--no-kermany', action='store_true', help='train on PneumoniaMNIST train only')
    ap.add_argument('--widths', type=str, default=None)
    ap.add_argument('--lr', type=float, default=None)
    args = ap.parse_args()
    cfg = json.loads(json.dumps(CONFIG))
    if args.epochs:
        cfg['epochs'] = args.epochs
    if args.no_kermany:
        cfg['use_kermany_train'] = False
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
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()

    mm = load_medmnist()
    log('PneumoniaMNIST', {k: len(v[1]) for k, v in mm.items() if k != 'test'})
    kfs, kraw, k28, ky = load_kermany('train')
    log(f'kermany-224 train: {len(kfs)} images; matching to PneumoniaMNIST train/val ...')
    is_train, is_val, match_info = split_kermany_train(kraw, ky, mm, log)
    log('match', match_info)

    x_tr, y_tr = mm['train']
    sources = {'pneumoniamnist_train': int(len(y_tr))}
    if cfg['use_kermany_train']:
        x_tr = np.concatenate([x_tr, k28[is_train]])
        y_tr = np.concatenate([y_tr, ky[is_train]])
        sources['kermany224_train_area28'] = int(is_train.sum())
    vals = {'pneumoniamnist_val': mm['val'], 'kermany224_val_area28': (k28[is_val], ky[is_val])}
    x_val_all = np.concatenate([v[0] for v in vals.values()])
    y_val_all = np.concatenate([v[1] for v in vals.values()])
    log('train', sources, 'val', {k: len(v[1]) for k, v in vals.items()})

    model = Net(cfg['widths'], cfg['dropout'])
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg['lr'], weight_decay=cfg['weight_decay'])
    steps_per_epoch = int(np.ceil(len(y_tr) / cfg['batch_size']))
    total = steps_per_epoch * cfg['epochs']
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg['lr'], total_steps=total, pct_start=0.15)
    g = torch.Generator().manual_seed(SEED)
    X = torch.from_numpy(x_tr).unsqueeze(1)
    Y = torch.from_numpy(y_tr)
    best = None
    history = []
    for ep in range(cfg['epochs']):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(Y), generator=g)
        tot = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * cfg['batch_size']:(i + 1) * cfg['batch_size']]
            xb = augment(X[idx], g, cfg)
            loss = F.cross_entropy(model(normalise(xb)), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        lv = predict_logits(model, x_val_all)
        row = {'epoch': ep + 1, 'train_loss': tot / len(Y), 'val_nll': nll(lv, y_val_all, 1.0),
               'val_auc': auc(y_val_all, softmax1(lv))}
        for k, (xv, yv) in vals.items():
            l = predict_logits(model, xv)
            row[f'{k}_auc'] = auc(yv, softmax1(l))
            row[f'{k}_acc'] = float(((softmax1(l) >= 0.5) == yv).mean())
        history.append(row)
        log(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}),
            f'{time.time() - t0:.0f}s')
        # checkpoint selection on pooled val NLL (both renderings)
        if best is None or row['val_nll'] < best[0]:
            best = (row['val_nll'], ep + 1, {k: v.clone() for k, v in model.state_dict().items()})
    log(f'best epoch by pooled val NLL: {best[1]}')
    model.load_state_dict(best[2])
    model.eval()

    # ---- calibration and operating point, all on val (pooled over both renderings)
    lv = predict_logits(model, x_val_all)
    # Values are rounded to 4 decimals here, as the manifest carries them (threshold and the
    # band's lower edge rounded down, upper edge up, so the val rules still hold).
    T = round(fit_temperature(lv, y_val_all), 4)
    pv = softmax1(lv, T)
    # Review band: symmetric around the threshold in logit space; its lower edge is the
    # val operating point with sensitivity >= 0.98 (below the band <= 2% of val pneumonia).
    thr, lo, hi = operating_point(y_val_all, pv, cfg['sensitivity_target'], cfg['review_band_lower_sensitivity'])
    se, sp = sens_spec(y_val_all, pv, thr)
    val_report = {'pooled': {'n': int(len(y_val_all)), 'nll_T1': nll(lv, y_val_all, 1.0), 'nll_T': nll(lv, y_val_all, T),
                             'auc': auc(y_val_all, pv), 'sensitivity': se, 'specificity': sp,
                             'accuracy': float(((pv >= thr) == y_val_all).mean()),
                             'fraction_in_review_band': float(((pv >= lo) & (pv <= hi)).mean())}}
    for k, (xv, yv) in vals.items():
        l = predict_logits(model, xv)
        p = softmax1(l, T)
        se_k, sp_k = sens_spec(yv, p, thr)
        val_report[k] = {'n': int(len(yv)), 'auc': auc(yv, p), 'sensitivity': se_k, 'specificity': sp_k,
                         'accuracy': float(((p >= thr) == yv).mean()),
                         'accuracy_at_0.5_T1': float(((softmax1(l) >= 0.5) == yv).mean()),
                         'nll_T1': nll(l, yv, 1.0), 'nll_T': nll(l, yv, T),
                         'fraction_in_review_band': float(((p >= lo) & (p <= hi)).mean()),
                         'temperature_fitted_on_this_set_alone': fit_temperature(l, yv)}
    log('val', json.dumps(val_report, indent=1))
    log(f'temperature {T:.4f} threshold {thr:.4f} review band [{lo:.4f}, {hi:.4f}]')

    # ---- export and check the ONNX graph against torch
    onnx_path = os.path.join(args.out, 'model.onnx')
    export_onnx(model, onnx_path, (1, 1, 28, 28))
    runner = OnnxNumpy(onnx_path)
    lt = predict_logits(model, x_val_all[:256])
    lo_ = runner.run(normalise(x_val_all[:256][:, None].astype(np.float64)))
    max_diff = float(np.abs(lt - lo_).max())
    log(f'onnx (numpy reference executor) vs torch, max |logit diff| on 256 val images: {max_diff:.2e}')
    assert max_diff < 1e-4, max_diff

    metrics = {
        'model': 'pneumonia-cxr-28', 'version': '1.0.0',
        'seed': SEED, 'torch': torch.__version__, 'config': cfg, 'parameters': int(n_params),
        'onnx_bytes': os.path.getsize(onnx_path), 'onnx_vs_torch_max_abs_logit_diff': max_diff,
        'training_data': sources, 'kermany_matching': match_info,
        'selected_epoch': best[1], 'history': history,
        'calibration': {'method': 'temperature scaling, minimise NLL on pooled val', 'temperature': T},
        'operating_point': {
            'threshold': thr,
            'threshold_rule': f"largest threshold with pooled-val sensitivity >= {cfg['sensitivity_target']} "
                              '(probability of pneumonia after temperature scaling)',
            'review_band': [lo, hi],
            'review_band_rule': f"lower = largest threshold with pooled-val sensitivity >= "
                                f"{cfg['review_band_lower_sensitivity']}; upper = its mirror image around the "
                                'threshold in logit space (logit(upper) = 2 logit(threshold) - logit(lower))',
        },
        'val': val_report,
        'train_seconds': round(time.time() - t_start, 1),
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    log(f'wrote {onnx_path} and metrics.json in {time.time() - t_start:.0f}s')


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Train the breast-us-28 classifier (malignant vs benign-or-normal, 28x28 breast ultrasound).

Reproduce (Debian's python with torch 1.13, from the repository root):

    /usr/bin/python3 models/breast-us-28/train.py
    /usr/bin/python3 models/breast-us-28/evaluate.py

Data (see ../../../shared/data/README.md): BreastMNIST (MedMNIST v2, CC BY 4.0; source BUSI,
Al-Dhabyani et al., Data in Brief 2020), official train / val / test splits, 28x28 uint8.
MedMNIST's label order is 0 = malignant, 1 = normal/benign. This model's output index 1 is
**malignant** (the reported finding), index 0 benign-or-normal: y_model = 1 - y_medmnist.

The test split is NOT read here; only evaluate.py reads it, once.

Everything (width of the network among CANDIDATES, epoch, temperature, threshold, review band)
is chosen on the official val split (n=78, 21 malignant: small, so these choices are noisy).
Preprocessing is exactly the runtime's (models/MANIFEST.md): pixel/255 -> [0,1] -> (already
28x28, the area resize is the identity) -> (v - 0.5) / 0.5.
The network, augmentation, calibration and operating-point rules and the ONNX executor are the
shared ones of models/_shared (torchkit, evalkit, onnxexec).
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

# Metrics, calibration, the CNN and the ONNX executor shared by every model's scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from evalkit import auc, fit_temperature, nll, operating_point, sens_spec, softmax1  # noqa: E402
from onnxexec import OnnxNumpy  # noqa: E402
from torchkit import Net, augment, export_onnx, normalise, predict_logits  # noqa: E402

DATA = os.environ.get('MEDMNIST_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
NPZ = os.path.join(DATA, 'medmnist', 'breastmnist.npz')
SEED = 20240611
MODEL_ID = 'breast-us-28'

BASE = {
    'epochs': 60,
    'batch_size': 64,
    'lr': 2e-3,
    'weight_decay': 1e-3,
    'dropout': 0.3,
    'aug': {'rot_deg': 15.0, 'scale': [0.85, 1.15], 'aspect': [0.9, 1.1], 'translate': 0.10,
            'hflip': 0.5, 'gamma': [0.8, 1.25], 'contrast': [0.8, 1.2], 'brightness': 0.05},
    'sensitivity_target': 0.90,
    'review_band_lower_sensitivity': 0.95,
}
# Candidate networks, compared on val (best-epoch val NLL); the winner is exported.
CANDIDATES = [
    {'name': 'cnn-16-32-64', 'widths': [16, 32, 64]},
    {'name': 'cnn-32-64-128', 'widths': [32, 64, 128]},
]


# ----------------------------------------------------------------------------- data
def load_split(split):
    d = np.load(NPZ)
    x = d[f'{split}_images'].astype(np.float32) / 255.0
    y = 1 - d[f'{split}_labels'][:, 0].astype(np.int64)      # 1 = malignant
    return x, y


# ----------------------------------------------------------------------------- training
def train_one(cfg, x_tr, y_tr, x_val, y_val, log):
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    model = Net(cfg['widths'], cfg['dropout'])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg['lr'], weight_decay=cfg['weight_decay'])
    spe = int(np.ceil(len(y_tr) / cfg['batch_size']))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg['lr'], total_steps=spe * cfg['epochs'], pct_start=0.15)
    g = torch.Generator().manual_seed(SEED)
    X = torch.from_numpy(x_tr).unsqueeze(1)
    Y = torch.from_numpy(y_tr)
    best, history = None, []
    t0 = time.time()
    for ep in range(cfg['epochs']):
        model.train()
        perm = torch.randperm(len(Y), generator=g)
        tot = 0.0
        for i in range(spe):
            idx = perm[i * cfg['batch_size']:(i + 1) * cfg['batch_size']]
            loss = F.cross_entropy(model(normalise(augment(X[idx], g, cfg))), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        lv = predict_logits(model, x_val)
        row = {'epoch': ep + 1, 'train_loss': tot / len(Y), 'val_nll': nll(lv, y_val, 1.0),
               'val_auc': auc(y_val, softmax1(lv)), 'val_acc_argmax': float(((softmax1(lv) >= 0.5) == y_val).mean())}
        history.append(row)
        if (ep + 1) % 10 == 0:
            log(cfg['name'], json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}),
                f'{time.time() - t0:.0f}s')
        if best is None or row['val_nll'] < best[0]:
            best = (row['val_nll'], ep + 1, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    model.eval()
    return model, {'name': cfg['name'], 'best_val_nll': best[0], 'selected_epoch': best[1],
                   'val_auc_at_selected': history[best[1] - 1]['val_auc'],
                   'seconds': round(time.time() - t0, 1), 'history': history}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--epochs', type=int, default=None)
    args = ap.parse_args()
    base = json.loads(json.dumps(BASE))
    if args.epochs:
        base['epochs'] = args.epochs

    def log(*a):
        print(*a, flush=True)

    torch.set_num_threads(1)  # faster than 2 on the shared 2-core machine
    torch.use_deterministic_algorithms(True)
    t_start = time.time()
    x_tr, y_tr = load_split('train')
    x_val, y_val = load_split('val')
    log(f'BreastMNIST train {len(y_tr)} ({int(y_tr.sum())} malignant), val {len(y_val)} ({int(y_val.sum())} malignant)')

    runs = []
    for cand in CANDIDATES:
        cfg = {**base, **cand}
        model, info = train_one(cfg, x_tr, y_tr, x_val, y_val, log)
        log(f"{cand['name']}: best val NLL {info['best_val_nll']:.4f} at epoch {info['selected_epoch']} "
            f"(val AUC {info['val_auc_at_selected']:.4f}), {info['seconds']}s")
        runs.append((info['best_val_nll'], cfg, model, info))
    runs.sort(key=lambda r: r[0])
    _, cfg, model, info = runs[0]
    log(f"selected {cfg['name']} (lowest best-epoch val NLL)")
    n_params = sum(p.numel() for p in model.parameters())

    # ---- calibration and operating point, on val; rounded to 4 decimals as the manifest holds them
    lv = predict_logits(model, x_val)
    T = round(fit_temperature(lv, y_val), 4)
    pv = softmax1(lv, T)
    thr, lo, hi = operating_point(y_val, pv, cfg['sensitivity_target'], cfg['review_band_lower_sensitivity'])
    se, sp = sens_spec(y_val, pv, thr)
    val_report = {'n': int(len(y_val)), 'n_malignant': int(y_val.sum()),
                  'nll_T1': nll(lv, y_val, 1.0), 'nll_T': nll(lv, y_val, T), 'auc': auc(y_val, pv),
                  'sensitivity': se, 'specificity': sp, 'accuracy': float(((pv >= thr) == y_val).mean()),
                  'accuracy_at_0.5_T1': float(((softmax1(lv) >= 0.5) == y_val).mean()),
                  'fraction_in_review_band': float(((pv >= lo) & (pv <= hi)).mean())}
    log('val', json.dumps(val_report, indent=1))
    log(f'temperature {T:.4f} threshold {thr:.4f} review band [{lo:.4f}, {hi:.4f}]')

    onnx_path = os.path.join(args.out, 'model.onnx')
    export_onnx(model, onnx_path, (1, 1, 28, 28))
    runner = OnnxNumpy(onnx_path)
    max_diff = float(np.abs(predict_logits(model, x_val) - runner.run(normalise(x_val[:, None].astype(np.float64)))).max())
    log(f'onnx (numpy reference executor) vs torch, max |logit diff| on val: {max_diff:.2e}')
    assert max_diff < 1e-4, max_diff

    metrics = {
        'model': MODEL_ID, 'version': '1.0.0', 'seed': SEED, 'torch': torch.__version__,
        'label_mapping': 'output index 1 = malignant = BreastMNIST label 0; index 0 = benign or normal = BreastMNIST label 1',
        'config': cfg, 'parameters': int(n_params),
        'onnx_bytes': os.path.getsize(onnx_path), 'onnx_vs_torch_max_abs_logit_diff': max_diff,
        'training_data': {'breastmnist_train': int(len(y_tr))},
        'model_selection': [{k: v for k, v in r[3].items() if k != 'history'} for r in runs],
        'selected_epoch': info['selected_epoch'], 'history': info['history'],
        'calibration': {'method': 'temperature scaling, minimise NLL on val', 'temperature': T},
        'operating_point': {
            'threshold': thr,
            'threshold_rule': f"largest threshold with val sensitivity >= {cfg['sensitivity_target']} "
                              '(probability of malignancy after temperature scaling)',
            'review_band': [lo, hi],
            'review_band_rule': f"lower = largest threshold with val sensitivity >= {cfg['review_band_lower_sensitivity']}; "
                                'upper = its mirror image around the threshold in logit space',
        },
        'val': val_report,
        'train_seconds': round(time.time() - t_start, 1),
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    log(f'wrote {onnx_path} and metrics.json in {time.time() - t_start:.0f}s')


if __name__ == '__main__':
    main()

"""Does each classifier's shipped temperature improve calibration? Validation and test ECE with
and without it, and the test reliability table, for the model cards.

    /usr/bin/python3 models/_shared/calibration_check.py [--only pneumonia-cxr-224,...] [--out FILE.json]

For every binary classifier (pneumonia-cxr-224, pneumonia-cxr-28, breast-us-28, retina-dr-28) it
rebuilds the validation split exactly as the model's train.py does (same functions, imported from
the script), reads the official test split as its evaluate.py does, runs model.onnx with the
float64 NumPy executor (onnxexec.py), and reports for T = 1 and T = the manifest's temperature:

  * ECE10: 10 equal-width bins of the reported finding's probability p in [0, 1]
    (bin k = [k/10, (k+1)/10), the last bin closed), sum over bins of n_k/N |mean p - observed rate|;
  * ECE15 top-label: evalkit.ece, the definition metrics.json uses, for continuity;
  * NLL;
  * the 10-bin reliability table of the test split at the shipped temperature
    (count, mean predicted probability, observed rate of the finding).

Nothing is written into the model folders; the manifests, metrics.json and model.onnx are read
only. Needs numpy, PIL and torch (the train scripts import torch; pneumonia-cxr-28's validation
split matches Kermany training images to PneumoniaMNIST val with torch, ~1-2 min on CPU).
Data: ../shared/data beside the repository, or CXR_DATA_DIR / MEDMNIST_DATA_DIR.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, '..')
sys.path.insert(0, HERE)
from evalkit import ece, nll, probability  # noqa: E402
from kermany_data import area_28, jpeg_to_input, kermany_files  # noqa: E402
from onnxexec import OnnxNumpy  # noqa: E402

MEAN, STD = 0.5, 0.5


def load_script(model_id, name):
    """Imports models/<model_id>/<name>.py as a module (its main() is not run)."""
    path = os.path.join(MODELS, model_id, f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'{model_id.replace("-", "_")}_{name}', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ece10(y, p, bins=10):
    """ECE over equal-width bins of the finding's probability, and the reliability rows."""
    y = np.asarray(y, dtype=np.float64)
    k = np.minimum((p * bins).astype(int), bins - 1)
    rows, e = [], 0.0
    for b in range(bins):
        m = k == b
        n = int(m.sum())
        row = {'bin': [b / bins, (b + 1) / bins], 'count': n,
               'meanPredicted': round(float(p[m].mean()), 4) if n else None,
               'observedRate': round(float(y[m].mean()), 4) if n else None}
        if n:
            e += n / len(y) * abs(float(p[m].mean()) - float(y[m].mean()))
        rows.append(row)
    return float(e), rows


def summarise(y, logits, T):
    out = {'n': int(len(y)), 'positives': int(y.sum())}
    for name, t in (('T1', 1.0), ('shipped', T)):
        p = probability(logits, t)
        e10, _ = ece10(y, p)
        out[name] = {'temperature': t, 'ece10': round(e10, 4), 'ece15TopLabel': round(ece(y, p), 4),
                     'nll': round(nll(logits, y, t), 4)}
    out['reliabilityShipped'] = ece10(y, probability(logits, T))[1]
    out['reliabilityT1'] = ece10(y, probability(logits, 1.0))[1]
    return out


def run(runner, x, bs=64, key='logits'):
    return np.concatenate([runner.run_all(x[i:i + bs])[key] for i in range(0, len(x), bs)])


def data_dir():
    return os.environ.get('CXR_DATA_DIR', os.environ.get('MEDMNIST_DATA_DIR', os.path.join(MODELS, '..', '..', 'shared', 'data')))


def pneumonia_224(log, splits=('val', 'test')):
    tr = load_script('pneumonia-cxr-224', 'train')
    k224 = os.path.join(data_dir(), 'kermany-cxr-224')
    fs, y = kermany_files(k224, 'train')
    is_val, info = tr.patient_split(fs, y, tr.CONFIG['val_fraction_of_patients'], tr.SEED)
    vf = [f for f, v in zip(fs, is_val) if v]
    log(f'pneumonia-cxr-224: val {len(vf)} images ({info["val_normal"]} normal / {info["val_pneumonia"]} pneumonia)')
    runner = OnnxNumpy(os.path.join(MODELS, 'pneumonia-cxr-224', 'model.onnx'))
    xv = np.stack([jpeg_to_input(f) for f in vf])
    out = {'val': (y[is_val], run(runner, xv, 16), 'Kermany train, patient-disjoint 10% val split of train.py (seed 20240601)')}
    if 'test' in splits:
        tf, ty = kermany_files(k224, 'test')
        xt = np.stack([jpeg_to_input(f) for f in tf])
        out['test'] = (ty, run(runner, xt, 16), 'Kermany ChestXRay2017 test, whole image 224x224')
    return out


def pneumonia_28(log, splits=('val', 'test', 'testBenchmark')):
    tr = load_script('pneumonia-cxr-28', 'train')
    mm = tr.load_medmnist()
    kfs, kraw, k28, ky = tr.load_kermany('train')
    _, is_val, info = tr.split_kermany_train(kraw, ky, mm, log)
    log(f'pneumonia-cxr-28: Kermany train images matched to PneumoniaMNIST val: {info["matched_to_val"]}')
    xv = np.concatenate([mm['val'][0], k28[is_val]]).astype(np.float64)
    yv = np.concatenate([mm['val'][1], ky[is_val]])
    runner = OnnxNumpy(os.path.join(MODELS, 'pneumonia-cxr-28', 'model.onnx'))
    lv = run(runner, ((xv - MEAN) / STD)[:, None], 256)
    val = (yv, lv, 'pooled val of train.py: PneumoniaMNIST val (524) + Kermany train images matched to it, area 28x28')
    if 'test' not in splits:
        return {'val': val}
    tfs, ty = kermany_files(os.path.join(data_dir(), 'kermany-cxr-224'), 'test')
    xt = np.stack([area_28(tr.load_gray_224(f)) for f in tfs])
    lt = run(runner, ((xt - MEAN) / STD)[:, None], 256)
    xb, yb = mm['test']
    lb = run(runner, ((xb.astype(np.float64) - MEAN) / STD)[:, None], 256)
    return {'val': val,
            'test': (ty, lt, 'Kermany ChestXRay2017 test, whole image area-averaged to 28x28 (the manifest metrics)'),
            'testBenchmark': (yb, lb, 'PneumoniaMNIST test (the manifest metrics.benchmark)')}


def breast_28(log, splits=('val', 'test')):
    tr = load_script('breast-us-28', 'train')
    runner = OnnxNumpy(os.path.join(MODELS, 'breast-us-28', 'model.onnx'))
    out = {}
    for split in splits:
        x, y = tr.load_split(split)
        out[split] = (y, run(runner, ((x.astype(np.float64) - MEAN) / STD)[:, None], 256), f'BreastMNIST {split}, positive = malignant')
    return out


def retina_28(log, splits=('val', 'test')):
    tr = load_script('retina-dr-28', 'train')
    runner = OnnxNumpy(os.path.join(MODELS, 'retina-dr-28', 'model.onnx'))
    out = {}
    for split in splits:
        x, grade = tr.load_split(split)
        y = (grade >= tr.REFERABLE_FROM_GRADE).astype(np.int64)
        out[split] = (y, run(runner, (x.astype(np.float64) - MEAN) / STD, 256), f'RetinaMNIST {split}, positive = grade >= 2')
    return out


BUILDERS = {'pneumonia-cxr-224': pneumonia_224, 'pneumonia-cxr-28': pneumonia_28,
            'breast-us-28': breast_28, 'retina-dr-28': retina_28}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default=','.join(BUILDERS))
    ap.add_argument('--out', default=None)
    args = ap.parse_args()

    def log(*a):
        print(*a, file=sys.stderr, flush=True)
    result = {'method': {'executor': 'model.onnx via the float64 NumPy ONNX executor (models/_shared/onnxexec.py)',
                         'ece10': '10 equal-width bins of the reported finding probability p in [0,1]; '
                                  'sum of n_k/N |mean p - observed rate|',
                         'ece15TopLabel': 'evalkit.ece: top-label confidence, 15 equal-width bins (metrics.json)'}}
    for model_id in args.only.split(','):
        manifest = json.load(open(os.path.join(MODELS, model_id, 'manifest.json')))
        T = float(manifest['output']['temperature'])
        sets = BUILDERS[model_id](log)
        result[model_id] = {'temperature': T, **{k: {'dataset': d, **summarise(np.asarray(y), lg, T)} for k, (y, lg, d) in sets.items()}}
        r = result[model_id]
        log(model_id, 'T', T, {k: (r[k]['T1']['ece10'], r[k]['shipped']['ece10']) for k in sets})
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    print(text)


if __name__ == '__main__':
    main()

"""Out-of-distribution ("unfamiliar image") check for the classifiers: adds a `features` output to
each model.onnx and fits a Mahalanobis distance on it, written to models/<id>/ood.json.

    python3 -m venv /tmp/oodvenv && /tmp/oodvenv/bin/pip install numpy scikit-learn onnx onnxruntime pillow
    /tmp/oodvenv/bin/python models/_shared/ood_fit.py [--only id,id] [--data DIR]

Per classifier (pneumonia-cxr-224, pneumonia-cxr-28, breast-us-28, retina-dr-28):

1. Graph edit, not a re-export: the input of the final linear layer (the global average pool of
   the last convolution block, flattened) is made a second graph output `features` through an
   Identity node. Nothing on the path to `logits` changes; the script checks that the edited
   graph's logits equal the shipped graph's on the whole test split (onnxruntime, CPU).
2. Fit on the TRAIN split only (the images the classifier was trained on, fed as the service
   feeds them): one mean per class of the model's `logits` output and one shared covariance of
   the class-centred features, Ledoit-Wolf shrinkage (scikit-learn). The distance of an image is
   the smallest over the classes of sqrt((f - mean_c)' P (f - mean_c)), P the shrunk precision.
   No PCA: the features have 64 (28x28 models) or 128 (224x224 model) dimensions, so the
   precision matrix ships whole (a few hundred kB of JSON).
3. Threshold on the VALIDATION split: the 95th percentile of the validation images' distances
   (so about 1 in 20 familiar images is flagged by design). The 95th rather than the 99th
   because the smallest validation split (BreastMNIST, 78 images) has about 4 images above its
   95th percentile but fewer than 1 above its 99th: the 99th would be the single largest value.
   A flagged image is still analysed; the card asks for review, so a false alarm costs a review.
4. ood.json also carries `check`: distances this script computes, from the stored (rounded)
   numbers, for the first test images, so the TypeScript runtime can be checked against it
   (`npm run eval:ood` prints the agreement).

The test split is read only for the logits check and the `check` values, never to choose
anything. AUROCs against other kinds of images are measured through the service's TypeScript
path by `npm run eval:ood` (tools/eval/ood.ts), which writes models/<id>/ood-metrics.json.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper
from PIL import Image
from sklearn.covariance import LedoitWolf

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kermany_data import area_28, grey_bt601, kermany_files  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
MODELS = os.path.join(ROOT, 'models')
FEATURES = 'features'
PERCENTILE = 95.0
CHECK_N = 5
SEED_224 = 20240601  # pneumonia-cxr-224/train.py's seed: its patient split is re-derived below


# ----------------------------------------------------------------------------- graph edit
def add_features_output(model):
    """Returns (edited model, feature dimension): the input of the single Gemm (the final linear
    layer) becomes graph output `features`, via an Identity node. Idempotent."""
    g = model.graph
    gemms = [n for n in g.node if n.op_type == 'Gemm']
    if len(gemms) != 1:
        raise SystemExit(f'expected exactly one Gemm (the final linear layer), found {len(gemms)}')
    gemm = gemms[0]
    weight = next(t for t in g.initializer if t.name == gemm.input[1])
    trans_b = next((a.i for a in gemm.attribute if a.name == 'transB'), 0)
    dim = int(weight.dims[1] if trans_b else weight.dims[0])
    if any(o.name == FEATURES for o in g.output):
        return model, dim
    g.node.append(helper.make_node('Identity', [gemm.input[0]], [FEATURES], name='features_output'))
    batch = g.output[0].type.tensor_type.shape.dim[0]
    batch_dim = batch.dim_param if batch.dim_param else batch.dim_value
    g.output.append(helper.make_tensor_value_info(FEATURES, onnx.TensorProto.FLOAT, [batch_dim, dim]))
    onnx.checker.check_model(model)
    return model, dim


def session(model_bytes):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes, so, providers=['CPUExecutionProvider'])


def run(sess, x, names, bs=64):
    outs = [[] for _ in names]
    for i in range(0, len(x), bs):
        r = sess.run(names, {'image': np.ascontiguousarray(x[i:i + bs], dtype=np.float32)})
        for k, v in enumerate(r):
            outs[k].append(v)
    return [np.concatenate(o) for o in outs]


# ----------------------------------------------------------------------------- data
def norm(v):
    """[0,1] values -> model input, (v - 0.5) / 0.5 (every classifier's manifest)."""
    return ((v - 0.5) / 0.5).astype(np.float32)


def medmnist(data, name, split):
    d = np.load(os.path.join(data, 'medmnist', f'{name}.npz'))
    x = d[f'{split}_images'].astype(np.float64) / 255.0
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    return norm(x), d[f'{split}_labels'][:, 0].astype(np.int64)


def patient_key_224(path):
    import re
    n = os.path.basename(path)
    m = re.match(r'^(person\d+)_(?:bacteria|virus)_', n) or re.match(r'^((?:NORMAL2-)?IM-\d{4})-', n)
    if not m:
        raise ValueError(f'no patient key rule for {n}')
    return m.group(1)


def patient_split_224(files, labels, frac=0.10, seed=SEED_224):
    """pneumonia-cxr-224/train.py's validation split, re-derived with the same rule and seed."""
    keys = [patient_key_224(f) for f in files]
    rng = np.random.default_rng(seed)
    val_keys = set()
    for c in (0, 1):
        ks = sorted({k for k, y in zip(keys, labels) if y == c})
        perm = rng.permutation(len(ks))
        val_keys.update(ks[i] for i in perm[:int(round(frac * len(ks)))])
    return np.array([k in val_keys for k in keys])


def _z(x):
    x = x - x.mean(1, keepdims=True)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def kermany_split_28(raw224, ky, mm_train, mm_val):
    """pneumonia-cxr-28/train.py's assignment of the Kermany training images to its train / val
    (matching each image to PneumoniaMNIST train and val images), re-derived in NumPy."""
    def m14(x):
        return x.reshape(-1, 14, 2, 14, 2).mean((2, 4)).reshape(-1, 196)
    tz = _z(m14(mm_train)).astype(np.float32)
    vz = _z(m14(mm_val[0])).astype(np.float32)
    n = len(raw224)
    best_t = np.full(n, -2.0, np.float32)
    best_v = np.full(n, -2.0, np.float32)
    idx_v = np.zeros(n, np.int64)
    pils = [Image.fromarray(a.astype(np.uint8)) for a in raw224]
    for frac in np.arange(0.45, 1.0001, 0.05):
        w = int(round(224 * frac))
        x0 = (224 - w) // 2
        k = np.stack([np.asarray(p.crop((x0, 0, x0 + w, 224)).resize((14, 14), Image.BOX), np.float32).ravel() for p in pils])
        kz = _z(k).astype(np.float32)
        ct = (kz @ tz.T).max(1)
        sv = kz @ vz.T
        cv, iv = sv.max(1), sv.argmax(1)
        best_t = np.maximum(best_t, ct)
        upd = cv > best_v
        best_v[upd] = cv[upd]
        idx_v[upd] = iv[upd]
    mse_t, mse_v = 2 - 2 * best_t, 2 - 2 * best_v
    is_val = (mse_v * 1.5 < mse_t) & (mse_v < 0.2) & (mm_val[1][idx_v] == ky)
    is_train = mse_t * 1.5 < mse_v
    return is_train, is_val


def data_for(model_id, data):
    """(train x, train y, val x, val y, test x, test y, description) as the service feeds them."""
    if model_id == 'pneumonia-cxr-224':
        root = os.path.join(data, 'kermany-cxr-224')
        fs, y = kermany_files(root, 'train')
        is_val = patient_split_224(fs, y)
        x = np.stack([norm(grey_bt601(f))[None] for f in fs])
        tfs, ty = kermany_files(root, 'test')
        tx = np.stack([norm(grey_bt601(f))[None] for f in tfs])
        desc = {'train': f'kermany-cxr-224/train, pneumonia-cxr-224\'s training patients (n={int((~is_val).sum())})',
                'val': f'kermany-cxr-224/train, its validation patients (10% of patients per class, seed {SEED_224}; n={int(is_val.sum())})',
                'test': f'kermany-cxr-224/test (n={len(ty)})',
                'rendering': 'whole 224x224 JPEG, BT.601 grey of RGB/255, (v - 0.5) / 0.5'}
        return x[~is_val], y[~is_val], x[is_val], y[is_val], tx, ty, desc
    if model_id == 'pneumonia-cxr-28':
        mtx, mty = medmnist(data, 'pneumoniamnist', 'train')
        d = np.load(os.path.join(data, 'medmnist', 'pneumoniamnist.npz'))
        mm_train = d['train_images'].astype(np.float32) / 255.0
        mm_val = (d['val_images'].astype(np.float32) / 255.0, d['val_labels'][:, 0].astype(np.int64))
        root = os.path.join(data, 'kermany-cxr-224')
        fs, ky = kermany_files(root, 'train')
        raw = [np.asarray(Image.open(f).convert('L'), dtype=np.float64) for f in fs]
        is_train, is_val = kermany_split_28(raw, ky, mm_train, mm_val)
        k28 = np.stack([norm(area_28(a))[None] for a in raw])
        x = np.concatenate([mtx, k28[is_train]])
        y = np.concatenate([mty, ky[is_train]])
        tfs, ty = kermany_files(root, 'test')
        tx = np.stack([norm(area_28(np.asarray(Image.open(f).convert('L'), dtype=np.float64)))[None] for f in tfs])
        desc = {'train': f'PneumoniaMNIST train (n={len(mty)}) and the Kermany training JPEGs pneumonia-cxr-28 trained on, area-averaged to 28x28 (n={int(is_train.sum())})',
                'val': f'the Kermany training JPEGs matched to PneumoniaMNIST val, area-averaged to 28x28 as the service renders them (n={int(is_val.sum())})',
                'test': f'kermany-cxr-224/test, grey, area-averaged to 28x28 (n={len(ty)})',
                'rendering': 'PIL 8-bit grey / 255, 8x8 block mean to 28x28, (v - 0.5) / 0.5 (PneumoniaMNIST: its own 28x28 pixels / 255)'}
        return x, y, k28[is_val], ky[is_val], tx, ty, desc
    name, positive = {'breast-us-28': ('breastmnist', None), 'retina-dr-28': ('retinamnist', 2)}[model_id]
    xs = {s: medmnist(data, name, s) for s in ('train', 'val', 'test')}

    def lab(y):
        # the model's `logits` classes: breast 0 malignant / 1 benign-normal; retina referable = grade >= 2
        return y if positive is None else (y >= positive).astype(np.int64)
    desc = {s: f'{name}.npz {s} split (n={len(xs[s][1])})' for s in xs}
    desc['rendering'] = '28x28 pixels / 255, (v - 0.5) / 0.5'
    return xs['train'][0], lab(xs['train'][1]), xs['val'][0], lab(xs['val'][1]), xs['test'][0], lab(xs['test'][1]), desc


# ----------------------------------------------------------------------------- distance
def r8(a):
    """Rounded to 8 significant digits, as stored (the runtime uses the stored numbers)."""
    return np.array([float(f'{v:.8g}') for v in np.asarray(a, dtype=np.float64).ravel()]).reshape(np.shape(a))


def distances(f, means, precision):
    f = f.astype(np.float64)
    d2 = np.stack([np.einsum('ij,jk,ik->i', f - m, precision, f - m) for m in means], 1)
    return np.sqrt(np.maximum(d2.min(1), 0.0))


def fit(model_id, data, write=True):
    t0 = time.time()
    folder = os.path.join(MODELS, model_id)
    path = os.path.join(folder, 'model.onnx')
    original = onnx.load(path)
    original_bytes = original.SerializeToString()
    manifest = json.load(open(os.path.join(folder, 'manifest.json')))
    labels = sorted(manifest['output']['labels'], key=lambda l: l['index'])
    edited, dim = add_features_output(onnx.load(path))
    edited_bytes = edited.SerializeToString()

    xtr, ytr, xva, yva, xte, yte, desc = data_for(model_id, data)
    s_new = session(edited_bytes)
    ftr, = run(s_new, xtr, [FEATURES])
    fva, = run(s_new, xva, [FEATURES])
    lte_new, fte = run(s_new, xte, ['logits', FEATURES])
    lte_old, = run(session(original_bytes), xte, ['logits'])
    logit_diff = float(np.abs(lte_new - lte_old).max())
    if logit_diff > 1e-6:
        raise SystemExit(f'{model_id}: logits changed by {logit_diff}')

    classes = sorted(set(ytr.tolist()))
    means = np.stack([ftr[ytr == c].mean(0) for c in classes]).astype(np.float64)
    centred = ftr.astype(np.float64) - means[np.searchsorted(classes, ytr)]
    lw = LedoitWolf(assume_centered=True).fit(centred)
    means_s, precision_s = r8(means), r8((lw.precision_ + lw.precision_.T) / 2)
    dtr = distances(ftr, means_s, precision_s)
    dva = distances(fva, means_s, precision_s)
    dte = distances(fte, means_s, precision_s)
    threshold = float(f'{np.percentile(dva, PERCENTILE):.6g}')
    pct = {str(p): round(float(np.percentile(dva, p)), 4) for p in (50, 90, 95, 99)}
    spec = {
        'schemaVersion': 1,
        'method': 'mahalanobis',
        'output': FEATURES,
        'featureDimension': dim,
        'layer': 'the input of the final linear layer: global average pool of the last convolution block (after ReLU), flattened',
        'distance': 'min over classes c of sqrt((f - mean_c)^T precision (f - mean_c)); flagged when distance > threshold',
        'classes': [{'key': labels[c]['key'], 'n': int((ytr == c).sum()), 'mean': means_s[i].tolist()} for i, c in enumerate(classes)],
        'precision': precision_s.tolist(),
        'threshold': threshold,
        'thresholdRule': f'{PERCENTILE:g}th percentile of the validation split\'s distances',
        'fit': {
            'train': desc['train'],
            'validation': desc['val'],
            'rendering': desc['rendering'],
            'covariance': f'shared covariance of the class-centred train features, Ledoit-Wolf shrinkage {lw.shrinkage_:.4f} (scikit-learn), precision = its inverse',
            'validationDistancePercentiles': pct,
            'validationFlagged': round(float((dva > threshold).mean()), 4),
            'trainDistanceMedian': round(float(np.median(dtr)), 4),
            'logitsUnchanged': f'edited graph vs shipped graph, {desc["test"]}: max |logit difference| {logit_diff:.1e} (onnxruntime {ort.__version__}, CPU)',
            'made': 'models/_shared/ood_fit.py on a 2-core Intel Xeon VM (CPU)',
        },
        'check': {'testSet': desc['test'], 'distances': [round(float(v), 6) for v in dte[:CHECK_N]],
                  'flaggedShare': round(float((dte > threshold).mean()), 4)},
    }
    if write:
        onnx.save(edited, path)
        with open(os.path.join(folder, 'ood.json'), 'w') as fh:
            json.dump(spec, fh, separators=(',', ':'))
            fh.write('\n')
    size = len(json.dumps(spec, separators=(',', ':')))
    print(f'{model_id}: dim {dim}, train {len(ytr)}, val {len(yva)}, test {len(yte)}; shrinkage {lw.shrinkage_:.4f}; '
          f'val percentiles {pct}; threshold {threshold}; test flagged {float((dte > threshold).mean()):.4f}; '
          f'max|dlogit| {logit_diff:.1e}; ood.json {size / 1024:.0f} kB; {time.time() - t0:.0f}s', flush=True)
    return spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='pneumonia-cxr-224,pneumonia-cxr-28,breast-us-28,retina-dr-28')
    ap.add_argument('--data', default=os.environ.get('IMAGING_CDS_DATA', os.path.join(ROOT, '..', 'shared', 'data')))
    ap.add_argument('--no-write', action='store_true')
    a = ap.parse_args()
    for m in a.only.split(','):
        fit(m.strip(), a.data, write=not a.no_write)


if __name__ == '__main__':
    main()

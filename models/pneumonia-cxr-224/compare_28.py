#!/usr/bin/python3
"""Post-hoc paired comparison with pneumonia-cxr-28 on the same 624 Kermany test images.

    /usr/bin/python3 models/pneumonia-cxr-224/compare_28.py      # after evaluate.py

Nothing here feeds back into this model: temperature, threshold and band were fixed on val
before the test split was read, and evaluate.py has already written the test metrics. This
script only re-runs both shipped ONNX graphs on the test images, each fed the way the service
feeds it, and adds a paired bootstrap of the differences to metrics.json (`comparison_28`):
  * pneumonia-cxr-224: float BT.601 grey of the 224x224 JPEG, (v-0.5)/0.5.
  * pneumonia-cxr-28: exactly as models/pneumonia-cxr-28/evaluate.py computes its service-path
    number: PIL convert('L'), /255, exact 8x8 block mean to 28x28, (v-0.5)/0.5 (its model.onnx
    and manifest.json are read as data files).
Both input paths, the ONNX executor (float64, im2col convolution for both graphs) and the
metrics come from models/_shared (kermany_data, onnxexec, evalkit).
Paired bootstrap: 2000 case resamples (the same cases for both models), seed 12345, percentile.
"""
import json
import os
import sys

import numpy as np
from PIL import Image

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from evalkit import point_metrics, probability  # noqa: E402
from kermany_data import gray224_to_input, jpeg_to_input, kermany_files  # noqa: E402
from onnxexec import OnnxNumpy, run_batched  # noqa: E402

DATA = os.environ.get('CXR_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
M28 = os.path.join(HERE, '..', 'pneumonia-cxr-28')


def input_28(path):
    return gray224_to_input(np.asarray(Image.open(path).convert('L')))


def main():
    with open(os.path.join(HERE, 'metrics.json')) as f:
        metrics = json.load(f)
    if 'test' not in metrics:
        print('run evaluate.py first', file=sys.stderr)
        return 1
    with open(os.path.join(M28, 'manifest.json')) as f:
        man28 = json.load(f)
    T28 = float(man28['output']['temperature'])
    thr28 = float(man28['output']['labels'][1]['threshold'])
    T = float(metrics['calibration']['temperature'])
    thr = float(metrics['operating_point']['threshold'])

    fs, y = kermany_files(os.path.join(DATA, 'kermany-cxr-224'), 'test')
    run224 = OnnxNumpy(os.path.join(HERE, 'model.onnx'), conv='im2col')
    run28 = OnnxNumpy(os.path.join(M28, 'model.onnx'), conv='im2col')
    p224 = probability(run_batched(run224, np.stack([jpeg_to_input(f) for f in fs]), 16), T)
    p28 = probability(run_batched(run28, np.stack([input_28(f) for f in fs]), 128), T28)
    m224, m28 = point_metrics(y, p224, thr), point_metrics(y, p28, thr28)
    assert abs(m224['auc'] - metrics['test']['kermany224_test']['auc']) < 1e-4

    rng = np.random.default_rng(12345)
    keys = ['auc', 'accuracy', 'sensitivity', 'specificity']
    d = {k: [] for k in keys}
    N = len(y)
    for _ in range(2000):
        i = rng.integers(0, N, N)
        a, b = point_metrics(y[i], p224[i], thr), point_metrics(y[i], p28[i], thr28)
        for k in keys:
            d[k].append(a[k] - b[k])
    out = {
        'note': 'post hoc, after evaluate.py; changes nothing in this model',
        'pneumonia_cxr_28': {'temperature': T28, 'threshold': thr28, **{k: round(v, 4) for k, v in m28.items()}},
        'pneumonia_cxr_224': {'temperature': T, 'threshold': thr, **{k: round(v, 4) for k, v in m224.items()}},
        'difference_224_minus_28': {k: round(m224[k] - m28[k], 4) for k in keys},
        'difference95_paired_bootstrap': {k: [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
                                          for k, v in d.items()},
        'fraction_bootstrap_auc_224_gt_28': round(float(np.mean(np.array(d['auc']) > 0)), 4),
    }
    print(json.dumps(out, indent=1))
    metrics['comparison_28'] = out
    with open(os.path.join(HERE, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())

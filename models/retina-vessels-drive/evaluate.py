#!/usr/bin/python3
"""Evaluate model.onnx on the 20 DRIVE test images ONCE; write the test metrics + manifest.json.

Reproduce (Debian's python with torch 1.13, from the repository root; train.py first):

    /usr/bin/python3 models/retina-vessels-drive/train.py
    /usr/bin/python3 models/retina-vessels-drive/evaluate.py

Reads the shipped model.onnx (the file the service runs) and executes it with the NumPy ONNX
executor of models/_shared/onnxexec.py in float32 (`OnnxNumpy`, one matmul per kernel offset;
onnxruntime's Python package is not part of the toolchain). train.py checks this executor
against torch, and against onnxruntime-node when node is available, at export time. Temperature, threshold, normalisation and the field-of-view
intensity come from metrics.json (written by train.py, all chosen on the training/validation
images). Refuses to run a second time (the `test` section already exists) unless --force.

Test data: DRIVE `testing/` (images 01-20), 565x584, fed exactly as the runtime does it:
RGB 8-bit / 255 -> (v - mean[c]) / std[c] (no resize needed). Every number is computed only over
the pixels inside each image's DRIVE field-of-view (FOV) mask, against the FIRST observer
(`1st_manual`):
  * auc: pixel-level ROC AUC pooled over all FOV pixels of the 20 images, exact (Mann-Whitney,
    ties counted 1/2), on the logits (the same ranking as sigmoid(logit / T));
  * dice (= F1), accuracy, sensitivity, specificity at the shipped threshold
    (sigmoid(logit / T) >= threshold -> vessel), pooled over all FOV pixels;
  * diceMeanPerImage: the mean of the 20 per-image Dice values;
  * *95: percentile 95% CIs from 2,000 bootstrap resamples of the 20 IMAGES (with replacement,
    pixels of a drawn image pooled; seed 12345). The AUC of a resample is computed exactly from a
    20x20 matrix of pairwise (positive in image i, negative in image j) Mann-Whitney counts;
  * ece: expected calibration error, 15 equal-width bins over the top-label confidence
    max(p, 1 - p) of the pooled FOV pixels (Guo et al. 2017), at T = 1 and at the shipped T;
  * secondObserver: `2nd_manual` scored against `1st_manual` on the same FOV pixels (pooled).
The DRIVE reader and the pixel metrics are models/_shared/drive_data.py and segkit.py.
manifest.json: the input, output, templates and metrics sections are rewritten, every other key is kept
(models/_shared/manifestio.py).
"""
import argparse
import json
import os
import sys

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')

import numpy as np  # noqa: E402

# Metrics, the DRIVE reader and the ONNX executor shared by every model's scripts (see each module).
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
from drive_data import HEIGHT, WIDTH, fov_estimate, iou, load_case, to_input  # noqa: E402
from evalkit import auc  # noqa: E402
from manifestio import write_manifest  # noqa: E402
from onnxexec import OnnxNumpy  # noqa: E402
from segkit import bootstrap_images, counts, from_counts, pairwise_mw, pixel_ece, sigmoid  # noqa: E402

DATA = os.environ.get('DRIVE_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data', 'drive'))
BOOT_N, BOOT_SEED = 2000, 12345
ECE_BINS = 15
CODE_SYSTEM = 'http://imaging-cds.org/fhir/CodeSystem/imaging-cds'   # fhir-resources/CodeSystem-imaging-cds.json


# ----------------------------------------------------------------------------- main
MANIFEST_TEMPLATE = {
    'schemaVersion': 1,
    'id': 'retina-vessels-drive',
    'version': '1.0.0',
    'name': 'Retinal vessel segmentation, colour fundus photograph, 565x584',
    'manufacturer': 'imaging-cds project',
    'task': 'segmentation',
    'file': 'model.onnx',
    'intendedUse': 'Research decision support: outlines the retinal blood vessels on a colour fundus photograph and '
                   'measures vessel density in the field of view. Preliminary AI output, not for clinical use.',
    'accepts': {'modalities': ['OP'], 'bodyParts': ['EYE']},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--force', action='store_true', help='re-run although metrics.json already has a test section')
    args = ap.parse_args()
    metrics_path = os.path.join(HERE, 'metrics.json')
    with open(metrics_path) as f:
        metrics = json.load(f)
    if 'test' in metrics and not args.force:
        print('metrics.json already has test results; the test set is evaluated once (use --force to redo).')
        return 1
    mean, std = metrics['normalization']['mean'], metrics['normalization']['std']
    T = float(metrics['calibration']['temperature'])
    thr = float(metrics['operating_point']['threshold'])
    min_int = float(metrics['fieldOfView']['minIntensity'])

    runner = OnnxNumpy(os.path.join(HERE, 'model.onnx'), dtype=np.float32, conv='shifted')
    ids = list(range(1, 21))
    logits, y1, y2, fov_ious = [], [], [], []
    fov_inter = fov_union = 0
    for idx in ids:
        c = load_case(DATA, 'testing', idx)
        z = runner.run(to_input(c['rgb'], mean, std)[None])[0, 0]
        if z.shape != (HEIGHT, WIDTH):
            raise ValueError(f'output shape {z.shape}')
        f = c['fov']
        logits.append(z[f].astype(np.float32))
        y1.append(c['manual1'][f])
        y2.append(c['manual2'][f])
        est = fov_estimate(c['rgb'], min_int)
        fov_ious.append(iou(est, f))
        fov_inter += int((est & f).sum())
        fov_union += int((est | f).sum())
        print(f'test {idx:02d}: FOV pixels {int(f.sum())}, vessel fraction {y1[-1].mean():.4f}, '
              f'predicted {float((sigmoid(logits[-1] / T) >= thr).mean()):.4f}', flush=True)

    probs = [sigmoid(z / T) for z in logits]
    probs1 = [sigmoid(z) for z in logits]
    Z, Y1, Y2 = np.concatenate(logits), np.concatenate(y1), np.concatenate(y2)
    Pp, P1 = np.concatenate(probs), np.concatenate(probs1)
    per_img = np.stack([counts(y, p >= thr) for y, p in zip(y1, probs)])
    pooled = from_counts(per_img.sum(0))
    C, Pn, Nn = pairwise_mw(logits, y1)
    a_pair = float(C.sum() / (Pn.sum() * Nn.sum()))
    a_rank = auc(Y1, Z)
    assert abs(a_pair - a_rank) < 1e-9, (a_pair, a_rank)
    ci = bootstrap_images(C, Pn, Nn, per_img, BOOT_N, BOOT_SEED)
    second = from_counts(counts(Y1, Y2))
    r4 = lambda v: round(float(v), 4)  # noqa: E731
    test = {
        'auc': r4(a_rank), 'auc95': [r4(v) for v in ci['auc95']],
        'dice': r4(pooled['dice']), 'dice95': [r4(v) for v in ci['dice95']],
        'accuracy': r4(pooled['accuracy']), 'accuracy95': [r4(v) for v in ci['accuracy95']],
        'sensitivity': r4(pooled['sensitivity']), 'sensitivity95': [r4(v) for v in ci['sensitivity95']],
        'specificity': r4(pooled['specificity']), 'specificity95': [r4(v) for v in ci['specificity95']],
        'diceMeanPerImage': r4(np.mean([from_counts(c)['dice'] for c in per_img])),
        'ece': {'beforeTemperature': r4(pixel_ece(Y1, P1, ECE_BINS)), 'afterTemperature': r4(pixel_ece(Y1, Pp, ECE_BINS))},
        'secondObserver': {k: r4(v) for k, v in second.items()},
    }
    print('DRIVE test (20 images, first observer, inside FOV):', json.dumps(test, indent=1), flush=True)
    fov_test = {'pooledIoU': r4(fov_inter / fov_union), 'meanIoU': r4(np.mean(fov_ious)), 'minIoU': r4(np.min(fov_ious))}
    print('field-of-view estimate vs DRIVE test masks:', fov_test)

    metrics['test'] = test
    metrics['test_protocol'] = {
        'note': 'evaluated on DRIVE testing/ (images 01-20) after every choice was fixed on training/validation; run twice: the first run misread the 2nd_manual palette GIFs (second observer all-negative), the reader was fixed and the run repeated with --force; the model numbers of both runs are identical (see MODEL_CARD.md)',
        'executor': 'model.onnx via the float32 NumPy ONNX executor of models/_shared/onnxexec.py',
        'pixels': 'inside each image\'s DRIVE FOV mask only; reference = 1st_manual; pooled over the 20 images',
        'fov_pixels': int(len(Y1)), 'vessel_pixels_first_observer': int(Y1.sum()),
        'auc': 'exact Mann-Whitney with average ranks for ties, on the logits',
        'threshold_rule': 'sigmoid(logit / temperature) >= threshold -> vessel',
        'bootstrap': f'{BOOT_N} resamples of the 20 images with replacement, percentile 95% CI, seed {BOOT_SEED}',
        'ece': f'top-label ECE, {ECE_BINS} equal-width confidence bins, pooled FOV pixels',
        'per_image_dice': {f'{i:02d}': r4(from_counts(c)['dice']) for i, c in zip(ids, per_img)},
    }
    metrics['fieldOfView']['test'] = fov_test
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)
        f.write('\n')

    computed = {}
    computed['input'] = {'name': 'image', 'width': WIDTH, 'height': HEIGHT, 'channels': 3,
                         'windowing': {'kind': 'dicom'}, 'resize': 'area',
                         'normalization': {'mean': mean, 'std': std}}
    computed['output'] = {
        'name': 'logits', 'activation': 'sigmoid', 'temperature': T,
        'classes': [{'index': 0, 'key': 'vessel', 'display': 'Retinal blood vessels',
                     'codes': [{'system': CODE_SYSTEM, 'code': 'retinal-vessels', 'display': 'Retinal blood vessels'}],
                     'threshold': thr}],
        'fieldOfView': {'minIntensity': min_int},
    }
    computed['templates'] = {'card': 'segmentation-card', 'report': 'segmentation-report'}
    computed['metrics'] = {
        'dataset': 'DRIVE test set (20 images), first observer, inside the field-of-view masks',
        'auc': test['auc'], 'auc95': test['auc95'], 'dice': test['dice'], 'dice95': test['dice95'],
        'accuracy': test['accuracy'], 'sensitivity': test['sensitivity'], 'specificity': test['specificity'],
        'secondObserver': test['secondObserver'],
    }
    write_manifest(os.path.join(HERE, 'manifest.json'), MANIFEST_TEMPLATE, computed)
    print('wrote metrics.json (test section) and manifest.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""Evaluate cardiac-mri-sax-seg (model.onnx, made by train.py) on ACDC `val` (10 patients); write the
`val` section of metrics.json and manifest.json (models/_shared/manifestio.py keeps hand-kept keys).

    /tmp/acdcvenv/bin/python models/cardiac-mri-sax-seg/evaluate.py

`val` is small (10 patients) and is also the split every choice was made on (architecture size,
epochs, checkpoint, decision rule, post-processing): its numbers are optimistic and are not an
official test set. The 20 held-back patients of the source's test.list are not in shared/data.

The model is run with onnxruntime (CPU), fed exactly as the service feeds it (see acdc_data.py):
per-slice min-max, area resize to 128 x 128 (aspect not kept), (v - mean) / std; output
sigmoid(logits) = softmax probability of RV cavity, LV myocardium, LV cavity.

Decision rules compared (choice on val, highest mean Dice over patients, frames and structures):
  * `threshold`: class c where p_c >= 0.5 (what the service does with the manifest's thresholds;
    as the p_c sum to <= 1, at most one class reaches 0.5);
  * `argmax`: the class of highest probability among background (1 - sum p) and the three;
  * either one + `lcc2d`: per slice and class, only the largest 8-connected component is kept;
  * either one + `lcc3d`: per volume and class, the largest 26-connected component.
Masks are made at the original slice size: probabilities upsampled bilinearly (half-pixel
centres) from 128 x 128 to H x W, then the rule. Dice is 3-D per patient and frame.
Model-space volumes (pixel counts at 128 x 128, what the service would count) are reported too.

EF = 100 (EDV - ESV) / EDV from LV-cavity voxel counts (spacing-free: the voxel volume cancels;
volumes in mL cannot be checked on this copy, which has no voxel spacing). Compared with `lv_ef`
of acdc_index.csv and with EF from the ground-truth labels: MAE, bias (mean of predicted -
reference), SD of the differences, Bland-Altman 95% limits of agreement (bias +/- 1.96 SD),
Pearson r. Only aggregates are written (no per-patient values: ACDC is research use only).
"""
import json
import os
import sys

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '_shared'))
import acdc_data as A  # noqa: E402
from manifestio import write_manifest  # noqa: E402

SIZE = 128
STRUCT = {1: 'rv_cavity', 2: 'lv_myocardium', 3: 'lv_cavity'}

TEMPLATE = {
    'schemaVersion': 1,
    'id': 'cardiac-mri-sax-seg',
    'version': '1.0.0',
    'name': 'Cardiac ventricles and LV myocardium segmentation, cine-MRI short axis, 128x128',
    'manufacturer': 'imaging-cds project',
    'task': 'segmentation',
    'file': 'model.onnx',
    'enabled': False,
    'intendedUse': 'Research decision support: outlines the right-ventricular cavity, the left-ventricular myocardium '
                   'and the left-ventricular cavity on one adult cine-MRI short-axis slice and measures their areas. '
                   'Preliminary AI output, not for clinical use.',
    'accepts': {
        'modalities': ['MR'],
        'bodyParts': ['HEART'],
        'missingViewPosition': 'accept',
        'photometricInterpretations': ['MONOCHROME2'],
        'minRows': 154,
        'minColumns': 154,
        'patientAge': {'minYears': 18, 'unknown': 'refuse',
                       'basis': 'ACDC (Bernard et al., IEEE TMI 2018): cine-MRI of patients examined at University '
                                'Hospital Dijon; the copy used carries no per-patient ages, so 18 is the intended-use '
                                'floor for adults, not a measured range.'},
    },
    'input': {'name': 'image', 'width': SIZE, 'height': SIZE, 'channels': 1, 'windowing': {'kind': 'minmax'},
              'resize': 'area', 'normalization': {'mean': [0.0], 'std': [1.0]}},
    'output': {
        'name': 'logits', 'activation': 'sigmoid', 'temperature': 1.0,
        'classes': [
            {'index': 0, 'key': 'rv_cavity', 'display': 'Right ventricular cavity',
             'codes': [{'system': 'http://imaging-cds.org/fhir/CodeSystem/imaging-cds', 'code': 'rv-cavity',
                        'display': 'Right ventricular cavity'}], 'threshold': 0.5},
            {'index': 1, 'key': 'lv_myocardium', 'display': 'Left ventricular myocardium',
             'codes': [{'system': 'http://imaging-cds.org/fhir/CodeSystem/imaging-cds', 'code': 'lv-myocardium',
                        'display': 'Left ventricular myocardium'}], 'threshold': 0.5},
            {'index': 2, 'key': 'lv_cavity', 'display': 'Left ventricular cavity',
             'codes': [{'system': 'http://imaging-cds.org/fhir/CodeSystem/imaging-cds', 'code': 'lv-cavity',
                        'display': 'Left ventricular cavity'}], 'threshold': 0.5},
        ],
    },
    'templates': {'card': 'segmentation-card', 'report': 'segmentation-report'},
}


def run_model(sess, vol01, mean, std):
    x = ((A.to_model_space(vol01, SIZE) - mean) / std).astype(np.float32)[:, None]
    z = np.concatenate([sess.run(['logits'], {'image': x[i:i + 32]})[0] for i in range(0, len(x), 32)])
    return 1 / (1 + np.exp(-z.astype(np.float64)))           # (Z,3,128,128) probabilities


def decide(p, rule):
    """p (Z,3,h,w) -> label volume (Z,h,w) uint8 in {0,1,2,3}."""
    if rule.startswith('threshold'):
        lab = np.zeros(p.shape[0:1] + p.shape[2:], np.uint8)
        for c in (1, 2, 3):
            lab[p[:, c - 1] >= 0.5] = c
    else:
        full = np.concatenate([1 - p.sum(1, keepdims=True), p], 1)
        lab = full.argmax(1).astype(np.uint8)
    if rule.endswith('lcc2d'):
        out = np.zeros_like(lab)
        for z in range(lab.shape[0]):
            for c in (1, 2, 3):
                cc, n = ndimage.label(lab[z] == c, structure=np.ones((3, 3)))
                if n:
                    keep = 1 + int(np.argmax(np.bincount(cc.ravel())[1:]))
                    out[z][cc == keep] = c
        lab = out
    elif rule.endswith('lcc3d'):
        out = np.zeros_like(lab)
        for c in (1, 2, 3):
            cc, n = ndimage.label(lab == c, structure=np.ones((3, 3, 3)))
            if n:
                keep = 1 + int(np.argmax(np.bincount(cc.ravel())[1:]))
                out[cc == keep] = c
        lab = out
    return lab


def dice(a, b):
    s = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / s if s else 1.0


def agreement(pred, ref):
    pred, ref = np.asarray(pred, float), np.asarray(ref, float)
    d = pred - ref
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    return {'n': int(len(d)), 'mae': round(float(np.abs(d).mean()), 2), 'bias': round(bias, 2), 'sd': round(sd, 2),
            'loa95': [round(bias - 1.96 * sd, 2), round(bias + 1.96 * sd, 2)],
            'pearson_r': round(float(np.corrcoef(pred, ref)[0, 1]), 4)}


def ms(v):
    v = np.asarray(v, float)
    return {'mean': round(float(v.mean()), 4), 'sd': round(float(v.std(ddof=1)), 4),
            'min': round(float(v.min()), 4), 'max': round(float(v.max()), 4)}


def ef(ed, es):
    return 100.0 * (ed - es) / ed if ed else float('nan')


def main():
    import argparse
    import onnxruntime as ort
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', default=HERE, help='folder with model.onnx and metrics.json (smoke runs elsewhere)')
    out = ap.parse_args().dir
    metrics_path = os.path.join(out, 'metrics.json')
    with open(metrics_path) as f:
        metrics = json.load(f)
    mean = metrics['preprocessing']['normalization']['mean'][0]
    std = metrics['preprocessing']['normalization']['std'][0]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(out, 'model.onnx'), so, providers=['CPUExecutionProvider'])
    val = A.load_split('val')
    index = A.read_index()

    rules = ['threshold', 'argmax', 'threshold+lcc2d', 'argmax+lcc2d', 'threshold+lcc3d', 'argmax+lcc3d']
    res = {r: {'dice': {f: {c: [] for c in STRUCT} for f in ('ed', 'es')}, 'lv': {'ed': [], 'es': []}} for r in rules}
    ref_lv, gt_lv, ms_lv = {'ed': [], 'es': []}, {'ed': [], 'es': []}, {'ed': [], 'es': []}
    ef_index = []
    for p in val:
        ef_index.append(float(index[p['id']]['lv_ef']))
        for f in ('ed', 'es'):
            lab = p[f + '_label']
            Z, H, W = lab.shape
            prob = run_model(sess, p[f + '_image'], mean, std)
            ms_lv[f].append(int((decide(prob, 'threshold') == 3).sum()))
            up = A.upsample_probs(prob, H, W)
            gt_lv[f].append(int((lab == 3).sum()))
            for r in rules:
                pred = decide(up, r)
                for c in STRUCT:
                    res[r]['dice'][f][c].append(dice(pred == c, lab == c))
                res[r]['lv'][f].append(int((pred == 3).sum()))
        print(p['id'], 'done', flush=True)

    ef_gt = [ef(a, b) for a, b in zip(gt_lv['ed'], gt_lv['es'])]
    summary = {}
    for r in rules:
        d = res[r]['dice']
        allmean = float(np.mean([v for f in d for c in d[f] for v in d[f][c]]))
        efp = [ef(a, b) for a, b in zip(res[r]['lv']['ed'], res[r]['lv']['es'])]
        summary[r] = {
            'mean_dice_all': round(allmean, 4),
            'dice': {f: {STRUCT[c]: ms(d[f][c]) for c in STRUCT} for f in ('ed', 'es')},
            'lv_ef_vs_index': agreement(efp, ef_index),
            'lv_ef_vs_ground_truth_labels': agreement(efp, ef_gt),
        }
        print(r, json.dumps({'mean_dice_all': summary[r]['mean_dice_all'],
                             'ef': summary[r]['lv_ef_vs_index']}), flush=True)
    chosen = max(rules, key=lambda r: summary[r]['mean_dice_all'])
    # The service keeps each structure's largest 3-D component over a cine stack (src/analysis/largest-component.ts).
    service = 'threshold+lcc3d'
    efms = [ef(a, b) for a, b in zip(ms_lv['ed'], ms_lv['es'])]
    val_section = {
        'split': 'ACDC val (source val.list), 10 patients, ED and ES; small, and also the split every choice was made on: '
                 'not an official test set, numbers are optimistic',
        'runtime': f'onnxruntime {ort.__version__} CPU, model.onnx, fed as the service feeds it',
        'rules': summary,
        'best_rule_on_val': chosen,
        'service_rule': service,
        'service_rule_note': 'the service thresholds sigmoid(logits) >= 0.5 per class and, over a cine stack, keeps '
                             'each structure\'s largest 26-connected component per phase (at 128 x 128, where this '
                             'script works at the slice size); the headline Dice numbers are for this rule. The LV EF '
                             'error the manifest states is measured through the service itself: npm run eval:cardiac',
        'lv_ef_model_space_service_rule': {
            'vs_index': agreement(efms, ef_index), 'vs_ground_truth_labels': agreement(efms, ef_gt),
            'note': 'LV-cavity pixel counts at 128 x 128 (what the service counts); the per-patient pixel area is the '
                    'same at ED and ES, so it cancels in EF'},
        'reference_ef_check': {'max_abs_diff_index_vs_labels': round(float(np.max(np.abs(np.array(ef_index) - ef_gt))), 3)},
        'volumes_note': 'no voxel spacing in this copy: EDV/ESV in mL cannot be computed or checked; EF is a ratio of '
                        'voxel counts',
    }
    metrics['val'] = val_section
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)
        f.write('\n')

    s = summary[service]
    computed = {
        'input': {'name': 'image', 'width': SIZE, 'height': SIZE, 'channels': 1, 'windowing': {'kind': 'minmax'},
                  'resize': 'area', 'normalization': {'mean': [mean], 'std': [std]}},
        'output': TEMPLATE['output'],
        'metrics': {
            'dataset': 'ACDC val split (10 patients, ED and ES; small, and the split all choices were made on; not an '
                       'official test set)',
            'dice': round(float(np.mean([s['dice'][f][k]['mean'] for f in s['dice'] for k in s['dice'][f]])), 4),
            'dicePerStructure': {f: {k: s['dice'][f][k]['mean'] for k in s['dice'][f]} for f in s['dice']},
        },
    }
    write_manifest(os.path.join(out, 'manifest.json'), TEMPLATE, computed)
    print(json.dumps({'service_rule': summary[service], 'best_rule_on_val': chosen}, indent=1))


if __name__ == '__main__':
    main()

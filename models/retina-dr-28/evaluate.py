#!/usr/bin/python3
"""Evaluate model.onnx on the RetinaMNIST test split ONCE and write the test metrics + manifest.json.

    /usr/bin/python3 models/retina-dr-28/evaluate.py

Executes the shipped model.onnx with the float64 NumPy reference executor of the shipped
pneumonia model (models/pneumonia-cxr-28/evaluate.py), extended here (`OnnxNumpyExt`) by the few
operators the grouped output needs (Slice, ReduceLogSumExp, Concat, Constant) and by returning
every graph output. train.py checks it against torch at export time.

Two sets of test numbers:
  * referable DR (grade >= 2) from the `logits` output, which the service reports: AUC, and
    accuracy / sensitivity / specificity at the val-chosen threshold, 2000-sample bootstrap 95%
    CIs (seed 12345), ECE before/after temperature (15 bins, top-label). -> manifest `metrics`.
  * 5-grade, comparable with MedMNIST v2 (RetinaMNIST, ResNet-18 (28) AUC 0.717 / ACC 0.524):
    mean one-vs-rest AUC of the softmax of `grade_logits`, accuracy of its argmax, bootstrap CIs.
    -> manifest `metrics.benchmark`.
"""
import importlib.util
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get('MEDMNIST_DATA_DIR', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
MEAN, STD = 0.5, 0.5
REFERABLE_FROM_GRADE = 2
BAR = {'auc': 0.717, 'accuracy': 0.524, 'source': 'MedMNIST v2 Table 3, ResNet-18 (28), RetinaMNIST (5-class)'}


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


S = _load('pneumonia_evaluate', os.path.join(HERE, '..', 'pneumonia-cxr-28', 'evaluate.py'))


class OnnxNumpyExt(S.OnnxNumpy):
    """The shipped float64 executor plus Slice / ReduceLogSumExp / Concat / Constant, all outputs."""

    def run_all(self, x):
        from onnx import numpy_helper
        env = dict(self.inits)
        env[self.inputs[0]] = np.asarray(x, dtype=np.float64)
        base_ops = {'Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'GlobalAveragePool', 'Flatten', 'Gemm',
                    'Add', 'Identity', 'Reshape'}
        for node in self.nodes:
            a = self._attrs(node)
            ins = [env[i] if i else None for i in node.input]
            op = node.op_type
            if op in base_ops:
                y = self._base_op(op, ins, a)
            elif op == 'Constant':
                y = numpy_helper.to_array(a['value']) if 'value' in a else None
                if y is None:
                    raise NotImplementedError('Constant without value')
                if y.dtype.kind == 'f':
                    y = y.astype(np.float64)
            elif op == 'Slice':
                data, starts, ends = ins[0], ins[1], ins[2]
                axes = ins[3] if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
                steps = ins[4] if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), dtype=np.int64)
                sl = [slice(None)] * data.ndim
                for s, e, ax, st in zip(starts, ends, axes, steps):
                    sl[int(ax)] = slice(int(s), int(min(e, np.iinfo(np.int64).max)), int(st))
                y = data[tuple(sl)]
            elif op == 'ReduceLogSumExp':
                axes = tuple(int(v) for v in a['axes'])
                keep = bool(a.get('keepdims', 1))
                m = ins[0].max(axis=axes, keepdims=True)
                y = np.log(np.exp(ins[0] - m).sum(axis=axes, keepdims=True)) + m
                if not keep:
                    y = np.squeeze(y, axis=axes)
            elif op == 'Concat':
                y = np.concatenate(ins, axis=int(a['axis']))
            else:
                raise NotImplementedError(f'ONNX op {op}')
            env[node.output[0]] = y
        return {name: env[name] for name in self.outputs}

    def _base_op(self, op, ins, a):
        if op == 'Conv':
            return self._conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        if op == 'BatchNormalization':
            x_, sc, bi, mu, var = ins[:5]
            sh = (1, -1) + (1,) * (x_.ndim - 2)
            return (x_ - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get('epsilon', 1e-5)) * sc.reshape(sh) + bi.reshape(sh)
        if op == 'Relu':
            return np.maximum(ins[0], 0)
        if op == 'MaxPool':
            return self._maxpool(ins[0], a)
        if op == 'GlobalAveragePool':
            return ins[0].mean(axis=(2, 3), keepdims=True)
        if op == 'Flatten':
            ax = a.get('axis', 1)
            return ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        if op == 'Gemm':
            A, Bm = ins[0], ins[1]
            if a.get('transA', 0):
                A = A.T
            if a.get('transB', 0):
                Bm = Bm.T
            y = a.get('alpha', 1.0) * (A @ Bm)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get('beta', 1.0) * ins[2]
            return y
        if op == 'Add':
            return ins[0] + ins[1]
        if op == 'Identity':
            return ins[0]
        if op == 'Reshape':
            return ins[0].reshape([int(v) if v != 0 else ins[0].shape[i] for i, v in enumerate(ins[1])])
        raise NotImplementedError(op)


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def grade_metrics(y, prob):
    aucs = [S.auc((y == c).astype(int), prob[:, c]) for c in range(prob.shape[1])]
    return {'auc': float(np.mean(aucs)), 'accuracy': float((prob.argmax(1) == y).mean()), 'auc_per_grade': aucs}


def grade_bootstrap(y, prob, n=2000, seed=12345):
    rng = np.random.default_rng(seed)
    a, c = [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if len(np.unique(y[i])) < prob.shape[1]:
            continue  # a resample missing a grade has no one-vs-rest AUC for it
        m = grade_metrics(y[i], prob[i])
        a.append(m['auc'])
        c.append(m['accuracy'])
    pct = lambda v: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]  # noqa: E731
    return {'auc95': pct(a), 'accuracy95': pct(c), 'resamples_used': len(a)}


def load_test():
    d = np.load(os.path.join(DATA, 'medmnist', 'retinamnist.npz'))
    x = d['test_images'].astype(np.float64).transpose(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD, d['test_labels'][:, 0].astype(np.int64)


MANIFEST_TEMPLATE = {
    'schemaVersion': 1,
    'id': 'retina-dr-28',
    'version': '1.0.0',
    'name': 'Referable diabetic retinopathy classifier, colour fundus photograph, 28x28',
    'manufacturer': 'imaging-cds project',
    'task': 'classification',
    'file': 'model.onnx',
    'intendedUse': 'Research decision support: flags colour fundus photographs that may show referable diabetic '
                   'retinopathy (grade 2 or worse on a 0-4 scale). Preliminary AI output, not for clinical use.',
    'accepts': {'modalities': ['OP'], 'bodyParts': ['EYE']},
    'input': {'name': 'image', 'width': 28, 'height': 28, 'channels': 3,
              'windowing': {'kind': 'dicom'}, 'resize': 'area',
              'normalization': {'mean': [MEAN] * 3, 'std': [STD] * 3}},
}


def main():
    metrics_path = os.path.join(HERE, 'metrics.json')
    with open(metrics_path) as f:
        metrics = json.load(f)
    T = float(metrics['calibration']['temperature'])
    thr = float(metrics['operating_point']['threshold'])
    band = [float(v) for v in metrics['operating_point']['review_band']]
    runner = OnnxNumpyExt(os.path.join(HERE, 'model.onnx'))

    x, grade = load_test()
    outs = [runner.run_all(x[i:i + 100]) for i in range(0, len(x), 100)]
    lr = np.concatenate([o['logits'] for o in outs])
    lz = np.concatenate([o['grade_logits'] for o in outs])
    y = (grade >= REFERABLE_FROM_GRADE).astype(np.int64)

    p = S.probability(lr, T)
    p1 = S.probability(lr, 1.0)
    m = S.point_metrics(y, p, thr)
    ci = S.bootstrap(y, p, thr)
    ref = {'n': int(len(y)), 'n_non_referable': int((y == 0).sum()), 'n_referable': int(y.sum()),
           'threshold': thr, 'temperature': T,
           **{k: round(v, 4) for k, v in m.items()},
           **{f'{k}95': [round(c, 4) for c in v] for k, v in ci.items()},
           'accuracy_at_0.5_T1': round(float(((p1 >= 0.5) == y).mean()), 4),
           'ece15_before_temperature': round(S.ece(y, p1), 4),
           'ece15_after_temperature': round(S.ece(y, p), 4),
           'fraction_in_review_band': round(float(((p >= band[0]) & (p <= band[1])).mean()), 4)}
    gm = grade_metrics(grade, softmax(lz))
    gci = grade_bootstrap(grade, softmax(lz))
    g5 = {'n': int(len(grade)), 'grades': np.bincount(grade, minlength=5).tolist(),
          'auc': round(gm['auc'], 4), 'auc95': [round(v, 4) for v in gci['auc95']],
          'accuracy': round(gm['accuracy'], 4), 'accuracy95': [round(v, 4) for v in gci['accuracy95']],
          'auc_per_grade': [round(v, 4) for v in gm['auc_per_grade']],
          'bootstrap_resamples_used': gci['resamples_used']}
    print('RetinaMNIST test, referable DR', json.dumps(ref, indent=1))
    print('RetinaMNIST test, 5 grades', json.dumps(g5, indent=1), flush=True)

    metrics['test'] = {
        'note': 'evaluated once on the official test split after every choice was fixed on val',
        'executor': 'model.onnx via the float64 NumPy ONNX executor (pneumonia-cxr-28/evaluate.py, extended here)',
        'bootstrap': '2000 case resamples, percentile 95% CI, seed 12345',
        'ece': 'top-label ECE, 15 equal-width confidence bins',
        'retinamnist_test_referable': ref,
        'retinamnist_test_5grade': g5,
        'medmnist_benchmark_resnet18_28': BAR,
        'beats_benchmark_auc': bool(g5['auc'] > BAR['auc']),
        'beats_benchmark_accuracy': bool(g5['accuracy'] > BAR['accuracy']),
    }
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=2)

    r4 = lambda v: round(float(v), 4)  # noqa: E731
    manifest = json.loads(json.dumps(MANIFEST_TEMPLATE))
    manifest['output'] = {
        'name': 'logits', 'activation': 'softmax', 'temperature': r4(T),
        'labels': [
            {'index': 0, 'key': 'non-referable-dr', 'display': 'No or mild diabetic retinopathy (grade 0-1)', 'report': False},
            {'index': 1, 'key': 'referable-dr', 'display': 'Referable diabetic retinopathy (grade 2-4)', 'report': True,
             'codes': [{'system': 'http://snomed.info/sct', 'code': '4855003', 'display': 'Diabetic retinopathy'}],
             'threshold': r4(thr), 'reviewBand': [r4(band[0]), r4(band[1])], 'urgency': 'warning'},
        ],
    }
    manifest['templates'] = {'card': 'classification-card', 'report': 'classification-report'}
    manifest['metrics'] = {
        'dataset': f"RetinaMNIST test split (n={ref['n']}), referable DR = grade >= 2 "
                   f"({ref['n_referable']} referable, {ref['n_non_referable']} not)",
        'auc': ref['auc'], 'auc95': ref['auc95'],
        'accuracy': ref['accuracy'], 'accuracy95': ref['accuracy95'],
        'sensitivity': ref['sensitivity'], 'sensitivity95': ref['sensitivity95'],
        'specificity': ref['specificity'], 'specificity95': ref['specificity95'],
        'threshold': r4(thr),
        'eceBeforeTemperature': ref['ece15_before_temperature'],
        'eceAfterTemperature': ref['ece15_after_temperature'],
        'benchmark': {'dataset': 'RetinaMNIST test split (n=400), 5-grade, from the grade_logits output; '
                                 'comparable with MedMNIST v2 (ResNet-18 (28): AUC 0.717, ACC 0.524)',
                      'auc': g5['auc'], 'auc95': g5['auc95'], 'accuracy': g5['accuracy'], 'accuracy95': g5['accuracy95']},
    }
    lab = manifest['output']['labels'][1]
    assert lab['reviewBand'][0] <= lab['threshold'] <= lab['reviewBand'][1]
    with open(os.path.join(HERE, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print('wrote metrics.json (test section) and manifest.json')


if __name__ == '__main__':
    sys.exit(main())

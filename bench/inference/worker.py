"""Benchmark worker for bench/inference.ts: one persistent Python process per backend, driven
over stdin/stdout (one JSON object a line each way), so that interpreter start-up, imports and
model loading are never inside a timed window. Every time is measured here, around the call
alone, with time.perf_counter.

  python worker.py --backend ort   --threads 1   # onnxruntime for Python on the shipped .onnx
  python worker.py --backend torch --threads 1   # the PyTorch module of models/<id>/train.py

backend `ort`: an onnxruntime.InferenceSession on the same model.onnx the service loads, CPU
provider, `threads` intra-op threads, 1 inter-op thread, sequential execution, all graph
optimisations (the options src/inference/session.ts gives onnxruntime-node).

backend `torch`: the nn.Module class that the model's train.py defines and trains, built with the
constructor arguments train.py uses (RECIPES below, widths and dropout from the model's
metrics.json `config`), in eval mode, with the trained weights read back from the ONNX
initializers. The export folded every BatchNorm into the convolution before it (conv weight and
a bias), so such a BatchNorm keeps running but is set to the identity plus that bias
(weight 1, bias b, running mean 0, running variance 1 - eps): the module does the same work as
the trained one in eval mode and computes the exported function. Weights are matched by
execution order (forward hooks) against the graph's Conv / ConvTranspose / Gemm nodes, with
shapes and convolution attributes checked; any mismatch, or a parameter left unassigned, and the
model is refused with the reason (never approximated). bench/inference.ts then checks the
module's outputs against onnxruntime-node's before timing it.

Requests: {"op": "hello"} | {"op": "load", ...} | {"op": "run", ...} | {"op": "time", ...}; every
answer has "ok" and, when false, "error".
"""
import argparse
import importlib.util
import inspect
import json
import os
import sys
import time
import traceback

import numpy as np


class Refused(Exception):
    """The model cannot be rebuilt faithfully; the message says why."""


def read_input(path, shape):
    return np.fromfile(path, dtype=np.float32).reshape(shape)


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000.0)
    return ms


class OrtBackend:
    def __init__(self, threads):
        import onnxruntime as ort
        self.ort = ort
        self.threads = threads
        self.models = {}

    def versions(self):
        return {'onnxruntime': self.ort.__version__, 'numpy': np.__version__, 'python': sys.version.split()[0],
                'providers': self.ort.get_available_providers()}

    def load(self, msg):
        ort = self.ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(msg['onnx'], so, providers=['CPUExecutionProvider'])
        self.models[msg['id']] = (sess, msg['inputName'], msg['outputNames'])
        return {'ok': True}

    def outputs(self, model_id, x):
        # Every graph output, for the agreement check; timing asks only for the service's output.
        sess, inp, _ = self.models[model_id]
        names = [o.name for o in sess.get_outputs()]
        return dict(zip(names, sess.run(names, {inp: x})))

    def runner(self, model_id, x):
        sess, inp, outs = self.models[model_id]
        feeds = {inp: x}
        return lambda: sess.run(outs, feeds)

    def context(self):
        return _NullContext()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# Constructor calls as each train.py makes them (file:line of the call in the comment).
RECIPES = {
    # models/breast-us-28/train.py: model = Net(cfg['widths'], cfg['dropout'])  (torchkit.Net)
    'breast-us-28': lambda mod, cfg: mod.Net(cfg['widths'], cfg['dropout']),
    # models/pneumonia-cxr-28/train.py: model = Net(cfg['widths'], cfg['dropout'])  (torchkit.Net)
    'pneumonia-cxr-28': lambda mod, cfg: mod.Net(cfg['widths'], cfg['dropout']),
    # models/retina-dr-28/train.py: Net(cfg['widths'], cfg['dropout'], in_ch=3, n_out=5), exported as Exported(model)
    'retina-dr-28': lambda mod, cfg: mod.Exported(mod.Net(cfg['widths'], cfg['dropout'], in_ch=3, n_out=5)),
    # models/pneumonia-cxr-224/train.py: model = Net(cfg['widths'], cfg['dropout'])  (its own Net)
    'pneumonia-cxr-224': lambda mod, cfg: mod.Net(cfg['widths'], cfg['dropout']),
    # models/retina-vessels-drive/train.py: model = UNet(cfg['widths'])
    'retina-vessels-drive': lambda mod, cfg: mod.UNet(cfg['widths']),
}


class TorchBackend:
    def __init__(self, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        self.models = {}

    def versions(self):
        t = self.torch
        return {'torch': t.__version__, 'numpy': np.__version__, 'python': sys.version.split()[0],
                'threads': t.get_num_threads(), 'interop_threads': t.get_num_interop_threads()}

    def load(self, msg):
        model_id = msg['id']
        recipe = RECIPES.get(model_id)
        if recipe is None:
            raise Refused(f'no constructor recipe for {model_id} in bench/inference/worker.py')
        train_py = os.path.join(msg['modelDir'], 'train.py')
        metrics_json = os.path.join(msg['modelDir'], 'metrics.json')
        if not os.path.exists(train_py):
            raise Refused(f'{train_py} does not exist')
        with open(metrics_json) as f:
            metrics = json.load(f)
        cfg = metrics.get('config')
        if not cfg or 'widths' not in cfg:
            raise Refused(f'{metrics_json} has no config.widths')
        cfg = dict(cfg)
        cfg.setdefault('dropout', 0.0)
        spec = importlib.util.spec_from_file_location(f'bench_train_{model_id.replace("-", "_")}', train_py)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)   # train.py runs nothing at import (main() is behind __name__)
        net = recipe(mod, cfg).eval()
        report = load_onnx_weights(self.torch, net, msg['onnx'], [1] + list(msg['shape']))
        if metrics.get('parameters') is not None and metrics['parameters'] != report['parameters']:
            raise Refused(f'the module has {report["parameters"]} parameters, metrics.json records {metrics["parameters"]}')
        self.models[model_id] = (net, msg['outputNames'], report['graphOutputs'])
        inner = getattr(net, 'net', None)
        classes = [type(net)] + ([type(inner)] if isinstance(inner, self.torch.nn.Module) else [])
        where = ' wrapping '.join(f'{c.__qualname__} ({os.path.relpath(inspect.getsourcefile(c), msg["repoRoot"])})' for c in classes)
        return {'ok': True, 'module': where, **report}

    def _forward(self, model_id, x):
        net, _, graph_outputs = self.models[model_id]
        y = net(x)
        ys = list(y) if isinstance(y, (tuple, list)) else [y]
        return dict(zip(graph_outputs, ys))

    def outputs(self, model_id, x):
        with self.torch.inference_mode():
            named = self._forward(model_id, self.torch.from_numpy(x))
            return {k: v.numpy() for k, v in named.items()}

    def runner(self, model_id, x):
        net = self.models[model_id][0]
        t = self.torch.from_numpy(x)
        return lambda: net(t)

    def context(self):
        return self.torch.inference_mode()


def load_onnx_weights(torch, net, onnx_path, input_shape):
    """Copies the ONNX initializers into `net` (see the module docstring); raises Refused."""
    import onnx
    from onnx import helper, numpy_helper
    nn = torch.nn
    g = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    nodes = [n for n in g.node if n.op_type in ('Conv', 'ConvTranspose', 'Gemm')]
    leaves = [m for m in net.modules() if len(list(m.children())) == 0]
    order = []
    hooks = [m.register_forward_hook(lambda m, _i, _o: order.append(m)) for m in leaves]
    with torch.no_grad():
        net(torch.zeros(*input_shape))
    for h in hooks:
        h.remove()
    if len({id(m) for m in order}) != len(order):
        raise Refused('a layer runs more than once in forward(); execution-order matching does not apply')
    weighted = [m for m in order if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    if len(weighted) != len(nodes):
        raise Refused(f'{len(weighted)} conv/linear layers run in the module, {len(nodes)} Conv/ConvTranspose/Gemm nodes in the graph')
    assigned = set()
    folded = 0
    with torch.no_grad():
        for m, n in zip(weighted, nodes):
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            w = inits.get(n.input[1])
            b = inits.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            if w is None:
                raise Refused(f'node {n.name}: weight {n.input[1]} is not an initializer')
            if isinstance(m, nn.Linear):
                if n.op_type != 'Gemm' or a.get('alpha', 1.0) != 1.0 or a.get('beta', 1.0) != 1.0 or a.get('transA', 0):
                    raise Refused(f'node {n.name} ({n.op_type} {a}) does not match a Linear layer')
                w = w if a.get('transB', 0) else w.T
            else:
                want = 'Conv' if isinstance(m, nn.Conv2d) else 'ConvTranspose'
                p = list(a.get('pads', [0, 0, 0, 0]))
                checks = [n.op_type == want, tuple(a.get('strides', [1, 1])) == tuple(m.stride),
                          tuple(a.get('dilations', [1, 1])) == tuple(m.dilation), a.get('group', 1) == m.groups,
                          p[:2] == p[2:] and tuple(p[:2]) == tuple(m.padding)]
                if isinstance(m, nn.ConvTranspose2d):
                    checks.append(tuple(a.get('output_padding', [0, 0])) == tuple(m.output_padding))
                if not all(checks):
                    raise Refused(f'node {n.name} ({n.op_type} {a}) does not match layer {m}')
            if tuple(m.weight.shape) != tuple(w.shape):
                raise Refused(f'node {n.name}: weight {tuple(w.shape)} vs layer {m} {tuple(m.weight.shape)}')
            m.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float32, order='C')))
            assigned.add(id(m.weight))
            nxt = order[order.index(m) + 1] if order.index(m) + 1 < len(order) else None
            if m.bias is not None:
                if b is None:
                    raise Refused(f'layer {m} has a bias, node {n.name} none')
                m.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float32)))
                assigned.add(id(m.bias))
            elif b is not None:
                if not isinstance(nxt, nn.BatchNorm2d) or nxt.num_features != b.shape[0] or not nxt.affine:
                    raise Refused(f'node {n.name} has a bias but layer {m} has none and no BatchNorm follows it')
                nxt.weight.fill_(1.0)
                nxt.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float32)))
                nxt.running_mean.zero_()
                nxt.running_var.fill_(1.0 - nxt.eps)
                assigned.update({id(nxt.weight), id(nxt.bias), id(nxt.running_mean), id(nxt.running_var)})
                folded += 1
    left = [k for k, v in list(net.named_parameters()) + list(net.named_buffers())
            if id(v) not in assigned and not k.endswith('num_batches_tracked')]
    if left:
        raise Refused(f'not set from the ONNX file: {", ".join(left)}')
    return {'graphOutputs': [o.name for o in g.output], 'layers': len(weighted), 'foldedBatchNorms': folded,
            'parameters': int(sum(p.numel() for p in net.parameters()))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--backend', choices=['ort', 'torch'], required=True)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    # Answers go to the real stdout; anything else that prints (an imported train.py) goes to stderr.
    answers = sys.stdout
    sys.stdout = sys.stderr
    backend = (OrtBackend if args.backend == 'ort' else TorchBackend)(args.threads)
    inputs = {}

    def reply(obj):
        answers.write(json.dumps(obj) + '\n')
        answers.flush()

    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            op = msg['op']
            if op == 'hello':
                reply({'ok': True, 'versions': backend.versions()})
            elif op == 'load':
                reply(backend.load(msg))
            elif op in ('run', 'time'):
                key = (msg['x'], tuple(msg['shape']))
                if key not in inputs:
                    inputs[key] = read_input(msg['x'], msg['shape'])
                x = inputs[key]
                if op == 'run':
                    outs = backend.outputs(msg['id'], x)
                    files = {}
                    for name, v in outs.items():
                        path = os.path.join(msg['outDir'], f'{msg["tag"]}.{name}.f32')
                        np.ascontiguousarray(v, dtype=np.float32).tofile(path)
                        files[name] = {'file': path, 'shape': list(v.shape)}
                    reply({'ok': True, 'outputs': files})
                else:
                    fn = backend.runner(msg['id'], x)
                    with backend.context():
                        ms = timed(fn, msg['warmup'], msg['iters'])
                    reply({'ok': True, 'ms': ms})
            else:
                reply({'ok': False, 'error': f'unknown op {op}'})
        except Refused as e:
            reply({'ok': False, 'refused': True, 'error': str(e)})
        except Exception as e:  # noqa: BLE001 - reported to the bench, which stops or leaves the model out
            reply({'ok': False, 'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2000:]})


if __name__ == '__main__':
    main()

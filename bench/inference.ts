/**
 * Inference latency and throughput per model: onnxruntime-node (the service's runtime, used
 * directly and through the engine) against the same network in PyTorch eager on CPU, in one run.
 *
 *   npm run build && node dist/bench/inference.js [--threads 1] [--batch 64] [--iters 200] [--models DIR] [--python /usr/bin/python3]
 *
 * PyTorch side: train.py keeps no checkpoint besides model.onnx, so a small Python program
 * (embedded below, run with Debian's /usr/bin/python3 + torch 1.13) rebuilds each network as
 * eager torch.nn.functional calls with the weights read from the ONNX initializers (batch norm
 * is already folded into the convolutions there, exactly as ONNX runs it). It checks its logits
 * against onnxruntime's on the same inputs before timing.
 *
 * Both runtimes get the same thread count (default 1, so that a 2-core machine measures one
 * runtime without the other's threads in the way). Reported: batch-1 latency (median and p95 over `iters` runs after warm-up) and
 * batched throughput (images/s at `batch`), and the ratio PyTorch / ORT.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { createInferenceEngine } from '../src/inference/index.js';

interface ModelInfo {
  readonly id: string;
  readonly onnx: string;
  readonly inputName: string;
  readonly outputName: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

interface Timing {
  readonly b1MedianMs: number;
  readonly b1P95Ms: number;
  readonly batchImgPerS: number;
}

const PYTHON_BENCH = String.raw`
import json, sys, time
import numpy as np
import torch
import torch.nn.functional as F
import onnx
from onnx import numpy_helper

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg['threads'])

class OnnxAsTorch(torch.nn.Module):
    """Eager torch functional ops over the ONNX graph's nodes, weights from its initializers."""
    def __init__(self, path):
        super().__init__()
        m = onnx.load(path)
        g = m.graph
        self.consts = {}
        for i in g.initializer:
            a = numpy_helper.to_array(i)
            self.consts[i.name] = torch.from_numpy(a.copy())
        self.input = [i.name for i in g.input if i.name not in self.consts][0]
        self.output = cfg['output']
        self.nodes = [(n.op_type, list(n.input), list(n.output), {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}) for n in g.node]
        for op, _, outs, a in self.nodes:
            if op == 'Constant':
                self.consts[outs[0]] = torch.from_numpy(numpy_helper.to_array(a['value']).copy())

    def forward(self, x):
        env = dict(self.consts)
        env[self.input] = x
        for op, ins, outs, a in self.nodes:
            v = [env[i] if i else None for i in ins]
            if op == 'Conv':
                p = a.get('pads', [0, 0, 0, 0])
                assert p[0] == p[2] and p[1] == p[3]
                y = F.conv2d(v[0], v[1], v[2] if len(v) > 2 else None, stride=tuple(a.get('strides', [1, 1])), padding=(p[0], p[1]))
            elif op == 'ConvTranspose':
                p = a.get('pads', [0, 0, 0, 0])
                assert p[0] == p[2] and p[1] == p[3]
                y = F.conv_transpose2d(v[0], v[1], v[2] if len(v) > 2 else None, stride=tuple(a.get('strides', [1, 1])), padding=(p[0], p[1]), output_padding=tuple(a.get('output_padding', [0, 0])))
            elif op == 'Relu':
                y = F.relu(v[0])
            elif op == 'MaxPool':
                y = F.max_pool2d(v[0], tuple(a['kernel_shape']), tuple(a.get('strides', a['kernel_shape'])))
            elif op == 'GlobalAveragePool':
                y = F.adaptive_avg_pool2d(v[0], 1)
            elif op == 'Flatten':
                y = torch.flatten(v[0], a.get('axis', 1))
            elif op == 'Gemm':
                w = v[1] if a.get('transB', 0) else v[1].t()
                y = F.linear(v[0], w, v[2] if len(v) > 2 else None)
            elif op == 'Slice':
                axes = v[3].tolist() if len(v) > 3 and v[3] is not None else list(range(len(v[1])))
                y = v[0]
                for s, e, ax in zip(v[1].tolist(), v[2].tolist(), axes):
                    y = y.narrow(ax, s, min(e, y.shape[ax]) - s)
            elif op == 'ReduceLogSumExp':
                y = torch.logsumexp(v[0], tuple(a['axes']), keepdim=bool(a.get('keepdims', 1)))
            elif op == 'Concat':
                y = torch.cat(v, a['axis'])
            elif op == 'Constant':
                y = env[outs[0]]
            else:
                raise NotImplementedError(op)
            env[outs[0]] = y
        return env[self.output]

def timeit(fn, iters):
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return ts

out = {}
for m in cfg['models']:
    cfg['output'] = m['outputName']
    net = OnnxAsTorch(m['onnx']).eval()
    x1 = torch.from_numpy(np.fromfile(m['x1File'], dtype=np.float32).reshape(1, m['channels'], m['height'], m['width']))
    xb = torch.from_numpy(np.fromfile(m['xbFile'], dtype=np.float32).reshape(m['batch'], m['channels'], m['height'], m['width']))
    with torch.inference_mode():
        logits = net(xb).numpy()
        ref = np.fromfile(m['refFile'], dtype=np.float32).reshape(logits.shape)
        for _ in range(20):
            net(x1)
        b1 = timeit(lambda: net(x1), m['iters'])
        for _ in range(3):
            net(xb)
        bb = timeit(lambda: net(xb), m['batchIters'])
    out[m['id']] = {'b1MedianMs': float(np.median(b1)), 'b1P95Ms': float(np.percentile(b1, 95)),
                    'batchImgPerS': m['batch'] / (float(np.median(bb)) / 1000),
                    'maxAbsDiffVsOrt': float(np.abs(logits - ref).max())}
out['torch'] = torch.__version__
print(json.dumps(out))
`;

function percentile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i] as number;
}

function seededImages(n: number, per: number, seed: number): Float32Array {
  // Small LCG: reproducible inputs without a dependency; values in [-1, 1] (normalised space).
  const out = new Float32Array(n * per);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

async function timeMs(fn: () => Promise<unknown>, iters: number): Promise<number[]> {
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b);
}

function listModels(modelsDir: string): ModelInfo[] {
  const out: ModelInfo[] = [];
  for (const dir of readdirSync(modelsDir, { withFileTypes: true })) {
    const file = path.join(modelsDir, dir.name, 'manifest.json');
    if (!dir.isDirectory() || !existsSync(file)) continue;
    const m = JSON.parse(readFileSync(file, 'utf8')) as {
      id: string; file: string; input: { name: string; channels: number; height: number; width: number }; output: { name: string };
    };
    out.push({ id: m.id, onnx: path.join(modelsDir, dir.name, m.file), inputName: m.input.name, outputName: m.output.name, channels: m.input.channels, height: m.input.height, width: m.input.width });
  }
  return out;
}

/**
 * Batch size and run counts for one model. A large input (a 565×584 colour photograph for a
 * segmentation network) gets a smaller batch, so its activations stay within memory, and fewer
 * runs, so the bench stays within minutes; small inputs keep the requested values.
 */
function sizing(per: number, batch: number, iters: number): { batch: number; iters: number; batchIters: number } {
  const scale = Math.min(1, (224 * 224 * 3) / per);
  const runs = Math.max(10, Math.round(iters * scale));
  return { batch: Math.max(1, Math.min(batch, Math.floor(4_000_000 / per))), iters: runs, batchIters: Math.max(5, Math.round(runs / 10)) };
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.basename(path.resolve(here, '..')) === 'dist' ? path.resolve(here, '..', '..') : path.resolve(here, '..');
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '1' },
      batch: { type: 'string', default: '64' },
      iters: { type: 'string', default: '200' },
      models: { type: 'string', default: path.join(root, 'models') },
      python: { type: 'string', default: '/usr/bin/python3' },
    },
  });
  const threads = Number(values.threads);
  const batch = Number(values.batch);
  const iters = Number(values.iters);
  const models = listModels(values.models);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-inference-'));
  const ortRes = new Map<string, Timing>();
  const engineRes = new Map<string, number>();
  const pyModels: Record<string, unknown>[] = [];

  try {
    for (const m of models) {
      const per = m.channels * m.height * m.width;
      const { batch: mb, iters: mi, batchIters: mbi } = sizing(per, batch, iters);
      const session = await ort.InferenceSession.create(m.onnx, {
        executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
      });
      const x1 = seededImages(1, per, 1);
      const xb = seededImages(mb, per, 2);
      const t1 = new ort.Tensor('float32', x1, [1, m.channels, m.height, m.width]);
      const tb = new ort.Tensor('float32', xb, [mb, m.channels, m.height, m.width]);
      const ref = (await session.run({ [m.inputName]: tb }, [m.outputName]))[m.outputName]?.data as Float32Array;
      for (let i = 0; i < 20; i++) await session.run({ [m.inputName]: t1 }, [m.outputName]);
      const b1 = await timeMs(() => session.run({ [m.inputName]: t1 }, [m.outputName]), mi);
      const bb = await timeMs(() => session.run({ [m.inputName]: tb }, [m.outputName]), mbi);
      ortRes.set(m.id, { b1MedianMs: percentile(b1, 0.5), b1P95Ms: percentile(b1, 0.95), batchImgPerS: mb / (percentile(bb, 0.5) / 1000) });
      await session.release();
      writeFileSync(path.join(tmp, `${m.id}.xb`), Buffer.from(xb.buffer));
      writeFileSync(path.join(tmp, `${m.id}.ref`), Buffer.from(ref.buffer, ref.byteOffset, ref.byteLength));
      // Inputs go through files: a photograph-sized input would overflow the argument list.
      writeFileSync(path.join(tmp, `${m.id}.x1`), Buffer.from(x1.buffer, x1.byteOffset, x1.byteLength));
      pyModels.push({ ...m, batch: mb, iters: mi, batchIters: mbi, x1File: path.join(tmp, `${m.id}.x1`), xbFile: path.join(tmp, `${m.id}.xb`), refFile: path.join(tmp, `${m.id}.ref`) });
    }

    // The service path at batch 1: preprocessing + batcher + session, one image at a time.
    // Every model folder, those shipped switched off included; no saliency maps (timed: one run).
    const engine = await createInferenceEngine({
      modelsDir: values.models,
      enabledModels: models.map((m) => m.id),
      saliency: 'never',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      maxBatch: 1,
      maxWaitMs: 0,
    });
    for (const m of models) {
      if (!engine.models().some((x) => x.id === m.id)) continue;
      const data = new Float32Array(m.channels * m.height * m.width).fill(0.5);
      const image = { width: m.width, height: m.height, channels: m.channels as 1 | 3, data };
      for (let i = 0; i < 20; i++) await engine.run(m.id, image);
      engineRes.set(m.id, percentile(await timeMs(() => engine.run(m.id, image), sizing(m.channels * m.height * m.width, batch, iters).iters), 0.5));
    }
    await engine.close();

    const script = path.join(tmp, 'torch_bench.py');
    writeFileSync(script, PYTHON_BENCH);
    const cfg = JSON.stringify({ threads, models: pyModels });
    const py = JSON.parse(execFileSync(values.python, [script, cfg], { encoding: 'utf8', maxBuffer: 1 << 24 })) as Record<string, Timing & { maxAbsDiffVsOrt: number }> & { torch: string };

    const f = (v: number, d = 3): string => v.toFixed(d);
    process.stdout.write(`inference benchmark: ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores), ${threads} thread(s) each, node ${process.version}, onnxruntime-node ${ort.env.versions.common}, torch ${py.torch}\n`);
    process.stdout.write(`batch-1 latency = median of up to ${iters} runs (p95 in brackets); throughput = median of the batched runs at the batch shown (up to ${batch}; smaller for large inputs); inputs seeded random\n\n`);
    const head = ['model', 'ORT b1 ms', 'engine b1 ms', 'torch b1 ms', 'torch/ORT b1', 'batch', 'ORT img/s', 'torch img/s', 'ORT/torch thr', 'max|Δlogit|'];
    const rows = [head];
    for (const m of models) {
      const o = ortRes.get(m.id);
      const t = py[m.id];
      if (o === undefined || t === undefined) continue;
      const e = engineRes.get(m.id);
      rows.push([
        m.id,
        `${f(o.b1MedianMs)} (${f(o.b1P95Ms)})`,
        e === undefined ? 'n/a' : f(e),
        `${f(t.b1MedianMs)} (${f(t.b1P95Ms)})`,
        `${f(t.b1MedianMs / o.b1MedianMs, 2)}×`,
        String(sizing(m.channels * m.height * m.width, batch, iters).batch),
        f(o.batchImgPerS, 1),
        f(t.batchImgPerS, 1),
        `${f(o.batchImgPerS / t.batchImgPerS, 2)}×`,
        t.maxAbsDiffVsOrt.toExponential(1),
      ]);
    }
    const widths = head.map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
    for (const r of rows) process.stdout.write(`${r.map((v, c) => v.padEnd(widths[c] as number)).join('  ')}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});

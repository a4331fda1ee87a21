import { setTimeout as sleep } from 'node:timers/promises';
import { createBatcher } from '../../../src/inference/batcher.js';
import type { BatchEvent, BatcherOptions } from '../../../src/inference/batcher.js';

/** A runner whose batches finish only when the test says so. */
function gatedRunner() {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  const run = (items: readonly number[]): Promise<number[]> => {
    calls.push([...items]);
    return new Promise((resolve) => {
      gates.push(() => {
        resolve(items.map((x) => x * 10));
      });
    });
  };
  return { calls, run, release: () => gates.shift()?.() };
}

/** Turns of the event loop until `done()` holds (at most `turns`): no wall-clock wait. */
async function until(done: () => boolean, turns = 1000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Marks a promise as handled (a failed assertion must not leave it to crash the run), and returns it. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function options(over: Partial<BatcherOptions<number, number>>): BatcherOptions<number, number> {
  return { name: 'm', maxBatch: 4, maxWaitMs: 0, capacity: 100, timeoutMs: 5_000, run: (items) => Promise.resolve(items.map((x) => x * 10)), ...over };
}

describe('createBatcher', () => {
  it('Puts calls made together into shared batches of at most maxBatch, results in order', async () => {
    const events: BatchEvent[] = [];
    const b = createBatcher(options({ maxBatch: 4, onBatch: (e) => events.push(e) }));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit([i])));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => [i * 10]));
    expect(events.map((e) => e.size)).toEqual([4, 4, 2]);
  });

  it('Collects requests that arrive while a batch runs into the next batch', async () => {
    const r = gatedRunner();
    const b = createBatcher(options({ maxBatch: 8, run: r.run }));
    const first = handled(b.submit([1]));
    await until(() => r.calls.length === 1); // the lone request starts after maxWaitMs (0: next turn)
    expect(r.calls).toEqual([[1]]);
    const later = [b.submit([2]), b.submit([3, 4]), b.submit([5])].map(handled);
    expect(b.queued()).toBe(4);
    r.release();
    await first;
    await until(() => r.calls.length === 2);
    expect(r.calls).toEqual([[1], [2, 3, 4, 5]]);
    r.release();
    expect(await Promise.all(later)).toEqual([[20], [30, 40], [50]]);
  });

  it('Waits up to maxWaitMs for companions before running a partial batch', async () => {
    const r = gatedRunner();
    // Generous margins: the assertions must hold on a loaded CI machine too.
    const b = createBatcher(options({ maxBatch: 4, maxWaitMs: 200, run: r.run }));
    const p = b.submit([1]);
    await sleep(20);
    expect(r.calls).toEqual([]);
    const q = b.submit([2]);
    await sleep(250);
    expect(r.calls).toEqual([[1, 2]]);
    r.release();
    expect(await Promise.all([p, q])).toEqual([[10], [20]]);
  });

  it('Starts a batch at once when maxBatch items wait, without waiting for maxWaitMs', async () => {
    const r = gatedRunner();
    const b = createBatcher(options({ maxBatch: 2, maxWaitMs: 10_000, run: r.run }));
    const p = b.submit([1, 2]);
    expect(r.calls).toEqual([[1, 2]]);
    r.release();
    expect(await p).toEqual([10, 20]);
  });

  it('Refuses work beyond the queue capacity with INFERENCE_BUSY, whole submits only', async () => {
    const r = gatedRunner();
    const b = createBatcher(options({ maxBatch: 1, capacity: 2, run: r.run }));
    const running = b.submit([1]); // taken off the queue at once (maxBatch reached)
    const waiting = [b.submit([2]), b.submit([3])];
    await expect(b.submit([4])).rejects.toMatchObject({ name: 'AppError', code: 'INFERENCE_BUSY', message: 'Model m: the inference queue is full (2 waiting); retry later.' });
    expect(b.queued()).toBe(2);
    r.release();
    await running;
    await sleep(0);
    // One slot is free now, but a submit of two images does not fit and queues nothing.
    await expect(b.submit([5, 6])).rejects.toMatchObject({ code: 'INFERENCE_BUSY' });
    expect(b.queued()).toBe(1);
    r.release(); // [2]
    await sleep(0);
    r.release(); // [3]
    expect(await Promise.all(waiting)).toEqual([[20], [30]]);
  });

  it('Fails a request still queued at its deadline with INFERENCE_FAILED and drops it', async () => {
    const r = gatedRunner();
    const b = createBatcher(options({ maxBatch: 1, timeoutMs: 30, run: r.run }));
    const stuck = b.submit([1]);
    const queued = b.submit([2]);
    await expect(queued).rejects.toMatchObject({ code: 'INFERENCE_FAILED', message: 'Model m: inference did not finish within 30 ms.' });
    await expect(stuck).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    expect(b.queued()).toBe(0);
    r.release();
    await sleep(0);
    expect(r.calls).toEqual([[1]]); // the timed-out request never ran
  });

  it('Fails a late result even when the run blocked the event loop (as onnxruntime-node does)', async () => {
    const busyRun = (items: readonly number[]): Promise<number[]> => {
      const until = performance.now() + 60;
      while (performance.now() < until) {
        /* synchronous, like InferenceSession.run inside setImmediate */
      }
      return Promise.resolve(items.map((x) => x));
    };
    const b = createBatcher(options({ timeoutMs: 20, run: busyRun }));
    await expect(b.submit([1])).rejects.toMatchObject({ code: 'INFERENCE_FAILED', message: 'Model m: inference did not finish within 20 ms.' });
  });

  it('Turns a runner failure into INFERENCE_FAILED with the cause, and keeps serving', async () => {
    let fail = true;
    const b = createBatcher(
      options({
        run: (items) => (fail ? Promise.reject(new Error('ORT exploded')) : Promise.resolve(items.map((x) => x + 1))),
      }),
    );
    const err: unknown = await b.submit([1]).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AppError', code: 'INFERENCE_FAILED', message: 'Model m failed to run.' });
    expect((err as Error).cause).toEqual(new Error('ORT exploded'));
    fail = false;
    expect(await b.submit([1])).toEqual([2]);
  });

  it('Fails the batch when the runner returns the wrong number of outputs', async () => {
    const b = createBatcher(options({ run: () => Promise.resolve([1]) }));
    await expect(Promise.all([b.submit([1]), b.submit([2])])).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: 'Model m: the runner returned 1 outputs for 2 inputs.',
    });
  });

  it('On close fails waiting requests, finishes the running batch, then refuses new work', async () => {
    const r = gatedRunner();
    const b = createBatcher(options({ maxBatch: 1, run: r.run }));
    const running = b.submit([1]);
    const waiting = b.submit([2]);
    const closed = b.close();
    await expect(waiting).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', message: 'Model m is shutting down.' });
    let done = false;
    void closed.then(() => (done = true));
    await sleep(5);
    expect(done).toBe(false); // still waiting for the running batch
    r.release();
    await closed;
    expect(await running).toEqual([10]);
    await expect(b.submit([3])).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  });

  it('Answers an empty submit at once and refuses impossible limits', async () => {
    expect(await createBatcher(options({})).submit([])).toEqual([]);
    expect(() => createBatcher(options({ maxBatch: 0 }))).toThrow(new RangeError('maxBatch must be an integer ≥ 1, got 0'));
    expect(() => createBatcher(options({ timeoutMs: 0 }))).toThrow(new RangeError('timeoutMs must be > 0, got 0'));
  });
});

/**
 * Worker threads that run DICOM cases with a time limit each and a memory watchdog: a case
 * that runs past its time is a hang (its thread is terminated and replaced); a thread that
 * dies is a crash; when the process's resident memory crosses the limit, the cases in flight
 * are rerun one at a time to find the one that needs it, which is recorded as `memory`.
 */
import { Worker } from 'node:worker_threads';
import type { DicomCheckOptions } from './dicom-check.js';
import type { WorkerAnswer, WorkerCase } from './dicom-worker.js';

export interface PoolResult {
  /** The check's outcome, or `hang`, `crash` (the thread died) or `memory`. */
  readonly outcome: string;
  readonly detail: string;
  readonly ms: number;
}

export interface DicomPool {
  run(bytes: Uint8Array, options: DicomCheckOptions): Promise<PoolResult>;
  close(): Promise<void>;
}

export interface DicomPoolOptions {
  readonly workers: number;
  readonly timeoutMs: number;
  /** Resident set size of the whole process above which the cases in flight are suspected. */
  readonly rssLimitBytes: number;
  /** V8 heap limit per worker (typed arrays live outside it; the RSS watchdog covers those). */
  readonly heapMb: number;
}

interface Task {
  readonly bytes: Uint8Array;
  readonly options: DicomCheckOptions;
  readonly resolve: (r: PoolResult) => void;
  alone: boolean;
}

interface Slot {
  worker: Worker;
  /** The thread has loaded its modules (a case's time starts when it is ready). */
  ready: boolean;
  task: Task | undefined;
  id: number;
  started: number;
  timer: NodeJS.Timeout | undefined;
}

class Pool implements DicomPool {
  private readonly script = new URL('./dicom-worker.js', import.meta.url);
  private readonly queue: Task[] = [];
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly o: DicomPoolOptions) {
    for (let i = 0; i < o.workers; i++) {
      const slot: Slot = { worker: undefined as unknown as Worker, ready: false, task: undefined, id: -1, started: 0, timer: undefined };
      slot.worker = this.spawn(slot);
      this.slots.push(slot);
    }
    this.watchdog = setInterval(() => { this.checkMemory(); }, 100);
    this.watchdog.unref();
  }

  run(bytes: Uint8Array, options: DicomCheckOptions): Promise<PoolResult> {
    return new Promise<PoolResult>((resolve) => {
      this.queue.push({ bytes, options, resolve, alone: false });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private finish(slot: Slot, result: PoolResult): void {
    const task = slot.task;
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.task = undefined;
    slot.timer = undefined;
    task?.resolve(result);
  }

  /** Replaces a slot's thread (after a hang, a crash or a memory alarm). */
  private replace(slot: Slot): void {
    const old = slot.worker;
    old.removeAllListeners();
    old.on('error', () => undefined);
    void old.terminate();
    slot.worker = this.spawn(slot);
  }

  private spawn(slot: Slot): Worker {
    const worker = new Worker(this.script, { resourceLimits: { maxOldGenerationSizeMb: this.o.heapMb } });
    worker.unref();
    slot.ready = false;
    worker.on('message', (a: WorkerAnswer | { ready: true }) => {
      if ('ready' in a) {
        slot.ready = true;
        this.pump();
        return;
      }
      if (slot.task !== undefined && a.id === slot.id) this.finish(slot, { outcome: a.outcome, detail: a.detail, ms: a.ms });
      this.pump();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const memory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.finish(slot, { outcome: memory ? 'memory' : 'crash', detail: `worker thread died: ${err.stack ?? err.message}`, ms: Date.now() - slot.started });
      this.replace(slot);
      this.pump();
    });
    worker.on('exit', (code) => {
      if (this.closed) return;
      this.finish(slot, { outcome: 'crash', detail: `worker thread exited with code ${code}`, ms: Date.now() - slot.started });
      this.replace(slot);
      this.pump();
    });
    return worker;
  }

  private dispatch(slot: Slot, task: Task): void {
    slot.task = task;
    slot.id = this.nextId++;
    slot.started = Date.now();
    slot.timer = setTimeout(() => {
      this.finish(slot, { outcome: 'hang', detail: `no answer after ${this.o.timeoutMs} ms (thread terminated)`, ms: this.o.timeoutMs });
      this.replace(slot);
      this.pump();
    }, this.o.timeoutMs);
    const message: WorkerCase = { id: slot.id, bytes: task.bytes, options: task.options };
    slot.worker.postMessage(message);
  }

  private pump(): void {
    if (this.closed) return;
    if (this.slots.some((s) => s.task?.alone === true)) return;
    for (const slot of this.slots) {
      const task = this.queue[0];
      if (task === undefined || slot.task !== undefined || !slot.ready) continue;
      if (task.alone && this.slots.some((s) => s.task !== undefined)) return;
      this.queue.shift();
      this.dispatch(slot, task);
      if (task.alone) return;
    }
  }

  /** Over the RSS limit: a case running alone is the cause; otherwise rerun each in flight alone. */
  private checkMemory(): void {
    if (process.memoryUsage().rss <= this.o.rssLimitBytes) return;
    for (const slot of this.slots) {
      const task = slot.task;
      if (task === undefined) continue;
      if (task.alone) {
        this.finish(slot, { outcome: 'memory', detail: `process RSS over ${Math.round(this.o.rssLimitBytes / 2 ** 20)} MiB while this case ran alone`, ms: Date.now() - slot.started });
      } else {
        if (slot.timer !== undefined) clearTimeout(slot.timer);
        slot.task = undefined;
        task.alone = true;
        this.queue.unshift(task);
      }
      this.replace(slot);
    }
    this.pump();
  }
}

export function createDicomPool(o: DicomPoolOptions): DicomPool {
  return new Pool(o);
}

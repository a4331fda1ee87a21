/**
 * Worker thread entry: runs DICOM cases sent by the pool (dicom-pool.ts) one at a time and
 * answers each outcome. Decoding is synchronous, so a hang can only be stopped from outside:
 * the pool terminates this thread when a case runs past its time.
 */
import { parentPort } from 'node:worker_threads';
import { checkDicom, type DicomCheckOptions, type DicomOutcome } from './dicom-check.js';

/** A case as the pool sends it. */
export interface WorkerCase {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly options: DicomCheckOptions;
}

/** The answer. */
export interface WorkerAnswer extends DicomOutcome {
  readonly id: number;
  readonly ms: number;
}

if (parentPort !== null) {
  const port = parentPort;
  // Modules are loaded: the pool starts timing cases from here on.
  port.postMessage({ ready: true });
  port.on('message', (c: WorkerCase) => {
    const t0 = performance.now();
    const outcome = checkDicom(c.bytes, c.options);
    const answer: WorkerAnswer = { id: c.id, ms: performance.now() - t0, ...outcome };
    port.postMessage(answer);
  });
}

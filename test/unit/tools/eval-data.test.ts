import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DATA_DIR_ENV, missingData, resolveDataDir } from '../../../tools/eval/index.js';
import type { EvaluationTarget } from '../../../tools/eval/index.js';
import { binaryMetrics, rocAuc } from '../../../tools/eval/binary-metrics.js';
import { parseNpy, readZip } from '../../../tools/eval/npz.js';
import { secondObserverAgreement, segmentationMetrics } from '../../../tools/eval/segmentation-metrics.js';

const targets: EvaluationTarget[] = [
  { modelId: 'a', section: 'metrics', testSet: { kind: 'medmnist', file: 'breastmnist.npz', positiveLabels: [0] } },
  { modelId: 'b', section: 'metrics', testSet: { kind: 'kermany-jpeg', colour: 'rgb' } },
  { modelId: 'c', section: 'metrics', testSet: { kind: 'kermany-jpeg', colour: 'grey' } },
  { modelId: 'd', section: 'metrics', testSet: { kind: 'drive' } },
];

describe('the data folder', () => {
  it('is $IMAGING_CDS_DATA when set', () => {
    expect(resolveDataDir('/repo', { [DATA_DIR_ENV]: '/elsewhere/data' })).toBe('/elsewhere/data');
    expect(resolveDataDir('/no/such/repo', {})).toBe(path.join('/no/such', 'shared', 'data'));
  });

  it('when missing, is the one path named', () => {
    expect(missingData(targets, '/no/such/data')).toEqual(['/no/such/data']);
  });

  it('names each missing test set once', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-data-'));
    try {
      mkdirSync(path.join(dir, 'medmnist'));
      writeFileSync(path.join(dir, 'medmnist', 'breastmnist.npz'), '');
      expect(missingData(targets, dir)).toEqual([path.join(dir, 'kermany-cxr-224', 'test'), path.join(dir, 'drive', 'testing')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics', () => {
  it('AUC counts ties as half', () => {
    expect(rocAuc([0, 1, 0, 1], [0.1, 0.9, 0.5, 0.5])).toBeCloseTo(0.875, 12);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('accuracy, sensitivity and specificity of probability ≥ threshold', () => {
    expect(binaryMetrics([1, 1, 0, 0], [0.5, 0.4, 0.5, 0.1], 0.5)).toEqual({ n: 4, positives: 2, auc: 0.625, accuracy: 0.5, sensitivity: 0.5, specificity: 0.5 });
  });

  it('segmentation counts only field-of-view pixels', () => {
    const c = {
      name: '01',
      image: { width: 4, height: 1, channels: 1 as const, data: new Float32Array(4) },
      fov: Uint8Array.of(1, 1, 1, 0),
      reference: Uint8Array.of(1, 0, 1, 1),
      secondObserver: Uint8Array.of(1, 1, 0, 0),
    };
    const m = segmentationMetrics([c], [Float32Array.of(0.9, 0.2, 0.4, 0.9)], 0.5);
    expect(m).toMatchObject({ pixels: 3, auc: 1, accuracy: 2 / 3, sensitivity: 0.5, specificity: 1, dice: 2 / 3 });
    expect(secondObserverAgreement([c])).toEqual({ dice: 0.5, accuracy: 1 / 3, sensitivity: 0.5, specificity: 0 });
  });
});

/** A zip with stored (uncompressed) entries, as numpy.savez writes them. */
function storedZip(entries: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Object.keys(entries).length, 8);
  eocd.writeUInt16LE(Object.keys(entries).length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A .npy 1.0 file of uint8 values. */
function npyU8(shape: number[], values: number[]): Buffer {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head.writeUInt8(1, 6);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values)]);
}

describe('npz reader', () => {
  it('reads uint8 arrays with their shapes from a stored zip', () => {
    const zip = readZip(storedZip({ 'test_images.npy': npyU8([2, 1, 2], [0, 255, 7, 9]), 'test_labels.npy': npyU8([2, 1], [1, 0]) }));
    const images = parseNpy(zip.get('test_images.npy') ?? Buffer.alloc(0));
    expect(images.dtype).toBe('u1');
    expect(images.shape).toEqual([2, 1, 2]);
    expect([...images.data]).toEqual([0, 255, 7, 9]);
    expect(parseNpy(zip.get('test_labels.npy') ?? Buffer.alloc(0)).shape).toEqual([2, 1]);
  });

  it('says what it cannot read', () => {
    expect(() => readZip(Buffer.alloc(40))).toThrow('npz: no end-of-central-directory record (not a zip file)');
  });
});

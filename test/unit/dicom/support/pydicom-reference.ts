/**
 * An independent decoder for comparison: Debian's pydicom (with numpy), run with the system
 * Python (plain `python3` may be a pyenv build that cannot see Debian's packages).
 * `pixel_array` needs no extra packages for uncompressed syntaxes. One Python process decodes
 * a whole batch, because starting numpy costs about half a second.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = `
import json, sys
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space
out_dir, kind, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
shapes = []
for i, path in enumerate(paths):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if kind == 'modality':
        arr = apply_modality_lut(arr, ds)
        if ds.PhotometricInterpretation.startswith('YBR_FULL'):
            arr = convert_color_space(arr, 'YBR_FULL', 'RGB')
    np.ascontiguousarray(arr, dtype='<f8').tofile(f'{out_dir}/{i}.f64')
    shapes.append(list(arr.shape))
print(json.dumps(shapes))
`;

/** pydicom's pixel array: its shape and its values in C order as float64. */
export interface ReferencePixels {
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

/**
 * Decodes files with pydicom. `stored` is `pixel_array` (stored values, YBR not converted to
 * RGB); `modality` adds `apply_modality_lut` (RescaleSlope/Intercept) and converts YBR_FULL to RGB. Throws, with Python's
 * stderr, when Python, numpy or pydicom is missing: a comparison must never silently pass.
 */
export function pydicomPixels(paths: readonly string[], kind: 'stored' | 'modality'): ReferencePixels[] {
  const dir = mkdtempSync(join(tmpdir(), 'pydicom-ref-'));
  try {
    const stdout = execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c', SCRIPT, dir, kind, ...paths], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const shapes = JSON.parse(stdout) as number[][];
    return shapes.map((shape, i) => {
      const bytes = readFileSync(join(dir, `${i}.f64`));
      // Copy into a fresh buffer: a Buffer's offset in its pool need not be 8-byte aligned.
      const values = new Float64Array(bytes.byteLength / 8);
      new Uint8Array(values.buffer).set(bytes);
      return { shape, values };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

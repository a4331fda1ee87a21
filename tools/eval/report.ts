/**
 * The human-readable report of a card check.
 */
import { DEFAULT_TOLERANCE } from './card-check.js';
import type { CardCheck } from './card-check.js';

/**
 * One block per checked section, then a summary line: `all N model card sections agree within
 * T` or `F of N model card sections disagree`.
 */
export function formatChecks(checks: readonly CardCheck[], tolerance = DEFAULT_TOLERANCE): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok ? 'OK  ' : 'FAIL'} ${c.modelId} [${c.section}] (${c.seconds.toFixed(1)} s)`);
    if (c.error !== undefined) {
      for (const line of c.error.split('\n')) lines.push(`     error: ${line}`);
      continue;
    }
    lines.push(`     ${c.dataset}`);
    lines.push(`     ${c.counted}, threshold ${c.threshold}`);
    for (const m of c.checks) {
      const stated = m.stated === undefined ? 'missing' : m.stated.toFixed(4);
      const diff = m.stated === undefined ? '' : ` |diff| ${Math.abs(m.stated - m.computed).toFixed(5)}`;
      lines.push(`     ${m.ok ? ' ' : '!'} ${m.key.padEnd(26)} manifest ${stated}  pipeline ${m.computed.toFixed(4)}${diff}`);
    }
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? `all ${checks.length} model card sections agree within ${tolerance}` : `${failed} of ${checks.length} model card sections disagree`);
  return lines.join('\n');
}

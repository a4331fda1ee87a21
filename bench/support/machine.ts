/**
 * The machine a bench ran on, in the words its report needs: CPU model, logical CPUs (what
 * `nproc` says), hypervisor, memory, GPU or not, load average, Node and onnxruntime-node versions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';

function hypervisor(): string {
  try {
    const vendor = /^Hypervisor vendor:\s*(.+)$/m.exec(execFileSync('lscpu', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1]?.trim();
    if (vendor !== undefined) return `${vendor} virtual machine`;
  } catch {
    // no lscpu: look at the CPU flags
  }
  try {
    return /^flags\s*:.*\bhypervisor\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'virtual machine' : 'no hypervisor seen';
  } catch {
    return 'hypervisor unknown';
  }
}

function ortVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

export function machineLines(): string[] {
  const gpu = existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia') ? 'an NVIDIA device is present but not used (CPU execution provider)' : 'no GPU (CPU only)';
  return [
    `machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} logical CPUs (nproc), ${hypervisor()}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${gpu}; load average at the start ${loadavg().map((v) => v.toFixed(2)).join(' ')}`,
    `node ${process.version}, onnxruntime-node ${ortVersion()} (CPU execution provider)`,
  ];
}

/**
 * Outcome counts, failures with their reproductions (saved under one temp folder), notes that
 * are worth a look but do not fail the run, and the closing summary.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What fails a run: a server error, anything thrown that is not an expected AppError, a hang, memory. */
export type FailureKind = '5xx' | 'crash' | 'hang' | 'memory' | 'dropped';

export interface Failure {
  readonly kind: FailureKind;
  /** e.g. `dicom case 812` */
  readonly where: string;
  /** One line: what happened. */
  readonly title: string;
  /** Longer text: stacks, the mutations applied, the service's own error log. */
  readonly detail: string;
  /** Lines a person runs (or reads) to reproduce it. */
  readonly reproduce: readonly string[];
  /** Failures with the same kind and signature are one finding (default: the title). */
  readonly signature?: string;
}

export interface Note {
  readonly where: string;
  readonly text: string;
}

const MAX_NOTES_KEPT = 2000;

export class Report {
  readonly started = Date.now();
  private readonly counts = new Map<string, Map<string, number>>();
  readonly failures: Failure[] = [];
  private readonly notes = new Map<string, Note[]>();
  private readonly noteCounts = new Map<string, number>();
  private dir: string | undefined;
  readonly timings = new Map<string, number>();

  constructor(readonly seed: number) {}

  /** Counts one outcome in a category (e.g. `dicom` / `DICOM_INVALID`). */
  count(category: string, outcome: string, n = 1): void {
    const m = this.counts.get(category) ?? new Map<string, number>();
    m.set(outcome, (m.get(outcome) ?? 0) + n);
    this.counts.set(category, m);
  }

  countOf(category: string, outcome: string): number {
    return this.counts.get(category)?.get(outcome) ?? 0;
  }

  fail(f: Failure): void {
    this.failures.push(f);
  }

  /** Something odd that does not fail the run (e.g. a 4xx whose body is not an OperationOutcome). */
  note(kind: string, n: Note): void {
    this.noteCounts.set(kind, (this.noteCounts.get(kind) ?? 0) + 1);
    const list = this.notes.get(kind) ?? [];
    if (list.length < MAX_NOTES_KEPT) list.push(n);
    this.notes.set(kind, list);
  }

  /** The folder reproductions are written to, made on first use. */
  folder(): string {
    this.dir ??= mkdtempSync(path.join(tmpdir(), `imaging-cds-fuzz-${this.seed}-`));
    return this.dir;
  }

  /** Saves a reproduction file and returns its path. */
  save(name: string, data: Uint8Array | string): string {
    const file = path.join(this.folder(), name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
    return file;
  }

  private line(category: string): string {
    const m = this.counts.get(category);
    if (m === undefined) return `${category}: (none)`;
    const entries = [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const total = entries.reduce((s, [, n]) => s + n, 0);
    return `${category} (${total}): ${entries.map(([k, n]) => `${k} ${n}`).join(', ')}`;
  }

  categories(): string[] {
    return [...this.counts.keys()];
  }

  /** The closing text: counts per category, failures with reproductions, notes. */
  summary(): string {
    const out: string[] = ['', '=== fuzz summary ===', `seed ${this.seed}; ${((Date.now() - this.started) / 1000).toFixed(1)} s in all`];
    for (const [phase, ms] of this.timings) out.push(`  ${phase}: ${(ms / 1000).toFixed(1)} s`);
    for (const c of this.categories()) out.push(this.line(c));
    const by = (k: FailureKind): number => this.failures.filter((f) => f.kind === k).length;
    out.push(`5xx ${by('5xx')}; crashes ${by('crash')}; hangs ${by('hang')}; memory ${by('memory')}; dropped connections ${by('dropped')}`);
    for (const [kind, n] of this.noteCounts) {
      out.push(`note: ${kind} ${n}`);
      for (const note of (this.notes.get(kind) ?? []).slice(0, 5)) out.push(`    ${note.where}: ${note.text}`);
    }
    if (this.failures.length > 0) {
      const groups = this.groups();
      out.push('', `=== ${this.failures.length} failure(s) in ${groups.length} group(s); reproductions under ${this.folder()} ===`);
      for (const g of groups) {
        const f = g[0] as Failure;
        const others = g.slice(1).map((x) => x.where.replace(/^.* case /, ''));
        out.push('', `[${f.kind}] ×${g.length} — ${f.where}: ${f.title}`, ...f.detail.split('\n').map((l) => `    ${l}`), '  reproduce:', ...f.reproduce.map((l) => `    ${l}`));
        if (others.length > 0) out.push(`  same signature also in case(s): ${others.slice(0, 30).join(', ')}${others.length > 30 ? `, … (${others.length} in all)` : ''}`);
      }
    }
    return out.join('\n');
  }

  /** Failures grouped by kind and signature, largest group first. */
  groups(): Failure[][] {
    const by = new Map<string, Failure[]>();
    for (const f of this.failures) {
      const key = `${f.kind}|${f.signature ?? f.title}`;
      by.set(key, [...(by.get(key) ?? []), f]);
    }
    return [...by.values()].sort((a, b) => b.length - a.length);
  }

  /** Every note, for the saved report. */
  allNotes(): Record<string, Note[]> {
    return Object.fromEntries(this.notes);
  }
}

/**
 * Phase 3: seeded request mutations against both services over real HTTP on loopback. Every
 * answer must be below 500; a request whose framing is whole must be answered (a dropped
 * connection counts as a failure); nothing may take longer than the per-request limit.
 */
import type { ErrorLog, RunningTarget } from './fuzz-stack.js';
import { curlFor, encodeRequest, sendRaw, type RawResult } from './raw-http.js';
import { buildRequestCase, type Mode, type RequestCase } from './request-build.js';
import type { Report } from './report.js';

export interface RequestPhaseOptions {
  readonly cases: number;
  readonly only: number | undefined;
  readonly targets: Readonly<Record<Mode, RunningTarget>>;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly report: Report;
  readonly progress: (line: string) => void;
}

/** Error-level service logs by request id (X-Request-Id is fz-<mode>-<case>). */
export class ErrorLogs {
  private readonly byRequest = new Map<string, ErrorLog[]>();
  constructor(private readonly targets: readonly RunningTarget[]) {}

  drain(): void {
    for (const t of this.targets) {
      for (const e of t.drainErrors()) {
        const key = e.requestId ?? 'none';
        this.byRequest.set(key, [...(this.byRequest.get(key) ?? []), e]);
      }
    }
  }

  take(requestId: string): ErrorLog[] {
    this.drain();
    const found = this.byRequest.get(requestId) ?? [];
    this.byRequest.delete(requestId);
    return found;
  }

  /** Error logs no case claimed (no request id, or one the fuzzer did not send). */
  rest(): ErrorLog[] {
    this.drain();
    return [...this.byRequest.values()].flat();
  }
}

function bodyText(result: RawResult): string {
  return result.kind === 'response' ? result.body.toString('utf8').slice(0, 600) : '';
}

/** The OperationOutcome's code, else its text, else `(empty body)` (answers of Node's HTTP parser). */
function answerCode(body: Buffer): string {
  const text = body.toString('utf8');
  if (text === '') return '(empty body)';
  const diagnostics = /"diagnostics":"([^"]{0,60})/.exec(text)?.[1];
  if (diagnostics === undefined) return '(not an OperationOutcome)';
  return /^([A-Z_]+):/.exec(diagnostics)?.[1] ?? JSON.stringify(diagnostics.slice(0, 40));
}

/** Invariants that do not fail the run but are worth reading. */
function checkShape(report: Report, c: RequestCase, result: RawResult & { kind: 'response' }): void {
  const where = `request case ${c.index} (${c.mode}, ${c.route})`;
  const text = result.body.toString('utf8');
  if (result.status === 401 && text !== '') report.note('401 with a body', { where, text: text.slice(0, 200) });
  if (result.status === 401 && c.mode === 'noauth') report.note('401 from the unauthenticated service', { where, text: c.notes.join('; ') });
  if (result.status >= 400 && result.status !== 401 && text !== '') {
    let outcome: { resourceType?: unknown } | undefined;
    try {
      outcome = JSON.parse(text) as { resourceType?: unknown };
    } catch {
      outcome = undefined;
    }
    if (outcome?.resourceType !== 'OperationOutcome') report.note('error answer that is not an OperationOutcome', { where, text: `${result.status} ${result.headers['content-type'] ?? ''}: ${text.slice(0, 160)}` });
  }
}

function reproduction(report: Report, c: RequestCase, port: number): string[] {
  const raw = report.save(`request-${c.index}.raw`, encodeRequest(c.req));
  const bodyFile = c.req.body === undefined ? undefined : report.save(`request-${c.index}.body`, c.req.body);
  const curl = curlFor(port, c.req, bodyFile);
  return [
    `node dist/tools/fuzz/run.js --seed ${report.seed} --only-request ${c.index}   (fresh stack, same request; tokens re-signed)`,
    ...(curl === undefined ? [] : [`${curl}   (against the ${c.mode} service the fuzzer started, port ${port}${c.mode === 'auth' ? '; the token is single-use and expires in 4 min' : ''})`]),
    `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}; cat ${raw} >&3; timeout 10 cat <&3'   (the exact bytes)`,
  ];
}

function record(o: RequestPhaseOptions, logs: ErrorLogs, c: RequestCase, result: RawResult): void {
  const { report } = o;
  const t = o.targets[c.mode];
  const errors = logs.take(`fz-${c.mode}-${c.index}`);
  const where = `request case ${c.index}`;
  const detail = (): string => [`mode: ${c.mode}; route: ${c.route}; mutations: ${c.notes.join('; ')}`, `request: ${c.req.method} ${c.req.target.slice(0, 200)}`, ...(result.kind === 'response' ? [`answer: ${result.status} ${bodyText(result)}`] : []), ...errors.map((e) => `service log (${e.msg}):\n${e.text}`)].join('\n');
  if (result.kind === 'timeout') {
    report.count('http', 'no answer (hang)');
    report.fail({ kind: 'hang', where, title: `no answer within ${o.timeoutMs} ms`, detail: detail(), reproduce: reproduction(report, c, t.port) });
    return;
  }
  if (result.kind === 'closed') {
    report.count('http', c.mayClose ? 'closed by server (incomplete request)' : 'closed without answer');
    if (!c.mayClose) report.fail({ kind: 'dropped', where, title: `connection closed without an answer${result.error === undefined ? '' : ` (${result.error})`}`, detail: detail(), reproduce: reproduction(report, c, t.port) });
    return;
  }
  report.count('http', String(result.status));
  if (result.status >= 400 && result.status !== 401) report.count('http codes', `${result.status} ${answerCode(result.body)}`);
  report.count(`http ${c.mode}`, String(result.status));
  report.count('http by route', `${c.route} ${result.status}`);
  checkShape(report, c, result);
  if (result.ms > 5000) report.note('slow answer (> 5 s)', { where, text: `${Math.round(result.ms)} ms, ${result.status}, ${c.notes.join('; ')}` });
  if (result.status >= 500) {
    const signature = errors[0] === undefined ? `HTTP ${result.status} ${bodyText(result).slice(0, 120)}` : errors[0].text.split('\n').slice(0, 2).join(' ');
    report.fail({ kind: '5xx', where, title: `HTTP ${result.status} (${c.mode}, ${c.route})`, detail: detail(), reproduce: reproduction(report, c, t.port), signature });
  } else if (errors.length > 0) {
    report.note('service error log on a request answered below 500', { where, text: `${result.status}; ${errors.map((e) => `${e.msg}: ${e.text.split('\n')[0] ?? ''}`).join(' | ')}` });
  }
}

/** The first of two sends of one token (the counted one is the replay): only a 5xx matters. */
async function firstSend(o: RequestPhaseOptions, logs: ErrorLogs, c: RequestCase): Promise<void> {
  const id = `fz-${c.mode}-${c.index}-first`;
  const req = { ...c.req, headers: c.req.headers.map(([k, v]) => [k, k === 'X-Request-Id' ? id : v] as const) };
  const result = await sendRaw(o.targets[c.mode].port, req, o.timeoutMs);
  const errors = logs.take(id);
  if (result.kind === 'response' && result.status < 500) return;
  const title = result.kind === 'response' ? `HTTP ${result.status}` : result.kind;
  o.report.fail({
    kind: result.kind === 'timeout' ? 'hang' : result.kind === 'closed' ? 'dropped' : '5xx',
    where: `request case ${c.index} (first send)`,
    title: `${title} (${c.mode}, ${c.route})`,
    detail: [`mutations: ${c.notes.join('; ')}`, bodyText(result), ...errors.map((e) => `service log (${e.msg}):\n${e.text}`)].join('\n'),
    reproduce: reproduction(o.report, c, o.targets[c.mode].port),
    ...(errors[0] === undefined ? {} : { signature: errors[0].text.split('\n').slice(0, 2).join(' ') }),
  });
}

export async function runRequestPhase(o: RequestPhaseOptions): Promise<void> {
  const t0 = Date.now();
  const logs = new ErrorLogs(Object.values(o.targets));
  logs.drain();
  const indices = o.only === undefined ? Array.from({ length: o.cases }, (_, i) => i) : [o.only];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let i = indices[next++]; i !== undefined; i = indices[next++]) {
      const c = buildRequestCase(o.report.seed, i, o.targets);
      const port = o.targets[c.mode].port;
      if (c.sendTwice) await firstSend(o, logs, c);
      record(o, logs, c, await sendRaw(port, c.req, o.timeoutMs));
      done++;
      if (done % 1000 === 0) o.progress(`requests: ${done}/${indices.length}, ${(done / ((Date.now() - t0) / 1000)).toFixed(0)}/s`);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  for (const e of logs.rest()) o.report.note('service error log not tied to a fuzz request', { where: e.requestId ?? 'no request id', text: `${e.msg}: ${e.text.split('\n').slice(0, 3).join(' / ')}` });
  o.report.timings.set(`requests (${indices.length} cases over HTTP)`, Date.now() - t0);
}

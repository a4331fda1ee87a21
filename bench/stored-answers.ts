/**
 * Ready answers at the speed of the web server: the result hook answering a request it has
 * already answered finally, from the stored answer, against a bare express app answering the
 * same bytes, on loopback, on the same machine.
 *
 *   A   bare express (its own process): `POST /cds-services/imaging-ai-result`, the body parsed
 *       with express.json as the service parses it, answered with the service's stored answer
 *   A'  the same, but first verifying the request's ES384 client JWT with jose (the same key type,
 *       issuers, audience and claim checks as the service; no replay cache, no rate limit): the
 *       cost of authentication alone
 *   B   the service as deployed (`node dist/src/main.js`, its own process, LOG_LEVEL=info to a
 *       file, MODELS=pneumonia-cxr-224), trusted issuers from a JWK Set file, answering the same
 *       fully prefetched request (ImagingStudy + Endpoint + Patient with a birth date, as
 *       src/cli/sample-fhir.ts `resultHookRequest` builds it) from its stored final answer; every
 *       request carries a fresh JWT (new jti), verified in full (signature, claims, per-issuer
 *       rate limit, replay cache); several issuers share the load so none reaches its limit
 *
 * Before timing: the demo DICOMweb server (src/cli `startDemoPacs`) serves one sample radiograph;
 * the service is called with the request until it answers from its store
 * (`cds_stored_answers_total` on the ops port's /metrics increases); A and A' get the bytes of
 * that answer, and all three are checked to answer the same body.
 *
 * Load: wrk (Debian package `wrk`), keep-alive connections, a Lua script that sends the same body
 * with the next pre-signed token per request (tokens signed before each round, outside the timed
 * window; A ignores them, A' and B verify them; B never sees one twice: a replay would be a 401,
 * and the round fails). Rounds alternate A, A', B (order reversed every other round); the summary
 * gives the median ratios B/A and B/A' with their ranges, wrk's p50/p99 latency under load and at
 * one connection, and CPU per request of each server process (all threads, and the main thread).
 * When B/A misses the goal, one more B round runs against a second service started with
 * `--cpu-prof`, and the profile of that round says where the main thread's time went.
 *
 *   npm run bench:stored-answers
 *   env: BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_WRK_THREADS (1 on ≤ 4
 *        CPUs, else 2), BENCH_ISSUERS (8), BENCH_PROFILE (1: profile when the goal is missed;
 *        0: never; always: always), BENCH_SERVICE_ENV (JSON object of extra service settings, for
 *        diagnosis, e.g. {"LOG_LEVEL":"warn"}; printed), BENCH_KEEP=1 (keep the temporary folder)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PROJECT_ROOT } from '../src/config.js';
import { resultHookRequest, sampleImagingStudy, startDemoPacs, wadoRsEndpoint } from '../src/cli/index.js';
import { createBenchKeys, PUBLIC_BASE_URL, signToken, trustedIssuersEnv, type BenchKeys } from './support/bench-tokens.js';
import { summariseProfile } from './support/cpu-profile.js';
import { machineLines } from './support/machine.js';
import { freePort, sleep } from './support/processes.js';
import { metricSum, scrape } from './support/service-processes.js';
import { BARE_ROLES, runBareServer, type BareRole } from './support/stored-answer-servers.js';
import { requireWrk, runWrk, writeTokenScript, type WrkResult } from './support/wrk.js';
import { formatSpread, median, spread } from './stats.js';

const SELF = fileURLToPath(import.meta.url);
const CPUS = availableParallelism();
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const WRK_THREADS = Number(process.env['BENCH_WRK_THREADS'] ?? (CPUS <= 4 ? 1 : 2));
const ISSUERS = Number(process.env['BENCH_ISSUERS'] ?? 8);
const PROFILE = process.env['BENCH_PROFILE'] ?? '1';
const GOAL = 0.7;
const MODELS = 'pneumonia-cxr-224';
const HOOK_PATH = '/cds-services/imaging-ai-result';
const AUDIENCE = `${PUBLIC_BASE_URL}${HOOK_PATH}`;
const STORED = 'cds_stored_answers_total';

type Role = 'A' | "A'" | 'B';

/** A server under load: where to send requests, and its process for CPU accounting. */
interface Target {
  readonly role: Role;
  readonly url: string;
  readonly pid: number;
  readonly opsUrl?: string;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Processes

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => { resolve(); });
  });
}

/** A reference server (A or A'), forked from this file. */
async function startBare(role: BareRole, env: Record<string, string>): Promise<Target> {
  const child = fork(SELF, [`server:${role}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port?: number }) => { if (m.port === undefined) reject(new Error(`${role} did not start`)); else resolve(m.port); });
    child.once('exit', (code) => { reject(new Error(`${role} exited (${String(code)}) before listening`)); });
  });
  if (child.pid === undefined) throw new Error(`${role} has no pid`);
  const exited = exitOf(child);
  return {
    role: role === 'bare' ? 'A' : "A'",
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      if (child.connected) child.send({ kind: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * `node [nodeArgs] dist/src/main.js` with `env`, its stdout and stderr written straight to
 * `logFile` (no pipe through this process); resolves once its /readyz answers 200.
 */
async function startService(env: Record<string, string>, logFile: string, nodeArgs: readonly string[] = []): Promise<Target> {
  const [port, opsPort] = [await freePort(), await freePort()];
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'src', 'main.js')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env, PORT: String(port), HOST: '127.0.0.1', OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = exitOf(child);
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the service did not become ready; its log (${logFile}):\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    const ok = await fetch(`${opsUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      async (res) => { await res.arrayBuffer(); return res.status === 200; },
      () => false,
    );
    if (ok) break;
    await sleep(50);
  }
  if (child.pid === undefined) throw new Error('the service has no pid');
  return { role: 'B', url: `http://127.0.0.1:${port}`, pid: child.pid, opsUrl, stop };
}

// ---------------------------------------------------------------------------------------------
// CPU of a process, from /proc (Linux; 10 ms ticks)

const TICK_US = 10_000;

function ticksUs(file: string): number {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

interface Cpu {
  readonly allUs: number;
  readonly mainUs: number;
}

const cpuOf = (pid: number): Cpu => ({ allUs: ticksUs(`/proc/${pid}/stat`), mainUs: ticksUs(`/proc/${pid}/task/${pid}/stat`) });

// ---------------------------------------------------------------------------------------------
// Requests and tokens

async function post(url: string, token: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${HOOK_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text() };
}

/** `count` tokens for the hook's audience, the issuers taking turns, signed a batch at a time. */
async function signHookTokens(keys: BenchKeys, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let start = 0; start < count; start += 256) {
    const n = Math.min(256, count - start);
    tokens.push(...(await Promise.all(Array.from({ length: n }, (_, i) => signToken(keys, keys.issuers[(start + i) % keys.issuers.length] ?? '', AUDIENCE)))));
  }
  return tokens;
}

async function tokenFile(keys: BenchKeys, dir: string, name: string, count: number): Promise<string> {
  const file = path.join(dir, `tokens-${name}.txt`);
  writeFileSync(file, `${(await signHookTokens(keys, count)).join('\n')}\n`);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Measured {
  readonly wrk: WrkResult;
  /** CPU per request, µs: the whole server process, and its main thread. */
  readonly cpuUs: number;
  readonly mainUs: number;
  /** Cores the server process kept busy. */
  readonly cores: number;
  /** Stored answers sent during the run (B only). */
  readonly stored?: number;
}

async function measure(target: Target, script: string, tokens: string, seconds: number, connections = CONNECTIONS): Promise<Measured> {
  const storedBefore = target.opsUrl === undefined ? undefined : metricSum(await scrape(target.opsUrl), STORED);
  const before = cpuOf(target.pid);
  const wrk = await runWrk({ url: target.url, script, tokensFile: tokens, threads: Math.min(WRK_THREADS, connections), connections, seconds });
  const after = cpuOf(target.pid);
  const stored = target.opsUrl === undefined || storedBefore === undefined ? undefined : metricSum(await scrape(target.opsUrl), STORED) - storedBefore;
  const n = Math.max(1, wrk.requests);
  const m = { wrk, cpuUs: (after.allUs - before.allUs) / n, mainUs: (after.mainUs - before.mainUs) / n, cores: (after.allUs - before.allUs) / 1e6 / wrk.seconds, stored };
  if (wrk.non2xx > 0 || wrk.socketErrors !== undefined) {
    throw new Error(`${target.role}: ${wrk.non2xx} answers other than 2xx (${wrk.socketErrors ?? 'no socket errors'}); a 401 from B means a token was sent twice: raise BENCH_TOKEN_FACTOR`);
  }
  if (stored !== undefined && stored < wrk.requests) throw new Error(`B: ${wrk.requests} answers but only ${stored} from the store`);
  return m;
}

/**
 * Calls the service with the request as `iss` (fresh token each time) until one answer comes from
 * its store; returns that answer's bytes and how many calls it took.
 */
async function warmUntilStored(service: Target, keys: BenchKeys, iss: string, body: string): Promise<{ answer: string; calls: number; ms: number }> {
  if (service.opsUrl === undefined) throw new Error('no ops port');
  const t0 = Date.now();
  for (let calls = 1; Date.now() - t0 < 120_000; calls += 1) {
    const before = metricSum(await scrape(service.opsUrl), STORED);
    const res = await post(service.url, await signToken(keys, iss, AUDIENCE), body);
    if (res.status !== 200) throw new Error(`the service answered ${res.status}: ${res.text.slice(0, 600)}`);
    if (metricSum(await scrape(service.opsUrl), STORED) > before) return { answer: res.text, calls, ms: Date.now() - t0 };
    await sleep(100);
  }
  throw new Error('the service did not answer from its store within 120 s');
}

/**
 * Warms every issuer's trust domain (answers are stored per domain, so each issuer's first calls
 * make its answer) and checks that a further call as each issuer gets its stored bytes again.
 * Returns the first issuer's answer and every domain's answer size.
 */
async function warmEveryDomain(service: Target, keys: BenchKeys, body: string): Promise<{ answer: string; sizes: number[]; calls: number; ms: number }> {
  const answers: string[] = [];
  let calls = 0;
  let ms = 0;
  for (const iss of keys.issuers) {
    const w = await warmUntilStored(service, keys, iss, body);
    const again = await post(service.url, await signToken(keys, iss, AUDIENCE), body);
    if (again.status !== 200 || again.text !== w.answer) throw new Error(`${iss}: a further call got ${again.status}, not the stored answer`);
    answers.push(w.answer);
    calls += w.calls;
    ms += w.ms;
  }
  const answer = answers[0];
  if (answer === undefined) throw new Error('no issuer');
  return { answer, sizes: answers.map((a) => Buffer.byteLength(a)), calls, ms };
}

// ---------------------------------------------------------------------------------------------
// Report

const f0 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '?' : v.toFixed(0));
const f2 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '?' : v.toFixed(2));
const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');

interface Round {
  readonly a: Measured;
  readonly aj: Measured;
  readonly b: Measured;
  readonly load1: number;
}

function printRound(n: number, r: Round): void {
  const rate = (m: Measured): string => f0(m.wrk.requestsPerSecond).padStart(7);
  const cpu = (m: Measured): string => `${f0(m.cpuUs).padStart(5)}/${f0(m.mainUs).padStart(4)}`;
  const ratio = (x: Measured, y: Measured): string => (x.wrk.requestsPerSecond / y.wrk.requestsPerSecond).toFixed(3);
  console.log(
    `${String(n).padStart(5)} ${rate(r.a)} ${rate(r.aj)} ${rate(r.b)}   ${ratio(r.b, r.a)}  ${ratio(r.b, r.aj)}  ${ratio(r.aj, r.a)}   ${cpu(r.a)} ${cpu(r.aj)} ${cpu(r.b)}   ` +
      `${f2(r.a.wrk.p50Ms)}/${f2(r.a.wrk.p99Ms)}  ${f2(r.aj.wrk.p50Ms)}/${f2(r.aj.wrk.p99Ms)}  ${f2(r.b.wrk.p50Ms)}/${f2(r.b.wrk.p99Ms)}   ${r.load1.toFixed(2)}`,
  );
}

function printSummary(rounds: readonly Round[]): number {
  const ratios = (x: (r: Round) => Measured, y: (r: Round) => Measured): number[] => rounds.map((r) => x(r).wrk.requestsPerSecond / y(r).wrk.requestsPerSecond);
  const ba = spread(ratios((r) => r.b, (r) => r.a));
  const baj = spread(ratios((r) => r.b, (r) => r.aj));
  const aja = spread(ratios((r) => r.aj, (r) => r.a));
  const med = (pick: (r: Round) => number): number => median(rounds.map(pick));
  console.log('');
  console.log(`median B/A  = ${formatSpread(ba, 3)} over ${ba.n} rounds; goal ≥ ${GOAL}: ${ba.median >= GOAL ? 'reached' : 'NOT reached'}`);
  console.log(`median B/A' = ${formatSpread(baj, 3)}: the service against a bare app that verifies the same JWT`);
  console.log(`median A'/A = ${formatSpread(aja, 3)}: JWT verification alone, on a bare app`);
  console.log(`req/s (median): A ${f0(med((r) => r.a.wrk.requestsPerSecond))}, A' ${f0(med((r) => r.aj.wrk.requestsPerSecond))}, B ${f0(med((r) => r.b.wrk.requestsPerSecond))}`);
  console.log(
    `latency under load, ${CONNECTIONS} connections, p50/p99 ms (median of rounds): A ${f2(med((r) => r.a.wrk.p50Ms ?? NaN))}/${f2(med((r) => r.a.wrk.p99Ms ?? NaN))}, ` +
      `A' ${f2(med((r) => r.aj.wrk.p50Ms ?? NaN))}/${f2(med((r) => r.aj.wrk.p99Ms ?? NaN))}, B ${f2(med((r) => r.b.wrk.p50Ms ?? NaN))}/${f2(med((r) => r.b.wrk.p99Ms ?? NaN))}`,
  );
  const [ca, caj, cb] = [med((r) => r.a.cpuUs), med((r) => r.aj.cpuUs), med((r) => r.b.cpuUs)];
  console.log(
    `CPU per request, server process, all threads (median): A ${f0(ca)} µs, A' ${f0(caj)} µs, B ${f0(cb)} µs; main thread: A ${f0(med((r) => r.a.mainUs))}, A' ${f0(med((r) => r.aj.mainUs))}, B ${f0(med((r) => r.b.mainUs))} µs`,
  );
  console.log(`  JWT verification (A' − A) ${f0(caj - ca)} µs; the rest of the service (B − A') ${f0(cb - caj)} µs; B − A ${f0(cb - ca)} µs, of which JWT ${((100 * (caj - ca)) / (cb - ca)).toFixed(0)}%`);
  console.log(`cores busy in the server process (median): A ${f2(med((r) => r.a.cores))}, A' ${f2(med((r) => r.aj.cores))}, B ${f2(med((r) => r.b.cores))} of ${CPUS} (wrk and the others share the rest)`);
  return ba.median;
}

// ---------------------------------------------------------------------------------------------
// Profile of one B round

async function profileRound(dir: string, serviceEnv: Record<string, string>, keys: BenchKeys, body: string, script: string, tokenCount: number): Promise<void> {
  const profDir = path.join(dir, 'cpu-profile');
  mkdirSync(profDir, { recursive: true });
  console.log(`\nprofile: a second service with --cpu-prof (main thread sampled every ms), warmed the same way, one ${SECONDS} s B round; only samples inside the round count`);
  const service = await startService(serviceEnv, path.join(dir, 'service-profiled.log'), ['--cpu-prof', '--cpu-prof-dir', profDir]);
  let window: { fromUs: number; toUs: number };
  let m: Measured;
  try {
    await warmEveryDomain(service, keys, body);
    const tokens = await tokenFile(keys, dir, 'profile', tokenCount);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    m = await measure(service, script, tokens, SECONDS);
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    await service.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${profDir}`);
  const s = summariseProfile(path.join(profDir, file), window);
  console.log(`profiled B round: ${f0(m.wrk.requestsPerSecond)} req/s (${m.wrk.requests} requests), ${f0(m.cpuUs)} µs CPU per request (main thread ${f0(m.mainUs)}); main thread sampled ${f0(s.totalMs)} ms`);
  // Wall time on the main thread: on a busy machine it includes moments the thread waited for a
  // core (e.g. while the thread pool checked a signature), charged to whatever was on its stack.
  const perReq = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%  ${((ms * 1000) / Math.max(1, m.wrk.requests)).toFixed(0).padStart(4)} µs/req`;
  console.log('(share of the main thread\'s sampled wall time, and that time per request. Wall time: on a saturated machine a');
  console.log(' thread waiting for a core is charged to what was on its stack; node:crypto jobPromise, where the main thread hands');
  console.log(' the signature check to the thread pool, collects much of that wait. The CPU split above, from /proc, is exact.)');
  console.log('\nmain thread, self time by area:');
  for (const [area, ms] of s.areas) console.log(`  ${perReq(ms)}  ${area}`);
  console.log('\nmain thread, inclusive time by area (a frame of the area anywhere on the stack):');
  for (const [area, ms] of s.areasInclusive) console.log(`  ${perReq(ms)}  ${area}`);
  console.log('\nmain thread, functions with the most self time:');
  for (const [fn, ms] of s.selfTop) console.log(`  ${perReq(ms)}  ${fn}`);
  console.log('\nmain thread, service and library functions with the most inclusive time:');
  for (const [fn, ms] of s.inclusiveTop) console.log(`  ${perReq(ms)}  ${fn}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const wrkVersion = requireWrk();
  for (const line of machineLines()) console.log(line);
  console.log(`load: ${wrkVersion}, ${WRK_THREADS} thread(s), ${CONNECTIONS} keep-alive connections, ${SECONDS} s per server per round, ${ROUNDS} rounds; ${ISSUERS} issuers share B's tokens`);

  const dir = mkdtempSync(path.join(tmpdir(), 'stored-answers-'));
  const targets: Target[] = [];
  const pacs = await startDemoPacs(path.join(PROJECT_ROOT, 'test', 'fixtures', 'cxr'));
  try {
    const keys = await createBenchKeys(dir, ISSUERS);
    const instance = pacs.instances.find((i) => i.file.startsWith('normal-')) ?? pacs.instances[0];
    if (instance === undefined) throw new Error('no sample DICOM file in test/fixtures/cxr');
    const study = sampleImagingStudy(instance.info, { id: 'bench-study-1', patientId: 'bench-patient', endpointId: 'demo-pacs', description: 'XR CHEST AP (sample)' });
    const body = JSON.stringify(resultHookRequest(study, wadoRsEndpoint('demo-pacs', pacs.root)));
    const bodyFile = path.join(dir, 'request.json');
    writeFileSync(bodyFile, body);

    const serviceEnv = {
      PUBLIC_BASE_URL,
      CDS_TRUSTED_ISSUERS: trustedIssuersEnv(keys),
      DATA_DIR: path.join(dir, 'data'),
      MODELS,
      DICOMWEB_ALLOWLIST: pacs.root,
      LOG_LEVEL: 'info',
      ...(JSON.parse(process.env['BENCH_SERVICE_ENV'] ?? '{}') as Record<string, string>),
    };
    if (process.env['BENCH_SERVICE_ENV'] !== undefined) console.log(`extra service settings: ${process.env['BENCH_SERVICE_ENV']}`);
    const service = await startService(serviceEnv, path.join(dir, 'service.log'));
    targets.push(service);
    const warm = await warmEveryDomain(service, keys, body);
    const sizes = [...new Set(warm.sizes)];
    console.log(
      `request: ${Buffer.byteLength(body)} bytes (${instance.file}, prefetch imagingStudy + patient); answer (one per issuer: each issuer is its own trust domain): ` +
        `${sizes.join(' or ')} bytes, every issuer's from the store after ${warm.calls} calls in all (${warm.ms} ms)`,
    );

    const answerFile = path.join(dir, 'answer.json');
    writeFileSync(answerFile, warm.answer);
    const bareEnv = { BENCH_ANSWER_FILE: answerFile, BENCH_PATH: HOOK_PATH, BENCH_JWKS_FILE: keys.jwksFile, BENCH_ISSUERS: JSON.stringify(keys.issuers), BENCH_AUDIENCE: AUDIENCE };
    const bare = await startBare('bare', bareEnv);
    targets.push(bare);
    const bareJwt = await startBare('bare-jwt', bareEnv);
    targets.push(bareJwt);
    for (const t of [bare, bareJwt, service]) {
      const res = await post(t.url, await signToken(keys, keys.issuers[0] ?? '', AUDIENCE), body);
      if (res.status !== 200 || res.text !== warm.answer) throw new Error(`${t.role} answered ${res.status}, not the stored answer's bytes`);
    }
    console.log(`A, A' and B (as the first issuer) answer the same ${Buffer.byteLength(warm.answer)} bytes; tokens: ES384, aud ${AUDIENCE}, 5-minute lifetime, fresh jti each`);

    const script = writeTokenScript(dir, { path: HOOK_PATH, bodyFile });
    // Warm-up (JIT, connections) and how many tokens a B round needs.
    const warmTokens = await tokenFile(keys, dir, 'warm', 12_000);
    await measure(bare, script, warmTokens, 2);
    await measure(bareJwt, script, warmTokens, 2);
    const warmB = await measure(service, script, warmTokens, 2);
    const factor = Number(process.env['BENCH_TOKEN_FACTOR'] ?? 1.6);
    let fastestB = warmB.wrk.requestsPerSecond;

    console.log(`\nround  A req/s A' req/s B req/s    B/A    B/A'   A'/A    cpu/main µs per request: A  A'  B        p50/p99 ms: A  A'  B                 load1`);
    const rounds: Round[] = [];
    for (let n = 1; n <= ROUNDS; n += 1) {
      const roundTokens = await tokenFile(keys, dir, `round-${n}`, Math.ceil(fastestB * SECONDS * factor) + 2000);
      const order = n % 2 === 1 ? [bare, bareJwt, service] : [service, bareJwt, bare];
      const results = new Map<Role, Measured>();
      for (const t of order) results.set(t.role, await measure(t, script, roundTokens, SECONDS));
      const [a, aj, b] = [results.get('A'), results.get("A'"), results.get('B')];
      if (a === undefined || aj === undefined || b === undefined) throw new Error('a server was not measured');
      fastestB = Math.max(fastestB, b.wrk.requestsPerSecond);
      const round = { a, aj, b, load1: loadavg()[0] ?? NaN };
      rounds.push(round);
      printRound(n, round);
    }
    const baMedian = printSummary(rounds);

    // Latency without queueing: one connection, one request at a time.
    const oneTokens = await tokenFile(keys, dir, 'one', Math.ceil(fastestB * 3) + 1000);
    const one: string[] = [];
    for (const t of [bare, bareJwt, service]) {
      const m = await measure(t, script, oneTokens, 3, 1);
      one.push(`${t.role} ${f2(m.wrk.p50Ms)}/${f2(m.wrk.p99Ms)} (${f0(m.wrk.requestsPerSecond)} req/s)`);
    }
    console.log(`latency at 1 connection, p50/p99 ms: ${one.join(', ')}`);
    console.log(`load average at the end: ${load()}`);

    if (PROFILE === 'always' || (PROFILE !== '0' && baMedian < GOAL)) {
      for (const t of targets.splice(0)) await t.stop();
      await profileRound(dir, serviceEnv, keys, body, script, Math.ceil(fastestB * SECONDS * factor) + 2000);
    }
  } finally {
    for (const t of targets) await t.stop();
    await pacs.close();
    if (process.env['BENCH_KEEP'] === '1') console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role?.startsWith('server:') === true) {
  const name = role.slice('server:'.length) as BareRole;
  if (!BARE_ROLES.includes(name)) throw new Error(`unknown server role ${name}`);
  await runBareServer(name);
} else {
  await main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}

/**
 * Throughput of authenticated CDS discovery against a bare express app, on loopback.
 *
 *   A  bare express: `GET /cds-services` answered with the same bytes as the service's discovery
 *   C  the service's app (src/wiring.ts + src/app.ts) without trusted issuers: no authentication
 *   B  the service's app with trusted issuers: every call carries a FRESH ES384 client JWT,
 *      verified by the real verifier (signature, claims, rate limit, replay cache) against a
 *      configured JWK Set file
 *
 * Each server runs in its own child process; the load comes from wrk (C, keep-alive, a fixed
 * number of connections), which must be installed: `apt-get install -y wrk`. Tokens are signed
 * before each B round, outside the timed window, and each is sent once. Rounds alternate the
 * servers in the same process tree, and the summary gives the median ratio with its spread.
 * First, a child process times one verification phase by phase and measures the replay cache's
 * memory.
 *
 *   npm run build && node dist/bench/auth-throughput.js
 *   env: BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_WRK_THREADS (1 on ≤ 4
 *        CPUs, else 2), BENCH_ISSUERS (8), BENCH_MODELS (breast-us-28), BENCH_PROFILE_N (2000)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createBenchKeys, DISCOVERY_AUD, PUBLIC_BASE_URL, signToken, signTokens, trustedIssuersEnv, type BenchKeys } from './support/bench-tokens.js';
import { runServer, SERVER_ROLES, type FromServer, type ServerRole, type ServerStats, type ToServer } from './support/auth-servers.js';
import { runProfile } from './support/verify-profile.js';
import { requireWrk, runWrk, writeTokenScript, type WrkResult } from './support/wrk.js';

const SELF = fileURLToPath(import.meta.url);
const CPUS = availableParallelism();
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WRK_THREADS = Number(process.env.BENCH_WRK_THREADS ?? (CPUS <= 4 ? 1 : 2));
const ISSUERS = Number(process.env.BENCH_ISSUERS ?? 8);

/** A server child and a way to ask it something. */
interface ServerChild {
  readonly role: ServerRole;
  readonly url: string;
  ask(message: ToServer): Promise<FromServer>;
  stop(): void;
}

async function startServer(role: ServerRole, env: Record<string, string>): Promise<ServerChild> {
  // stdout to /dev/null: the service logs every request, as in production, but nobody reads it.
  const child: ChildProcess = fork(SELF, [`server:${role}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const waiters: { resolve: (m: FromServer) => void; reject: (err: Error) => void }[] = [];
  child.on('message', (m: FromServer) => waiters.shift()?.resolve(m));
  child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${role} server exited (${String(code)})`));
  });
  const next = (): Promise<FromServer> => new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  const ready = await next();
  if (ready.kind !== 'ready') throw new Error(`${role} server did not start`);
  return {
    role,
    url: `http://127.0.0.1:${ready.port}`,
    ask: (message) => {
      const answer = next();
      child.send(message);
      return answer;
    },
    stop: () => child.send({ kind: 'stop' } satisfies ToServer),
  };
}

async function discoveryBytes(open: ServerChild, auth: ServerChild, keys: BenchKeys): Promise<Buffer> {
  const plain = Buffer.from(await (await fetch(`${open.url}/cds-services`)).arrayBuffer());
  const token = await signToken(keys, keys.issuers[0] ?? '');
  const res = await fetch(`${auth.url}/cds-services`, { headers: { authorization: `Bearer ${token}` } });
  const authed = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || !authed.equals(plain)) throw new Error(`authenticated discovery answered ${res.status}, not the same bytes as unauthenticated discovery`);
  return plain;
}

interface Measured {
  readonly wrk: WrkResult;
  readonly stats: ServerStats;
}

async function measure(server: ServerChild, script: string, tokensFile: string, seconds: number): Promise<Measured> {
  await server.ask({ kind: 'mark' });
  const wrk = await runWrk({ url: server.url, script, tokensFile, threads: WRK_THREADS, connections: CONNECTIONS, seconds });
  const report = await server.ask({ kind: 'report' });
  if (report.kind !== 'report') throw new Error('no report from the server');
  return { wrk, stats: report.stats };
}

function checkAllOk(role: ServerRole, m: Measured): void {
  const other = Object.entries(m.stats.statuses).filter(([status]) => status !== '200');
  if (other.length === 0 && m.wrk.non2xx === 0) return;
  throw new Error(
    `${role} answered other than 200: ${JSON.stringify(m.stats.statuses)} (wrk: ${m.wrk.non2xx} non-2xx). ` +
      'A 401 in B usually means the round ran out of fresh tokens: raise BENCH_TOKEN_FACTOR (default 2.5).',
  );
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};
const spread = (values: readonly number[]): string => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;
const perRequestUs = (us: number, m: Measured): number => us / Math.max(1, m.wrk.requests);

interface Round {
  readonly a: Measured;
  readonly c: Measured;
  readonly b: Measured;
}

function printRound(n: number, r: Round): void {
  const cell = (m: Measured): string => m.wrk.requestsPerSecond.toFixed(0).padStart(7);
  const cpu = (m: Measured): string => `${perRequestUs(m.stats.cpuUs, m).toFixed(0).padStart(5)}/${perRequestUs(m.stats.mainThreadCpuUs ?? NaN, m).toFixed(0).padStart(4)}`;
  const ratio = r.b.wrk.requestsPerSecond / r.a.wrk.requestsPerSecond;
  console.log(`${String(n).padStart(5)} ${cell(r.a)} ${cell(r.c)} ${cell(r.b)}  ${ratio.toFixed(3)}  ${(r.c.wrk.requestsPerSecond / r.a.wrk.requestsPerSecond).toFixed(3)}   ${cpu(r.a)}  ${cpu(r.c)}  ${cpu(r.b)}   ${r.b.wrk.p50Ms?.toFixed(2) ?? '?'}/${r.b.wrk.p99Ms?.toFixed(2) ?? '?'}`);
}

function printSummary(rounds: readonly Round[], signatureFloorUs: number | undefined): void {
  const ba = rounds.map((r) => r.b.wrk.requestsPerSecond / r.a.wrk.requestsPerSecond);
  const ca = rounds.map((r) => r.c.wrk.requestsPerSecond / r.a.wrk.requestsPerSecond);
  const bc = rounds.map((r) => r.b.wrk.requestsPerSecond / r.c.wrk.requestsPerSecond);
  const cpuOf = (pick: (r: Round) => Measured): number => median(rounds.map((r) => perRequestUs(pick(r).stats.cpuUs, pick(r))));
  const mainOf = (pick: (r: Round) => Measured): number => median(rounds.map((r) => perRequestUs(pick(r).stats.mainThreadCpuUs ?? NaN, pick(r))));
  const bMedian = median(ba);
  console.log('');
  console.log(`median B/A = ${bMedian.toFixed(3)} (min–max ${spread(ba)}, ${rounds.length} rounds); goal ≥ 0.5: ${bMedian >= 0.5 ? 'reached' : 'NOT reached'}`);
  console.log(`median C/A = ${median(ca).toFixed(3)} (${spread(ca)}): the service's own middleware (request id, log line, CORS, JSON) without auth`);
  console.log(`median B/C = ${median(bc).toFixed(3)} (${spread(bc)}): the cost of authentication alone`);
  console.log(
    `CPU per request, all threads (median): A ${cpuOf((r) => r.a).toFixed(0)} µs, C ${cpuOf((r) => r.c).toFixed(0)} µs, B ${cpuOf((r) => r.b).toFixed(0)} µs; ` +
      `main thread: A ${mainOf((r) => r.a).toFixed(0)} µs, C ${mainOf((r) => r.c).toFixed(0)} µs, B ${mainOf((r) => r.b).toFixed(0)} µs. ` +
      `B − C = ${(cpuOf((r) => r.b) - cpuOf((r) => r.c)).toFixed(0)} µs of CPU per authenticated request.`,
  );
  const cores = (pick: (r: Round) => Measured): string => median(rounds.map((r) => pick(r).stats.cpuUs / 1000 / pick(r).stats.wallMs)).toFixed(2);
  console.log(`cores busy in the server process (median): A ${cores((r) => r.a)}, C ${cores((r) => r.c)}, B ${cores((r) => r.b)} of ${CPUS}; B has ${String(rounds[0]?.b.stats.threads ?? '?')} threads`);
  if (signatureFloorUs !== undefined) {
    // Even if authentication cost nothing but the signature check itself, B would need C's CPU
    // plus that per request, and could use at most every core the load generator leaves.
    const aRate = median(rounds.map((r) => r.a.wrk.requestsPerSecond));
    const ceiling = (Number(cores((r) => r.b)) * 1e6) / (cpuOf((r) => r.c) + signatureFloorUs);
    console.log(
      `ceiling: with only the ES384 signature (${signatureFloorUs.toFixed(0)} µs CPU, OpenSSL) added to C's ${cpuOf((r) => r.c).toFixed(0)} µs, ` +
        `the ${cores((r) => r.b)} cores B gets would serve ≤ ${ceiling.toFixed(0)} req/s = ${(ceiling / aRate).toFixed(2)} × A`,
    );
  }
}

async function prepareBTokens(keys: BenchKeys, dir: string, count: number, round: number): Promise<string> {
  const file = path.join(dir, `tokens-b-${round}.txt`);
  writeFileSync(file, `${(await signTokens(keys, count)).join('\n')}\n`);
  return file;
}

/** Runs the verification profile in a child; resolves with the signature's CPU floor (µs). */
function runProfileChild(): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    let floor: number | undefined;
    const child = fork(SELF, ['profile'], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: { kind?: string; cpuUs?: number }) => {
      if (m.kind === 'signature-floor') floor = m.cpuUs;
    });
    child.on('exit', (code) => {
      if (code === 0) resolve(floor);
      else reject(new Error(`profile exited ${String(code)}`));
    });
  });
}

async function main(): Promise<void> {
  const wrkVersion = requireWrk();
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`auth-throughput: ${CPUS} CPUs (${cpu}), Node ${process.version}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  console.log(`load: ${wrkVersion}, ${WRK_THREADS} thread(s), ${CONNECTIONS} keep-alive connections, ${SECONDS} s per server per round, ${ROUNDS} rounds; ${ISSUERS} issuers share the load (each below its 2,000/s default rate limit)\n`);
  const signatureFloorUs = await runProfileChild();
  console.log('');

  const dir = mkdtempSync(path.join(tmpdir(), 'auth-throughput-'));
  const servers: ServerChild[] = [];
  try {
    const keys = await createBenchKeys(dir, ISSUERS);
    const common = { BENCH_PUBLIC_BASE_URL: PUBLIC_BASE_URL, BENCH_DATA_DIR: dir, BENCH_MODELS: process.env.BENCH_MODELS ?? 'breast-us-28' };
    const auth = await startServer('service-auth', { ...common, BENCH_TRUSTED_ISSUERS: trustedIssuersEnv(keys) });
    servers.push(auth);
    const open = await startServer('service-open', common);
    servers.push(open);
    const discoveryFile = path.join(dir, 'discovery.json');
    writeFileSync(discoveryFile, await discoveryBytes(open, auth, keys));
    const bare = await startServer('bare', { BENCH_DISCOVERY_FILE: discoveryFile });
    servers.push(bare);
    console.log(`discovery answer: same bytes from A, B and C; B's tokens: aud ${DISCOVERY_AUD}, ES384, 5-minute lifetime, fresh jti each`);

    const script = writeTokenScript(dir);
    // A and C ignore the token: one real token, sent again and again, keeps the request the same size.
    const staticTokens = path.join(dir, 'tokens-static.txt');
    writeFileSync(staticTokens, `${await signToken(keys, keys.issuers[0] ?? '')}\n`);

    // Warm-up (JIT, connection set-up) and calibration of how many tokens a B round needs.
    await measure(bare, script, staticTokens, 2);
    await measure(open, script, staticTokens, 2);
    const warm = await measure(auth, script, await prepareBTokens(keys, dir, 20_000, 0), 2);
    const factor = Number(process.env.BENCH_TOKEN_FACTOR ?? 2.5);
    // Tokens for a B round: the fastest B rate seen so far × the round's length × a margin.
    let fastestB = ((warm.stats.statuses['200'] ?? 0) / warm.stats.wallMs) * 1000;

    console.log(`\nround  A req/s  C req/s  B req/s   B/A    C/A   cpu/main µs per request: A      C          B       B p50/p99 ms`);
    const rounds: Round[] = [];
    for (let n = 1; n <= ROUNDS; n += 1) {
      const bTokens = await prepareBTokens(keys, dir, Math.ceil(fastestB * SECONDS * factor) + 2000, n);
      const results = new Map<ServerRole, Measured>();
      // Alternate the order so that no server always runs first or right after token signing.
      const order: ServerChild[] = n % 2 === 1 ? [bare, open, auth] : [auth, open, bare];
      for (const server of order) {
        const m = await measure(server, script, server === auth ? bTokens : staticTokens, SECONDS);
        checkAllOk(server.role, m);
        results.set(server.role, m);
      }
      const round = { a: results.get('bare'), c: results.get('service-open'), b: results.get('service-auth') };
      if (round.a === undefined || round.b === undefined || round.c === undefined) throw new Error('a server was not measured');
      fastestB = Math.max(fastestB, round.b.wrk.requestsPerSecond);
      rounds.push({ a: round.a, b: round.b, c: round.c });
      printRound(n, { a: round.a, b: round.b, c: round.c });
    }
    printSummary(rounds, signatureFloorUs);
  } finally {
    for (const s of servers) s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role?.startsWith('server:') === true) {
  const name = role.slice('server:'.length) as ServerRole;
  if (!SERVER_ROLES.includes(name)) throw new Error(`unknown server role ${name}`);
  await runServer(name);
} else if (role === 'profile') {
  await runProfile();
} else {
  await main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

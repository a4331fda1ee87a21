/**
 * HTTP load from wrk (https://github.com/wg/wrk, Debian package `wrk`): a C load generator that
 * costs far less CPU per request than a Node client, so on a small machine the server being
 * measured, not the load generator, is what runs out of CPU. Each request sends the next token of
 * a file (one per line), so every request carries a fresh JWT.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** The wrk version line; throws a clear error when wrk is not installed. */
export function requireWrk(): string {
  try {
    const out = execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]?.trim() ?? 'wrk';
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    const stdout = (err as { stdout?: unknown }).stdout;
    if (typeof stdout === 'string' && stdout.startsWith('wrk')) return stdout.split('\n')[0]?.trim() ?? 'wrk';
    throw new Error('this benchmark drives the load with wrk, which is not installed: apt-get install -y wrk (Debian/Ubuntu), then run it again', { cause: err });
  }
}

/** What each request is: `GET /cds-services` (discovery) by default, or a POST of a body file. */
export interface TokenScriptRequest {
  readonly path: string;
  readonly bodyFile: string;
}

/**
 * Writes the Lua script: each wrk thread takes every n-th token (n = thread count) and sends
 * each once; past the end it sends its last token again, which the authenticating service answers
 * 401 (replayed), so running out of tokens shows as non-2xx answers. A server that ignores the
 * token gets requests of the same size. Without `post` each request is `GET /cds-services`; with
 * it, a JSON POST of the body file to its path.
 */
export function writeTokenScript(dir: string, post?: TokenScriptRequest): string {
  const file = path.join(dir, post === undefined ? 'tokens.lua' : 'post.lua');
  const readBody = post === undefined ? '' : `  local f = assert(io.open(${JSON.stringify(post.bodyFile)}, "rb"))\n  body = f:read("*a")\n  f:close()\n`;
  const send =
    post === undefined
      ? 'wrk.format("GET", "/cds-services", { ["Authorization"] = "Bearer " .. token })'
      : `wrk.format("POST", ${JSON.stringify(post.path)}, { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)`;
  writeFileSync(
    file,
    `local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local threads = tonumber(args[2])
  tokens = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % threads == id then tokens[#tokens + 1] = line end
    i = i + 1
  end
${readBody}  next_token = 0
end
function request()
  next_token = next_token + 1
  local token = tokens[next_token] or tokens[#tokens]
  return ${send}
end
`,
  );
  return file;
}

export interface WrkOptions {
  readonly url: string;
  readonly script: string;
  readonly tokensFile: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
}

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly non2xx: number;
  readonly socketErrors: string | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

function latencyMs(output: string, percentile: string): number | undefined {
  const match = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
  if (match?.[1] === undefined) return undefined;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

/** Runs wrk once and parses its summary. */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = ['-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`, '--latency', '-s', options.script, options.url, '--', options.tokensFile, String(options.threads)];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const total = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(output);
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
      if (code !== 0 || total?.[1] === undefined || total[2] === undefined || rate?.[1] === undefined) {
        reject(new Error(`wrk failed (exit ${String(code)}):\n${output}`));
        return;
      }
      const unit = total[3] === 'ms' ? 0.001 : total[3] === 'm' ? 60 : 1;
      resolve({
        requests: Number(total[1]),
        seconds: Number(total[2]) * unit,
        requestsPerSecond: Number(rate[1]),
        non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
        socketErrors: /Socket errors:.*$/m.exec(output)?.[0],
        p50Ms: latencyMs(output, '50'),
        p99Ms: latencyMs(output, '99'),
      });
    });
  });
}

/**
 * What the evaluation commands share: the repository root, the usage error (exit status 2, just
 * its message) and running a command's main function.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** An error that ends the run with exit status 2 and just its message. */
export class UsageError extends Error {}

/** Repository root, from a command in tools/eval/ or dist/tools/eval/ (`moduleUrl`: its import.meta.url). */
export function repoRoot(moduleUrl: string): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const up = path.basename(path.resolve(here, '..', '..')) === 'dist' ? 3 : 2;
  return path.resolve(here, ...Array<string>(up).fill('..'));
}

/** Runs `main`, setting the exit status from its result; a failure is one line on stderr. */
export function runCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}

/**
 * Detection of fhir-kit-client's debug logging, which prints request headers (bearer token
 * included), so that start-up can refuse to run with it on.
 */

/** The `debug` namespaces fhir-kit-client logs under; `:info` prints request headers, token included. */
const FHIR_KIT_DEBUG_NAMESPACES = ['fhir-kit-client:info', 'fhir-kit-client:error'] as const;

/**
 * Whether a `DEBUG` value (the `debug` package's syntax: comma- or space-separated namespaces,
 * `*` wildcards, `-` to exclude) would turn on fhir-kit-client's logging, which prints the bearer
 * token. For start-up checks: config should refuse to start when this is true.
 *
 * @param debugEnv - the value of `DEBUG`, if any
 * @returns `true` when any fhir-kit-client namespace would log
 */
export function isFhirKitDebugEnabled(debugEnv: string | undefined): boolean {
  const patterns = (debugEnv ?? '').split(/[\s,]+/).filter((p) => p !== '');
  const toRegExp = (p: string): RegExp => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')}$`);
  const names = patterns.filter((p) => !p.startsWith('-')).map(toRegExp);
  const skips = patterns.filter((p) => p.startsWith('-')).map((p) => toRegExp(p.slice(1)));
  return FHIR_KIT_DEBUG_NAMESPACES.some((ns) => !skips.some((r) => r.test(ns)) && names.some((r) => r.test(ns)));
}

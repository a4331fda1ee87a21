/** Bundles the browser pages into `outDir` (default dist/web) and returns it. */
export function buildWeb(outDir?: string): Promise<string>;

/**
 * A FHIR search across pages: matches and included resources, following `next` links only on
 * the same server and stopping at a result, page or byte cap, with the reason it stopped.
 */
import type { Bundle, FhirResource, Resource } from 'fhir/r4.js';
import { AppError } from '../errors.js';
import { pagingLinkOnServer, type FhirBase } from './references.js';
import type { ResourceOf, ResourceTypeName } from './types.js';

/** Why a search stopped before the server's last page. */
export type SearchTruncation = 'max-results' | 'max-pages' | 'max-bytes' | 'foreign-next-link' | 'repeated-next-link';

/** What {@link FhirReader.search} found. */
export interface SearchResult<T extends Resource> {
  /** Matches (entries with `search.mode` `match` or no mode), in server order, at most the cap. */
  readonly resources: readonly T[];
  /** Other resources the server added, e.g. for `_include` (`search.mode` `include`). */
  readonly included: readonly FhirResource[];
  /** Set when the search stopped before the server's last page; `resources` is then partial. */
  readonly truncated: SearchTruncation | undefined;
  /** Pages fetched. */
  readonly pages: number;
}

export interface SearchPaging {
  readonly resourceType: ResourceTypeName;
  /** The server base: `next` links elsewhere are not followed. */
  readonly base: FhirBase;
  readonly maxResults: number;
  readonly maxPages: number;
  /**
   * Most bytes of all pages together. A page may be as large as `pageBytes`, so another page is
   * fetched only while that much is left: the search never reads past this.
   */
  readonly maxBytes: number;
  /** The byte cap of one page (the reader's per-response cap). */
  readonly pageBytes: number;
  /** Fetches the first page (`undefined`) or a `next` link, checked to be a Bundle, with its size. */
  readonly fetchPage: (url: string | undefined) => Promise<{ readonly bundle: Bundle; readonly bytes: number }>;
}

/** Sorts one page's entries into matches and included resources; true when the cap was hit. */
function takeEntries<T extends Resource>(bundle: Bundle, paging: SearchPaging, what: string, resources: T[], included: FhirResource[]): boolean {
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as FhirResource | undefined;
    const mode = entry.search?.mode;
    if (resource === undefined || mode === 'outcome' || resource.resourceType === 'OperationOutcome') continue;
    if (mode === 'include' || (mode === undefined && resource.resourceType !== paging.resourceType)) {
      included.push(resource);
      continue;
    }
    if (resource.resourceType !== paging.resourceType) {
      throw new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a ${resource.resourceType} match`);
    }
    if (resources.length >= paging.maxResults) return true;
    resources.push(resource as unknown as T);
  }
  return false;
}

/** The next page to fetch, or why the search stops here (undefined: the last page). */
function nextStep(
  bundle: Bundle,
  paging: SearchPaging,
  state: { readonly found: number; readonly pages: number; readonly bytes: number; readonly seen: Set<string> },
): { url: string } | { stop: SearchTruncation | undefined } {
  const href = bundle.link?.find((l) => l.relation === 'next')?.url;
  if (href === undefined || href === '') return { stop: undefined };
  // Only on this server: a hostile or misconfigured server must not make us send the token elsewhere.
  const url = pagingLinkOnServer(href, paging.base);
  if (url === undefined) return { stop: 'foreign-next-link' };
  // More pages exist but the cap is reached: say so rather than fetch what we would drop.
  if (state.found >= paging.maxResults) return { stop: 'max-results' };
  if (state.pages >= paging.maxPages) return { stop: 'max-pages' };
  if (state.bytes + paging.pageBytes > paging.maxBytes) return { stop: 'max-bytes' };
  if (state.seen.has(url)) return { stop: 'repeated-next-link' };
  state.seen.add(url);
  return { url };
}

/**
 * Runs the search to its last page or a cap.
 *
 * @throws AppError UPSTREAM_FAILED for a page that is not a searchset or a match of another type
 */
export async function collectSearchPages<K extends ResourceTypeName>(paging: SearchPaging): Promise<SearchResult<ResourceOf<K>>> {
  const what = `search ${paging.resourceType}`;
  const resources: ResourceOf<K>[] = [];
  const included: FhirResource[] = [];
  const seen = new Set<string>();
  let pages = 0;
  let bytes = 0;
  let url: string | undefined;
  for (;;) {
    const page = await paging.fetchPage(url);
    const bundle = page.bundle;
    pages++;
    bytes += page.bytes;
    if (bundle.type !== 'searchset') {
      throw new AppError('UPSTREAM_FAILED', `The FHIR server answered ${what} with a Bundle that is not a searchset`);
    }
    if (takeEntries(bundle, paging, what, resources, included)) return { resources, included, truncated: 'max-results', pages };
    const step = nextStep(bundle, paging, { found: resources.length, pages, bytes, seen });
    if ('stop' in step) return { resources, included, truncated: step.stop, pages };
    url = step.url;
  }
}

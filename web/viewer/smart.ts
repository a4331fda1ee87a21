/**
 * The SMART App Launch (EHR launch) in the browser: authorization code flow with PKCE (S256)
 * against the launch's authorization server, which the service names for the launch's `iss`.
 * The access token lives in sessionStorage of this tab only, never in the URL after the
 * redirect, never in a cookie.
 */
import type { ViewerLaunchConfig } from '../../src/viewer/api-types.js';
import { problemOf } from '../shared/dom.js';

const PENDING = 'imaging-cds.smart.pending';
const SESSION = 'imaging-cds.smart.session';

export interface Session {
  readonly accessToken: string;
  readonly imagingStudyId: string | undefined;
}

interface Pending {
  readonly state: string;
  readonly verifier: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
}

const base64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n: number): string => base64url(crypto.getRandomValues(new Uint8Array(n)));

/** Where the authorization server sends the user back: this page's folder (/viewer/). */
const redirectUri = (): string => new URL('.', location.href).href;

/** Step 1: the EHR opened us with `iss` and `launch`; go to the authorization server. */
export async function startLaunch(iss: string, launch: string): Promise<void> {
  const res = await fetch(`api/smart-configuration?iss=${encodeURIComponent(iss)}`);
  if (!res.ok) throw new Error(await problemOf(res));
  const config = (await res.json()) as ViewerLaunchConfig;
  const verifier = random(48);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const pending: Pending = { state: random(24), verifier, tokenEndpoint: config.tokenEndpoint, clientId: config.clientId, redirectUri: redirectUri() };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(config.authorizationEndpoint);
  const params = { response_type: 'code', client_id: config.clientId, redirect_uri: pending.redirectUri, scope: config.scope, state: pending.state, aud: iss, launch, code_challenge: challenge, code_challenge_method: 'S256' };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  location.assign(url.href);
}

/** The study the card was about: CDS Hooks `appContext` (JSON) or SMART v2 `fhirContext`. */
export function studyOf(token: Record<string, unknown>): string | undefined {
  const fromRef = (ref: unknown): string | undefined => (typeof ref === 'string' && ref.startsWith('ImagingStudy/') ? ref.slice('ImagingStudy/'.length) : undefined);
  if (typeof token['appContext'] === 'string') {
    try {
      const found = fromRef((JSON.parse(token['appContext']) as { imagingStudy?: unknown }).imagingStudy);
      if (found !== undefined) return found;
    } catch {
      // Not JSON: fall through to fhirContext.
    }
  }
  const context = Array.isArray(token['fhirContext']) ? (token['fhirContext'] as { reference?: unknown }[]) : [];
  return context.map((c) => fromRef(c.reference)).find((id) => id !== undefined);
}

/** Step 2: back from the authorization server with `code` and `state`; exchange the code. */
export async function finishLaunch(code: string, state: string): Promise<Session> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as Pending | null;
  sessionStorage.removeItem(PENDING);
  if (pending?.state !== state) throw new Error('This sign-in was not started here (state does not match). Open the viewer from the EHR again.');
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: pending.redirectUri, client_id: pending.clientId, code_verifier: pending.verifier });
  const res = await fetch(pending.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  if (!res.ok) throw new Error(`The authorization server refused the sign-in (HTTP ${res.status}).`);
  const token = (await res.json()) as Record<string, unknown>;
  if (typeof token['access_token'] !== 'string') throw new Error('The authorization server sent no access token.');
  const session: Session = { accessToken: token['access_token'], imagingStudyId: studyOf(token) };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  history.replaceState(null, '', redirectUri());
  return session;
}

export function storedSession(): Session | undefined {
  return (JSON.parse(sessionStorage.getItem(SESSION) ?? 'null') as Session | null) ?? undefined;
}

/**
 * The result viewer's entry: runs the SMART launch when the EHR opens it, then shows the launch
 * study's AI results for the launch patient.
 */
import type { ViewerFeedbackRequest, ViewerResults } from '../../src/viewer/api-types.js';
import { h, problemOf } from '../shared/dom.js';
import { resultSection } from './result.js';
import { finishLaunch, startLaunch, storedSession, type Session } from './smart.js';

const main = document.getElementById('main') as HTMLElement;

function say(message: string): void {
  main.replaceChildren(h('p', { class: 'error', role: 'alert' }, message));
}

async function show(session: Session): Promise<void> {
  if (session.imagingStudyId === undefined) {
    say('The launch names no imaging study (appContext or fhirContext). Open the viewer from a result card.');
    return;
  }
  const auth = { Authorization: `Bearer ${session.accessToken}` };
  const res = await fetch(`api/results/ImagingStudy/${encodeURIComponent(session.imagingStudyId)}`, { headers: auth });
  if (!res.ok) {
    say(`No results to show: ${await problemOf(res)}`);
    return;
  }
  const view = (await res.json()) as ViewerResults;
  const post = (f: ViewerFeedbackRequest): Promise<Response> => fetch('api/feedback', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(f) });
  main.replaceChildren(
    h('p', { class: 'banner', role: 'note', 'data-testid': 'banner' }, view.banner),
    ...view.results.map((r, i) => resultSection(r, i, view.imagingStudyId, post)),
  );
  main.dataset['ready'] = 'true';
}

async function run(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const iss = params.get('iss');
  const launch = params.get('launch');
  const code = params.get('code');
  const state = params.get('state');
  if (params.has('error')) {
    say(`Sign-in failed: ${params.get('error_description') ?? params.get('error') ?? ''}`);
    return;
  }
  if (iss !== null && launch !== null) return startLaunch(iss, launch);
  if (code !== null && state !== null) return show(await finishLaunch(code, state));
  const session = storedSession();
  if (session === undefined) {
    say('Open this viewer from the EHR (a SMART launch from a result card).');
    return;
  }
  await show(session);
}

run().catch((err: unknown) => { say(err instanceof Error ? err.message : String(err)); });

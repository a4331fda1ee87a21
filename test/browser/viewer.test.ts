/**
 * The result viewer and the operations page in a real browser (Debian's chromium through
 * puppeteer-core), against the real stack (Orthanc, the FHIR server, the service with its
 * models) and a real OpenID authorization server (oidc-provider). The viewer is launched the way
 * an EHR launches a SMART app from a card's link: iss + launch, authorization code with PKCE,
 * a JWT access token for the FHIR server carrying the launch's patient.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importPKCS8 } from 'jose';
import type { Browser, Page } from 'puppeteer-core';
import type { DiagnosticReport } from 'fhir/r4.js';
import { createApp, createOpsApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { trustDomainOf } from '../../src/http/index.js';
import { buildViewer, type ViewerParts } from '../../src/viewer/index.js';
import type { CdsResponse } from '../../src/cds-hooks/index.js';
import { buildWeb } from '../../web/build.js';
import { launchBrowser, screenshot, seriousViolations, textOf, tracedPage, waitReady } from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import { startAuthServer, type AuthServer } from '../support/oidc.js';
import { ADULT_PATIENT_ID, PATIENT_ID, resultHookBody, startStack, type Stack } from '../support/stack.js';

const ISS = 'https://ehr.example.org';
const OTHER_ISS = 'https://other-ehr.example.org';
/** A second FHIR server the same authorization server issues tokens for, mapped to another trust domain. */
const OTHER_FHIR = 'https://other-ehr.example.org/fhir';
const SAMPLE = 'pneumonia-person100_bacteria_475-mono2-8bit.dcm';

let stack: Stack;
let as: AuthServer;
let browser: Browser;
/** What beforeAll started, stopped in reverse by afterAll (also when beforeAll failed half-way). */
const started: (() => Promise<unknown>)[] = [];
let parts: ViewerParts;
let base = '';
let opsBase = '';
let cdsKey: Awaited<ReturnType<typeof importPKCS8>>;
let card: CdsResponse['cards'][number];

const listen = (app: ReturnType<typeof createApp>, port: number): Promise<Server> =>
  new Promise((resolve) => { const s = app.listen(port, '127.0.0.1', () => { resolve(s); }); });

async function cdsToken(aud: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' }).setIssuer(ISS).setAudience(aud).setIssuedAt().setExpirationTime('4m').setJti(randomUUID()).sign(cdsKey);
}

async function issuerFile(dir: string, name: string): Promise<{ key: Awaited<ReturnType<typeof importPKCS8>>; file: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' }] }));
  return { key: await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES384'), file };
}

/** Waits until the result hook's saliency map is in the stored results (it is made after the findings). */
async function mapStored(studyId: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const bundle = await stack.deps.results({ domain: trustDomainOf({ iss: ISS }), patientId: PATIENT_ID, imagingStudyId: studyId });
    const report = bundle?.entry?.find((e) => e.resource?.resourceType === 'DiagnosticReport')?.resource as DiagnosticReport | undefined;
    if (report?.presentedForm?.some((f) => f.contentType === 'image/png') === true) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the saliency map was never stored');
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'viewer-test-'));
  const [mine, other] = [await issuerFile(dir, 'ehr'), await issuerFile(dir, 'other')];
  cdsKey = mine.key;
  const [port, opsPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  opsBase = `http://127.0.0.1:${opsPort}`;
  const assets = await buildWeb(path.join(dir, 'web'));
  stack = await startStack({
    files: [SAMPLE],
    envFor: ({ fhirBaseUrl }) => ({ SMART_VIEWER_URL: `${base}/viewer/launch`, FHIR_SERVER_ALLOWLIST: fhirBaseUrl }),
    env: { HOST: '127.0.0.1', CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: ISS, jwksFile: mine.file }, { iss: OTHER_ISS, jwksFile: other.file }]) },
  });
  started.push(() => stack.stop());
  as = await startAuthServer({ fhirServers: [stack.fhir.baseUrl, OTHER_FHIR], redirectUri: `${base}/viewer/` });
  started.push(() => as.stop());
  const config = loadConfig({
    HOST: '127.0.0.1',
    CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: ISS, jwksFile: mine.file }, { iss: OTHER_ISS, jwksFile: other.file }]),
    SMART_LAUNCH_ISSUERS: JSON.stringify([
      { iss: stack.fhir.baseUrl, authorizationServer: as.issuer, clientId: as.clientId, cdsIssuer: ISS },
      { iss: OTHER_FHIR, authorizationServer: as.issuer, clientId: as.clientId, cdsIssuer: OTHER_ISS },
    ]),
    VIEWER_ASSETS_DIR: assets,
  });
  parts = buildViewer({
    config: config.viewer,
    clockSkewSeconds: 0,
    capacity: 100,
    services: stack.deps.services,
    feedback: stack.deps.feedback,
    readiness: stack.deps.readiness,
    metrics: () => stack.deps.metrics.registry.getMetricsAsJSON(),
    modelCards: (stack.deps.engine?.models() ?? []).map((m) => ({ id: m.id, version: m.version, intendedUse: m.intendedUse, performance: `Measured on ${m.metrics.dataset}.` })),
  });
  const app = createApp({ ...stack.deps, services: parts.services, viewer: { services: parts.viewer, failures: parts.failures } });
  for (const server of [await listen(app, port), await listen(createOpsApp({ ...stack.deps, ops: parts.ops }), opsPort)]) {
    started.push(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
  }
  browser = await launchBrowser();
  started.push(() => browser.close());

  // The EHR calls the result hook; the card carries the SMART link with the study in appContext.
  const studyId = stack.samples[0]?.studyId ?? '';
  const res = await fetch(`${base}/cds-services/imaging-ai-result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await cdsToken('https://cds.example.org/cds-services/imaging-ai-result')}` },
    body: JSON.stringify(resultHookBody(stack.fhir.baseUrl, studyId)),
  });
  expect(res.status).toBe(200);
  const found = ((await res.json()) as CdsResponse).cards.find((c) => c.links?.some((l) => l.type === 'smart'));
  if (found === undefined) throw new Error('no result card with a SMART link');
  card = found;
  await mapStored(studyId);
}, 240_000);

afterAll(async () => {
  for (const stop of started.reverse()) await stop().catch(() => undefined);
});

/** Opens the card's SMART link as an EHR does: the app's launch URL with iss and launch. */
async function launchViewer(page: Page, problems: readonly string[]): Promise<void> {
  const link = card.links?.find((l) => l.type === 'smart');
  if (link === undefined) throw new Error('no smart link');
  const launch = as.launch({ patient: PATIENT_ID, ...(link.appContext === undefined ? {} : { appContext: link.appContext }) });
  const url = new URL(link.url);
  url.searchParams.set('iss', stack.fhir.baseUrl);
  url.searchParams.set('launch', launch);
  await page.goto(url.href);
  await waitReady(page, problems);
}

describe('result viewer, launched from the card through the authorization server', () => {
  let page: Page;
  beforeAll(async () => {
    const traced = await tracedPage(browser);
    page = traced.page;
    await launchViewer(page, traced.problems);
  }, 120_000);
  afterAll(async () => { await page.close(); });

  it('shows the preliminary banner, the findings with probability, threshold and review band, and the model card', async () => {
    const text = await textOf(page, 'main');
    expect(text).toContain('Preliminary AI output, not a diagnosis');
    const findings = await textOf(page, '[data-testid="findings"]');
    expect(findings).toMatch(/Pneumonia/);
    expect(findings).toMatch(/Probability.*Threshold.*Review band/);
    expect(findings).toMatch(/\d+\.\d%/);
    expect(text).toContain('pneumonia-cxr-28');
    expect(text).toMatch(/Intended use/);
    expect(text).toMatch(/Measured on/);
  });

  /** Lit and heat-coloured pixels on the viewer's canvas. */
  async function drawn(): Promise<{ width: number; lit: number; coloured: number }> {
    return page.$eval('[data-testid="image"]', (c) => {
      // The test program has no DOM types (they would retype fetch for the rest of the project).
      const canvas = c as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null };
      const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
      let coloured = 0;
      let lit = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
        if (r + g + b > 30) lit += 1;
        if (r - b > 60) coloured += 1;
      }
      return { width: canvas.width, lit, coloured };
    });
  }

  it('draws the stored image with its saliency map on the canvas', async () => {
    const shown = await drawn();
    expect(shown.width).toBeGreaterThan(0);
    expect(shown.lit).toBeGreaterThan(0);
    // The heat map's reds: the saliency overlay is on the picture.
    expect(shown.coloured).toBeGreaterThan(0);
  });

  it('switches the map off and on, and fades it with the opacity control', async () => {
    const on = (await drawn()).coloured;
    await page.click('[data-testid="overlay-toggle"]');
    const off = await drawn();
    // The analysed image alone: still drawn, no heat colours.
    expect(off.lit).toBeGreaterThan(0);
    expect(off.coloured).toBeLessThan(on);
    await page.click('[data-testid="overlay-toggle"]');
    expect((await drawn()).coloured).toBe(on);
    await page.$eval('[data-testid="overlay-opacity"]', (el) => {
      const input = el as unknown as { value: string; dispatchEvent(e: unknown): boolean };
      input.value = '30';
      input.dispatchEvent(new (globalThis as unknown as { Event: new (type: string, init: object) => unknown }).Event('input', { bubbles: true }));
    });
    expect((await drawn()).coloured).toBeLessThan(on);
    await screenshot(page, 'viewer-overlay-faded');
  });

  it('has no serious accessibility violations (axe-core)', async () => {
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'viewer');
  });

  it('posts Disagree with a reason, which lands in the feedback store as CDS Hooks feedback on the card', async () => {
    await page.select('[data-testid="override-reason"]', 'inadequate-image-quality');
    await page.click('[data-testid="disagree"]');
    await page.waitForFunction('document.querySelector(\'[data-testid="feedback-status"]\')?.textContent === "Disagreement recorded."');
    const record = stack.deps.feedback.all().find((r) => (r.item as { card: string }).card === card.uuid);
    expect(record).toMatchObject({ serviceId: 'imaging-ai-result', clientIss: ISS, item: { card: card.uuid, outcome: 'overridden', overrideReason: { reason: { code: 'inadequate-image-quality' } } } });
    await screenshot(page, 'viewer-after-disagree');
  });
});

describe('operations page', () => {
  it('shows the models and the override in the per-model rates, with its reason, and no patient identifier', async () => {
    const { page, problems } = await tracedPage(browser);
    await page.goto(`${opsBase}/ops/`);
    await waitReady(page, problems);
    const row = await textOf(page, 'tr[data-model^="pneumonia-cxr-28 "]');
    expect(row).toMatch(/1 \(100%\)/);
    expect(row).toContain('Inadequate image quality for AI analysis (1)');
    expect(await textOf(page, '[data-testid="models"]')).toContain('pneumonia-cxr-28');
    expect(await textOf(page, '[data-testid="hooks"]')).toContain('imaging-ai-result');
    expect(await page.$$('tr[data-model] svg[role="img"] rect')).not.toHaveLength(0);
    const html = await page.content();
    expect(html).not.toContain(PATIENT_ID);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'ops');
    await page.close();
  }, 60_000);
});

describe('viewer API: every bad request is a 4xx OperationOutcome', () => {
  const studyId = (): string => stack.samples[0]?.studyId ?? '';
  const results = (token?: string, id = studyId()): Promise<Response> =>
    fetch(`${base}/viewer/api/results/ImagingStudy/${id}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const good = (claims: Record<string, unknown> = {}): Promise<string> => as.sign({ aud: stack.fhir.baseUrl, scope: 'openid launch patient/*.read', patient: PATIENT_ID, ...claims });
  const outcome = async (res: Response): Promise<string> => ((await res.json()) as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics ?? '';

  it('serves the launch patient\'s results to a token the authorization server signed (SMART v2 scope too)', async () => {
    expect((await results(await good())).status).toBe(200);
    expect((await results(await good({ scope: 'openid patient/DiagnosticReport.rs' }))).status).toBe(200);
  });

  it.each([
    ['no token', undefined, 'SMART_TOKEN_REJECTED'],
    ['a token that is not a JWT', 'not-a-jwt', 'SMART_TOKEN_REJECTED'],
  ])('refuses %s with 401', async (_name, token, code) => {
    const res = await results(token);
    expect(res.status).toBe(401);
    expect(await outcome(res)).toContain(code);
  });

  it('refuses an expired token, another audience, another signer, an unknown issuer with 401', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const cases = [
      await good({ exp: Math.floor(Date.now() / 1000) - 60 }),
      await as.sign({ aud: 'https://unknown-fhir.example.org', scope: 'patient/*.read', patient: PATIENT_ID }),
      await as.sign({ aud: stack.fhir.baseUrl, scope: 'patient/*.read', patient: PATIENT_ID }, { key: privateKey, kid: 'as-1' }),
      await as.sign({ iss: 'https://evil.example.org', aud: stack.fhir.baseUrl, scope: 'patient/*.read', patient: PATIENT_ID }),
    ];
    for (const token of cases) {
      const res = await results(token);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/fhir+json');
    }
  });

  it('refuses a token without a patient read scope or without a patient with 403', async () => {
    for (const token of [await good({ scope: 'openid launch user/*.read' }), await good({ patient: undefined })]) {
      const res = await results(token);
      expect(res.status).toBe(403);
      expect(await outcome(res)).toContain('SMART_SCOPE_INSUFFICIENT');
    }
  });

  it('shows nothing of another patient, nor of the same patient in another trust domain', async () => {
    expect((await results(await good({ patient: ADULT_PATIENT_ID }))).status).toBe(404);
    expect((await results(await good({ aud: OTHER_FHIR }))).status).toBe(404);
  });

  it('refuses a launch from a FHIR server that is not a launch issuer with 403', async () => {
    const res = await fetch(`${base}/viewer/api/smart-configuration?iss=${encodeURIComponent('https://evil.example.org/fhir')}`);
    expect(res.status).toBe(403);
    expect(await outcome(res)).toContain('SMART_LAUNCH_REJECTED');
  });

  it('refuses malformed feedback, a reason the card does not offer, and a report of another patient', async () => {
    const reportId = card.suggestions?.flatMap((s) => s.actions ?? []).find((a) => a.resource?.resourceType === 'DiagnosticReport')?.resource?.id ?? '';
    const post = async (body: unknown, token?: string): Promise<Response> =>
      fetch(`${base}/viewer/api/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? (await good())}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    for (const body of ['{', { imagingStudyId: studyId(), reportId, outcome: 'maybe' }, { imagingStudyId: studyId(), reportId, outcome: 'overridden' }, { imagingStudyId: studyId(), reportId, outcome: 'overridden', reason: 'order-still-needed' }]) {
      const res = await post(body);
      expect(res.status).toBe(400);
    }
    expect((await post({ imagingStudyId: studyId(), reportId, outcome: 'accepted' }, await good({ patient: ADULT_PATIENT_ID }))).status).toBe(404);
    expect((await post({ imagingStudyId: studyId(), reportId: 'unknown-report', outcome: 'accepted' })).status).toBe(404);
  });
});

/**
 * A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) on loopback, set up the
 * way an EHR's server answers a SMART EHR launch: authorization code with PKCE for the viewer (a
 * public client), `launch` and `aud` parameters, JWT access tokens for the FHIR server named in
 * `aud` carrying the launch's patient, and `patient` plus CDS Hooks `appContext` in the token
 * response. The EHR user is already signed in, as in an EHR launch, so the interaction step
 * grants what was asked without a form.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors as oidcErrors, type KoaContextWithOIDC } from 'oidc-provider';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface LaunchContext {
  readonly patient: string;
  readonly appContext?: string;
}

export interface AuthServer {
  readonly issuer: string;
  readonly clientId: string;
  /** Registers an EHR launch; the returned id goes into the viewer's launch URL. */
  launch(context: LaunchContext): string;
  /** Signs a token with the server's own key, for the tests of tokens the server would never issue. */
  sign(claims: Record<string, unknown>, options?: { readonly expiresIn?: string | number; readonly key?: CryptoKey; readonly kid?: string }): Promise<string>;
  stop(): Promise<void>;
}

export const PATIENT_SCOPES = 'patient/*.read patient/*.rs patient/DiagnosticReport.read patient/DiagnosticReport.rs patient/Observation.read';

/**
 * @param options - the FHIR servers (resource servers, `aud`) and the viewer's redirect URI
 */
export async function startAuthServer(options: { readonly fhirServers: readonly string[]; readonly redirectUri: string }): Promise<AuthServer> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk: JWK = { ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'RS256', use: 'sig' };
  const launches = new Map<string, LaunchContext>();
  const byGrant = new Map<string, LaunchContext>();
  const clientId = 'imaging-cds-viewer';
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, token_endpoint_auth_method: 'none', redirect_uris: [options.redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: { keys: [signingJwk] },
    scopes: ['openid', 'fhirUser', 'launch'],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    extraParams: ['launch', 'aud'],
    pkce: { required: () => true },
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((u) => new URL(u).origin === origin) ?? false,
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, fhirUser: `Practitioner/${sub}` }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // SMART names the FHIR server in `aud`: it is the resource the token is for.
        defaultResource: (ctx) => {
          const aud = (ctx.oidc.params)?.['aud'];
          return typeof aud === 'string' ? aud : options.fhirServers[0] ?? '';
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (!options.fhirServers.includes(indicator)) throw new oidcErrors.InvalidTarget();
          return { scope: PATIENT_SCOPES, audience: indicator, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const context = byGrant.get((token as { grantId?: string }).grantId ?? '');
      return context === undefined ? undefined : { patient: context.patient };
    },
  });
  // The token response carries the launch context (SMART: `patient`; CDS Hooks: `appContext`).
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if ((ctx.oidc as KoaContextWithOIDC['oidc'] | undefined)?.route !== 'token' || typeof body?.['access_token'] !== 'string') return;
    const code = ctx.oidc.entities.AuthorizationCode;
    const context = byGrant.get(code?.grantId ?? '');
    if (context !== undefined) ctx.body = { ...body, patient: context.patient, ...(context.appContext === undefined ? {} : { appContext: context.appContext }) };
  });
  const callback = provider.callback();

  async function interaction(req: Parameters<typeof callback>[0], res: Parameters<typeof callback>[1]): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: 'dr-ehr-user' } }, { mergeWithLastSubmission: false });
      return;
    }
    const accountId = details.session?.accountId ?? 'dr-ehr-user';
    const clientOfDetails = String(details.params['client_id']);
    const grant = details.grantId === undefined ? new provider.Grant({ accountId, clientId: clientOfDetails }) : ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId: clientOfDetails }));
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    const launch = launches.get(String(details.params['launch']));
    if (launch !== undefined) byGrant.set(grantId, launch);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/') === true) {
      interaction(req, res).catch(() => {
        res.statusCode = 400;
        res.end('interaction failed');
      });
      return;
    }
    void callback(req, res);
  });

  return {
    issuer,
    clientId,
    launch(context) {
      const id = randomUUID();
      launches.set(id, context);
      return id;
    },
    async sign(claims, opts = {}) {
      const jwt = new SignJWT({ iss: issuer, ...claims }).setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'as-1', typ: 'at+jwt' }).setIssuedAt().setJti(randomUUID());
      // A test that sets `exp` itself (an expired token) keeps it.
      return (claims['exp'] === undefined ? jwt.setExpirationTime(opts.expiresIn ?? '5m') : jwt).sign(opts.key ?? privateKey);
    },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}

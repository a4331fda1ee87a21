import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('starts on embedded defaults: loopback, unauthenticated, CPU', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8080, unauthenticated: true, ortProviders: ['cpu'], publicBaseUrl: 'http://127.0.0.1:8080' });
    expect(c.fhirServerAllowList).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses a non-loopback address without trusted issuers', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/CDS_TRUSTED_ISSUERS/);
  });

  it('allows it with the explicit development flag', () => {
    expect(loadConfig({ HOST: '0.0.0.0', CDS_ALLOW_UNAUTHENTICATED_NON_LOOPBACK: 'true' }).host).toBe('0.0.0.0');
  });

  it('binds to all interfaces when issuers are trusted', () => {
    const c = loadConfig({ CDS_TRUSTED_ISSUERS: JSON.stringify([{ iss: 'https://ehr.example.org', jwksUrl: 'https://ehr.example.org/jwks' }]) });
    expect(c).toMatchObject({ host: '0.0.0.0', unauthenticated: false });
  });

  it('rejects an issuer with neither or both JWKS sources', () => {
    expect(() => loadConfig({ CDS_TRUSTED_ISSUERS: '[{"iss":"a"}]' })).toThrow(/exactly one of jwksUrl or jwksFile/);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ ORT_PROVIDERS: 'cuda,gpu' })).toThrow(/ORT_PROVIDERS/);
    expect(() => loadConfig({ DICOMWEB_AUTH: 'basic' })).toThrow(/DICOMWEB_USERNAME/);
  });

  it('refuses fhir-kit-client debug logging, which prints bearer tokens', () => {
    expect(() => loadConfig({ DEBUG: 'fhir-kit-client:*' })).toThrow(/bearer tokens/);
    expect(() => loadConfig({ DEBUG: 'express:*' })).not.toThrow();
  });

  it('puts the default DICOMweb root on the DICOMweb allow-list', () => {
    expect(loadConfig({ DICOMWEB_DEFAULT_ROOT: 'http://pacs.local:8042/dicom-web' }).dicomWeb.allowList).toEqual(['http://pacs.local:8042/dicom-web']);
  });

  describe('viewer (SMART launch issuers)', () => {
    const trusted = JSON.stringify([{ iss: 'https://ehr.example.org', jwksUrl: 'https://ehr.example.org/jwks' }]);
    const entry = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ iss: 'https://ehr.example.org/fhir/', authorizationServer: 'https://ehr.example.org/auth', clientId: 'viewer', ...extra });
    const launch = (extra: Record<string, unknown> = {}): string => JSON.stringify([entry(extra)]);

    it('is off with no launch issuers and defaults its scope and assets folder', () => {
      const { viewer } = loadConfig({});
      expect(viewer).toMatchObject({ launchIssuers: [], scope: 'openid fhirUser launch patient/*.read', fetchMaxBytes: 262144 });
      expect(viewer.assetsDir).toMatch(/dist[/\\]web$/);
    });

    it('maps a launch issuer to a trusted CDS issuer and allow-lists its authorization server', () => {
      const { viewer } = loadConfig({ CDS_TRUSTED_ISSUERS: trusted, SMART_LAUNCH_ISSUERS: launch({ cdsIssuer: 'https://ehr.example.org' }) });
      expect(viewer.launchIssuers[0]).toMatchObject({ iss: 'https://ehr.example.org/fhir', cdsIssuer: 'https://ehr.example.org', patientClaim: 'patient' });
      expect(viewer.authAllowList).toEqual(['https://ehr.example.org/auth']);
    });

    it('refuses a launch issuer whose CDS issuer is not trusted, or that names one without authentication', () => {
      expect(() => loadConfig({ CDS_TRUSTED_ISSUERS: trusted, SMART_LAUNCH_ISSUERS: launch() })).toThrow(/cdsIssuer/);
      expect(() => loadConfig({ SMART_LAUNCH_ISSUERS: launch({ cdsIssuer: 'https://ehr.example.org' }) })).toThrow(/not authenticated/);
      expect(() => loadConfig({ SMART_LAUNCH_ISSUERS: '[{"iss":"nope"}]' })).toThrow(/SMART_LAUNCH_ISSUERS/);
      expect(() => loadConfig({ SMART_LAUNCH_ISSUERS: JSON.stringify([entry(), entry()]) })).toThrow(/listed twice/);
    });
  });
});

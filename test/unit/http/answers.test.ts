import { answerKey, createMemoryAnswerStore } from '../../../src/http/answers.js';

const body = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  hook: 'org.imaging-cds.imagingstudy-available',
  hookInstance: 'a1',
  fhirServer: 'https://ehr/fhir',
  fhirAuthorization: { access_token: 'token-1', token_type: 'Bearer' },
  context: { patientId: 'p1', imagingStudyId: 's1' },
  prefetch: { imagingStudy: { resourceType: 'Bundle', entry: [] }, patient: { resourceType: 'Patient', id: 'p1', birthDate: '2020-01-01' } },
  ...over,
});

describe('answer keys', () => {
  const base = answerKey('local', 'imaging-ai-result', body(), 'm@1');

  it('ignore hookInstance and fhirAuthorization (a stored answer was made from the prefetch alone)', () => {
    expect(base).toMatch(/^answer-[0-9a-f]{64}$/);
    expect(answerKey('local', 'imaging-ai-result', body({ hookInstance: 'b2', fhirAuthorization: { access_token: 'token-2' } }), 'm@1')).toBe(base);
  });

  it('differ by trust domain, service, context, prefetch, fhirServer and loaded models', () => {
    const others = [
      answerKey('["jwt","https://ehr-a",null]', 'imaging-ai-result', body(), 'm@1'),
      answerKey('local', 'other-service', body(), 'm@1'),
      answerKey('local', 'imaging-ai-result', body({ context: { patientId: 'p2', imagingStudyId: 's1' } }), 'm@1'),
      answerKey('local', 'imaging-ai-result', body({ prefetch: { imagingStudy: { resourceType: 'Bundle', entry: [] }, patient: { resourceType: 'Patient', id: 'p1', birthDate: '1980-01-01' } } }), 'm@1'),
      answerKey('local', 'imaging-ai-result', body({ fhirServer: 'https://other/fhir' }), 'm@1'),
      answerKey('local', 'imaging-ai-result', body(), 'm@2'),
    ];
    for (const k of others) expect(k).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
  });

  it('are undefined without prefetch: such an answer depends on what the FHIR server says now', () => {
    expect(answerKey('local', 'imaging-ai-result', body({ prefetch: undefined }), 'm@1')).toBeUndefined();
    expect(answerKey('local', 'imaging-ai-result', body({ prefetch: {} }), 'm@1')).toBeUndefined();
    expect(answerKey('local', 'imaging-ai-result', 'not an object', 'm@1')).toBeUndefined();
  });

  it('are undefined, never an exception, for a body nested too deep to serialise', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(answerKey('local', 'imaging-ai-result', body({ prefetch: { imagingStudy: deep } }), 'm@1')).toBeUndefined();
  });
});

describe('the in-memory answer store', () => {
  it('keeps the most recently used answers', async () => {
    const store = createMemoryAnswerStore(2, () => 'm@1');
    await store.set('a', '{"cards":[]}');
    await store.set('b', 'B');
    await store.get('a');
    await store.set('c', 'C');
    expect(await store.get('a')).toBe('{"cards":[]}');
    expect(await store.get('b')).toBeUndefined();
    expect(store.fingerprint()).toBe('m@1');
  });
});

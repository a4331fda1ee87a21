/**
 * One result: the stored image with its overlay (on/off and opacity when the report also stores
 * the image without the map), the findings with probability, threshold and review band, the
 * model and its card, and Agree / Disagree.
 */
import type { ViewerFeedbackRequest, ViewerResult } from '../../src/viewer/api-types.js';
import { h, percent, problemOf } from '../shared/dom.js';

async function bitmap(pngBase64: string): Promise<ImageBitmap> {
  const bytes = Uint8Array.from(atob(pngBase64), (c) => c.charCodeAt(0));
  return createImageBitmap(new Blob([bytes], { type: 'image/png' }));
}

function imagePanel(r: ViewerResult, index: number): HTMLElement {
  const overlay = r.overlay;
  const canvas = h('canvas', { class: 'image', role: 'img', 'aria-label': overlay?.title ?? r.displayImage?.title ?? 'No image stored', 'data-testid': 'image' });
  const show = h('input', { type: 'checkbox', id: `overlay-${index}`, checked: true, 'data-testid': 'overlay-toggle' });
  const opacity = h('input', { type: 'range', id: `opacity-${index}`, min: '0', max: '100', value: '100', 'data-testid': 'overlay-opacity' });
  const separable = overlay !== undefined && r.displayImage !== undefined;
  if (!separable) [show.disabled, opacity.disabled] = [true, true];
  const note = overlay === undefined
    ? h('p', {}, 'This result has no image map (the map may still be in the making).')
    : separable
      ? h('p', {}, overlay.kind === 'mask' ? 'Green: the segmented area.' : 'Red to yellow: where the image changed the model\'s output most (occlusion saliency).')
      : h('p', { 'data-testid': 'overlay-fixed' }, 'The report stores this image with the map blended in, so the map cannot be switched off here.');
  const images = Promise.all([r.displayImage === undefined ? undefined : bitmap(r.displayImage.pngBase64), overlay === undefined ? undefined : bitmap(overlay.pngBase64)]);
  const draw = async (): Promise<void> => {
    const [base, over] = await images;
    const first = base ?? over;
    if (first === undefined) return;
    [canvas.width, canvas.height] = [first.width, first.height];
    const ctx = canvas.getContext('2d');
    if (ctx === null) return;
    ctx.globalAlpha = 1;
    ctx.drawImage(first, 0, 0);
    if (base !== undefined && over !== undefined && show.checked) {
      ctx.globalAlpha = Number(opacity.value) / 100;
      ctx.drawImage(over, 0, 0);
    }
    canvas.dataset['drawn'] = show.checked ? `overlay ${opacity.value}` : 'image';
  };
  show.addEventListener('change', () => { void draw(); });
  opacity.addEventListener('input', () => { void draw(); });
  void draw();
  return h('figure', { class: 'panel' },
    canvas,
    h('figcaption', {},
      h('div', { class: 'controls' },
        h('label', { for: show.id }, show, ' Show AI map'),
        h('label', { for: opacity.id }, 'Map opacity ', opacity)),
      note));
}

function findingsTable(r: ViewerResult): HTMLElement {
  if (r.findings.length === 0 && r.measurements.length === 0) return h('p', {}, 'No findings.');
  const rows = r.findings.map((f) => h('tr', {},
    h('th', { scope: 'row' }, f.display),
    h('td', {}, f.interpretation ?? '–'),
    h('td', {}, percent(f.probability)),
    h('td', {}, percent(f.threshold)),
    h('td', {}, f.reviewBand === undefined ? '–' : `${percent(f.reviewBand[0])} – ${percent(f.reviewBand[1])}`)));
  const measured = r.measurements.map((m) => h('tr', {}, h('th', { scope: 'row' }, m.display), h('td', { colspan: '4' }, `${m.value} ${m.unit}`)));
  return h('table', { class: 'findings', 'data-testid': 'findings' },
    h('caption', {}, 'AI findings'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Finding'), h('th', { scope: 'col' }, 'AI result'), h('th', { scope: 'col' }, 'Probability'), h('th', { scope: 'col' }, 'Threshold'), h('th', { scope: 'col' }, 'Review band'))),
    h('tbody', {}, ...rows, ...measured));
}

function modelPanel(r: ViewerResult): HTMLElement {
  return h('dl', { class: 'model' },
    h('dt', {}, 'Model'), h('dd', {}, `${r.model.name} (${r.model.id}), version ${r.model.version}`),
    h('dt', {}, 'Intended use'), h('dd', {}, r.model.intendedUse ?? 'Not stated in the result.'),
    h('dt', {}, 'Measured performance'), h('dd', {}, r.model.performance ?? 'See the model card.'),
    h('dt', {}, 'Report status'), h('dd', {}, `${r.status}${r.issued === undefined ? '' : `, ${r.issued}`}`));
}

function feedbackForm(r: ViewerResult, index: number, post: (f: ViewerFeedbackRequest) => Promise<Response>, imagingStudyId: string): HTMLElement {
  const status = h('p', { role: 'status', 'aria-live': 'polite', 'data-testid': 'feedback-status' });
  if (!r.feedback) return h('section', { class: 'feedback' }, h('p', {}, 'Feedback is not available for this result (its card was sent before the service last started).'));
  const reason = h('select', { id: `reason-${index}`, 'data-testid': 'override-reason' }, ...r.overrideReasons.map((o) => h('option', { value: o.code }, o.display)));
  const comment = h('input', { type: 'text', id: `comment-${index}`, maxlength: '1000' });
  const send = async (f: ViewerFeedbackRequest): Promise<void> => {
    status.textContent = 'Sending…';
    const res = await post(f);
    status.textContent = res.ok ? (f.outcome === 'accepted' ? 'Agreement recorded.' : 'Disagreement recorded.') : `Not recorded: ${await problemOf(res)}`;
  };
  const agree = h('button', { type: 'button', 'data-testid': 'agree' }, 'Agree');
  agree.addEventListener('click', () => { void send({ imagingStudyId, reportId: r.reportId, outcome: 'accepted' }); });
  const disagree = h('button', { type: 'button', 'data-testid': 'disagree' }, 'Disagree');
  disagree.addEventListener('click', () => {
    void send({ imagingStudyId, reportId: r.reportId, outcome: 'overridden', reason: reason.value, ...(comment.value.trim() === '' ? {} : { comment: comment.value }) });
  });
  return h('section', { class: 'feedback', 'aria-label': 'Feedback on this result' },
    h('div', { class: 'controls' }, agree),
    h('div', { class: 'controls' }, h('label', { for: reason.id }, 'Reason '), reason, h('label', { for: comment.id }, 'Comment (optional) '), comment, disagree),
    status);
}

export function resultSection(r: ViewerResult, index: number, imagingStudyId: string, post: (f: ViewerFeedbackRequest) => Promise<Response>): HTMLElement {
  return h('article', { class: 'result', 'aria-labelledby': `title-${index}` },
    h('h2', { id: `title-${index}` }, `${r.model.name} ${r.model.version}`),
    h('div', { class: 'columns' },
      imagePanel(r, index),
      h('div', {}, h('p', { class: 'conclusion' }, r.conclusion), findingsTable(r), modelPanel(r), feedbackForm(r, index, post, imagingStudyId))));
}

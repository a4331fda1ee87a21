/**
 * Measures the bundled pages: bytes on the wire (raw and gzip) and load time in Debian's
 * chromium (headless, puppeteer-core), served from loopback by a static file server, median of
 * 20 cold loads (cache disabled). The viewer then shows its "open from the EHR" message: the
 * number is the page's own cost (HTML, script, style, first render), not the result API's.
 *
 *   node web/measure.js
 */
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { gzipSync } from 'node:zlib';
import puppeteer from 'puppeteer-core';
import { buildWeb } from './build.js';

const out = await buildWeb(mkdtempSync(path.join(tmpdir(), 'web-measure-')));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
const server = createServer((req, res) => {
  const rel = (req.url ?? '/').split('?')[0].replace(/\/$/, '/index.html');
  try {
    const body = readFileSync(path.join(out, path.normalize(rel)));
    res.writeHead(200, { 'content-type': TYPES[path.extname(rel)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const lines = [`CPU: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`];
for (const page of ['viewer', 'ops']) {
  const files = ['index.html', ...readdirSync(path.join(out, page, 'assets')).map((f) => `assets/${f}`)];
  const bytes = files.map((f) => readFileSync(path.join(out, page, f)));
  const raw = bytes.reduce((n, b) => n + b.length, 0);
  const gz = bytes.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
  const tab = await browser.newPage();
  await tab.setCacheEnabled(false);
  const times = [];
  for (let i = 0; i < 20; i++) {
    await tab.goto(`${base}/${page}/`, { waitUntil: 'load' });
    times.push(await tab.evaluate('(() => { const n = performance.getEntriesByType("navigation")[0]; return n.loadEventEnd - n.startTime; })()'));
  }
  times.sort((a, b) => a - b);
  lines.push(`${page}: ${files.length} files, ${raw} bytes raw, ${gz} bytes gzip; load (navigation start to load event) median ${times[10].toFixed(1)} ms, max ${times[19].toFixed(1)} ms over 20 cold loads`);
  await tab.close();
}
await browser.close();
server.close();
process.stdout.write(`${lines.join('\n')}\n`);

// The benchmark's domain in real Chromium (issue 13, "Scale and devices"): run.sh generates
// 20,000 computers (2,000 Hyper-V hosts in 125 migration groups, bench/gen_bench_ldif.py) and
// audits them into out/bench/report/report.html. The targets: report.html <= 6 MB, the first screen
// interactive within 1 s, the "blocked or unknown only" filter and the findings' "show all"
// within 300 ms each, and printing (A4) under 40 pages with the summary, the fix-first list
// and the hosts view.
//
// Timing margin: the targets are the issue's, asserted as they are, but each timing is the
// best of three tries and runs in a fresh page, so one hiccup of a machine shared with other
// builds does not fail the test while a report that is really slower than the target still
// does. Every measurement is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPORT = join(HERE, 'out', 'bench', 'report', 'report.html');
const URL = pathToFileURL(REPORT).href;
const TRIES = 3;

let browser;
let chromiumSession;

before(async () => {
  assert.ok(existsSync(REPORT), `${REPORT} missing: run tests/browser/run.sh`);
  chromiumSession = await launchChromium();
  browser = chromiumSession.context;
});

after(async () => {
  if (chromiumSession) await chromiumSession.close();
});

// A fresh page on the report, with script errors and any request beyond the file recorded.
async function open() {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (r.url() !== URL && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push(`request: ${r.url()}`);
  });
  await page.goto(URL, { waitUntil: 'load' });
  return { page, problems };
}

// Milliseconds from the navigation's start until the page's script had wired every control
// (its `hv-ready` mark) and the browser then produced a frame: what the reader sees and can use.
async function interactiveMs(page) {
  return page.evaluate(() => new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(() => {
      const ready = performance.getEntriesByName('hv-ready')[0];
      const nav = performance.getEntriesByType('navigation')[0];
      resolve({
        ready: ready ? ready.startTime : Infinity,
        load: nav.loadEventEnd,
        frame: performance.now(),
      });
    }));
  }));
}

// Milliseconds from `act` (run in the page) until the next frame after it was drawn.
async function timed(page, act) {
  return page.evaluate((src) => new Promise((resolve) => {
    const t0 = performance.now();
    (0, eval)(src)();
    void document.body.offsetHeight; // the layout the change causes, within the measurement
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
  }), act.toString());
}

async function best(measure) {
  const all = [];
  for (let i = 0; i < TRIES; i++) all.push(await measure());
  return { best: Math.min(...all), all };
}

test('20,000 computers: report.html is at most 6 MB', () => {
  const size = statSync(REPORT).size;
  console.log(`bench report.html: ${(size / 1e6).toFixed(2)} MB`);
  assert.ok(size <= 6 * 1024 * 1024, `${size} bytes`);
});

test('20,000 computers: first screen interactive within 1 s', async () => {
  const r = await best(async () => {
    const { page, problems } = await open();
    const t = await interactiveMs(page);
    assert.deepEqual(problems, []);
    // The first screen is there: summary, fix-first list, the hosts view.
    assert.ok(await page.locator('#fix-first li').count() > 0);
    assert.equal(await page.locator('#hosts-table tbody tr').count(), 2000);
    await page.close();
    console.log(`bench: script ready ${t.ready.toFixed(0)} ms, load ${t.load.toFixed(0)} ms, first frame after ${t.frame.toFixed(0)} ms`);
    return t.frame;
  });
  assert.ok(r.best <= 1000, `first screen interactive after ${r.all.map(Math.round).join(', ')} ms`);
});

test('20,000 computers: group filter and "show all" within 300 ms', async () => {
  const filter = await best(async () => {
    const { page, problems } = await open();
    assert.equal(await page.locator('#group-index tbody tr').count(), 125);
    const ms = await timed(page, () => document.getElementById('only-problems').click());
    const shown = await page.locator('#group-index tbody tr:not([hidden])').count();
    assert.ok(shown > 0 && shown < 125, `${shown} groups with blocked or unknown pairs`);
    assert.equal(await page.locator('#gi-count').textContent(), `${shown} of 125 groups`);
    assert.deepEqual(problems, []);
    await page.close();
    return ms;
  });
  console.log(`bench: "blocked or unknown only" ${filter.all.map(Math.round).join(', ')} ms`);
  assert.ok(filter.best <= 300, `filter took ${filter.all.map(Math.round).join(', ')} ms`);

  const all = await best(async () => {
    const { page, problems } = await open();
    assert.ok(await page.locator('#f-more-all').isVisible(), 'more rows than one page');
    const ms = await timed(page, () => document.getElementById('f-more-all').click());
    assert.ok(await page.locator('#f-more').isHidden());
    const rows = await page.locator('#ft tbody tr:is(.fr, .gr):not([hidden])').count();
    assert.ok(rows > 500, `${rows} rows after "show all"`);
    assert.deepEqual(problems, []);
    await page.close();
    return ms;
  });
  console.log(`bench: findings "show all" ${all.all.map(Math.round).join(', ')} ms`);
  assert.ok(all.best <= 300, `"show all" took ${all.all.map(Math.round).join(', ')} ms`);
});

test('20,000 computers: the 1,600 helpdesk findings are one row with the fix at the group', async () => {
  const { page, problems } = await open();
  const row = page.locator('#ft tbody tr.gr', { hasText: 'Account Operators via Helpdesk-Tier1' });
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /1600 findings, one cause/);
  assert.match(await row.textContent(), /Fix at the group Helpdesk-Tier1: .*remove Helpdesk-Tier1 from Account Operators/);
  // No fix-first entry names one of its accounts alone (the list itself is all critical here).
  assert.equal(await page.locator('#fix-first li', { hasText: /hd\d{5}/ }).count(), 0);
  // Expanded, it lists the accounts; a filter counts its matching findings.
  const t0 = Date.now();
  await row.click();
  const members = page.locator('#ft tbody tr.fr.member:not([hidden])');
  assert.equal(await members.count(), 1600);
  console.log(`bench: expanding the 1,600-finding row ${Date.now() - t0} ms`);
  assert.ok((await members.locator('td:nth-child(3)').allTextContents()).every((r) => r === 'PA001'));
  await page.fill('#f-q', 'hd0000');
  await page.waitForFunction(() => [...document.querySelectorAll('#ft tr.gr')]
    .some((r) => r.textContent.includes('Helpdesk-Tier1') && r.querySelector('.gr-n').textContent === '9 of 1600 findings'));
  assert.equal(await members.count(), 9);
  assert.deepEqual(problems, []);
  await page.close();
});

test('20,000 computers: print is under 40 A4 pages with summary, fix-first list and hosts', async () => {
  const { page, problems } = await open();
  await page.emulateMedia({ media: 'print' });
  for (const id of ['#summary', '#fix-first', '#hosts-table', '#print-note']) {
    assert.ok(await page.locator(id).isVisible(), `${id} printed`);
  }
  for (const id of ['#findings', '#readiness', '#delegations', '#privileged']) {
    assert.ok(await page.locator(id).isHidden(), `${id} left out of print`);
  }
  const t0 = Date.now();
  const pdf = await page.pdf({ format: 'A4' });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) || []).length;
  console.log(`bench: print ${pages} A4 pages, ${(pdf.length / 1e6).toFixed(2)} MB, ${Date.now() - t0} ms`);
  assert.ok(pages > 1 && pages < 40, `${pages} pages`);
  assert.deepEqual(problems, []);
  await page.close();
});

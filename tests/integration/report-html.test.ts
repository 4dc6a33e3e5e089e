// report.html of a real run (two-fold DQE with an evaluation and the noise experiment), opened in real
// headless Chromium: it renders with no console error and no network request, every number and every
// chart value on the page equals report.json, the pair filters work, and a screenshot is saved to
// tests/.artifacts/.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderReportHtml, type ReportWithEvaluation } from '../../activities/report-html.js';
import { NO_SHARED_FEATURE_NOTE, NO_SHARED_FEATURE_SIMILARITY } from '../../core/categorise.js';
import { runEvaluation } from '../../client/eval.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** Debian's chromium; CI installs it with apt (see .ci/run). */
const CHROMIUM = process.env.DQE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(REPO_ROOT, 'tests', '.artifacts');

type Path = Array<string | number>;

/** The few DOM shapes the in-page callbacks touch (the project compiles without the DOM library). */
interface PageElement {
  id: string;
  hidden: boolean;
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number; height: number };
}
interface ChartGlobal {
  Chart: { getChart(el: PageElement): { data: { datasets: Array<{ data: unknown[] }> } } | undefined };
}

function at(report: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o === null || o === undefined ? undefined : (o as Record<string | number, unknown>)[k]), report);
}

/** Half a unit in the last place the text shows, so a rounded display is checked as tightly as it can be. */
function displayTolerance(text: string): number {
  const m = /^\$?(-?\d+)(?:\.(\d+))?(?:e([-+]\d+))?%?$/u.exec(text);
  if (!m) throw new Error(`not a displayed number: ${JSON.stringify(text)}`);
  return 0.5 * 10 ** (-(m[2]?.length ?? 0) + Number(m[3] ?? 0));
}

describe('report.html in headless Chromium', () => {
  let t: TestTemporal;
  let browser: Browser;
  let page: Page;
  let report: ReportWithEvaluation;
  let reportMd: string;
  const consoleErrors: string[] = [];
  const requests: string[] = [];

  before(async () => {
    t = await testTemporal();
    const dir = await mkdtemp(join(tmpdir(), 'dqe-html-'));
    const dataset = join(dir, 'spam.jsonl');
    // On hash vectors this run has a funnel step of under 1% of the rows, which the log-axis check needs.
    await writeFile(dataset, spamAssassinJsonl({ limit: 300, threeClass: true }));
    const taskQueue = uniqueId('dqe-html');
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const out = join(dir, 'eval');
    await worker.runUntil(
      runEvaluation(t.client, { dataset, holdout: 0.2, injectNoise: 0.1, seed: 5, dqe: { twoFold: true, embedder: 'hash' }, outputDir: out }, { taskQueue, workflowId: uniqueId('dqe-html') }),
    );
    report = JSON.parse(await readFile(join(out, 'dqe', 'report.json'), 'utf8')) as ReportWithEvaluation;
    reportMd = await readFile(join(out, 'dqe', 'report.md'), 'utf8');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(join(out, 'dqe', 'report.html')).href, { waitUntil: 'load' });
  });

  after(async () => {
    await browser?.close();
    await t.close();
  });

  test('renders with no console error and fetches nothing', () => {
    assert.deepEqual(consoleErrors, []);
    assert.equal(requests.length, 1, `only the page itself is loaded: ${requests.join(', ')}`);
    assert.match(requests[0]!, /^file:/u);
  });

  test('every number on the page equals report.json', async () => {
    const shown = await page.$$eval('[data-key]', (els: PageElement[]) => els.map((e) => ({ key: e.getAttribute('data-key')!, value: e.getAttribute('data-value')!, text: e.textContent ?? '' })));
    // The funnel, categories, confusion matrices, evaluation, noise, timings: several hundred numbers.
    assert.ok(shown.length > 100, `only ${shown.length} tagged numbers`);
    for (const s of shown) {
      const path = JSON.parse(s.key) as Path;
      const expected = at(report, path);
      assert.ok(expected === null || typeof expected === 'number', `${s.key} is ${typeof expected} in report.json`);
      assert.equal(JSON.parse(s.value), expected, s.key);
      if (expected === null) {
        assert.equal(s.text, '–', s.key);
        continue;
      }
      const scale = s.text.endsWith('%') ? 100 : 1;
      const parsed = Number(s.text.replace(/^\$|%$/gu, ''));
      assert.ok(Math.abs(parsed - expected * scale) <= displayTolerance(s.text) + 1e-12, `${s.key}: shows ${s.text}, report.json has ${expected}`);
    }
    const keys = new Set(shown.map((s) => s.key));
    for (const required of [['counts', 'rowsIn'], ['counts', 'final'], ['confusion', 'matrix', 0, 0], ['twoFold', 'noisy'], ['evaluation', 'arms', 'dqe', 'metrics', 'accuracy'], ['evaluation', 'noise', 'cleanlab', 'f1'], ['evaluation', 'comparisons', 0, 'mcnemar', 'pValue']]) {
      assert.ok(keys.has(JSON.stringify(required)), `the page shows ${JSON.stringify(required)}`);
    }
    const matrixCells = shown.filter((s) => (JSON.parse(s.key) as Path)[0] === 'confusion');
    assert.equal(matrixCells.reduce((sum, s) => sum + Number(s.text), 0), report.counts.predicted);
  });

  test('every chart is drawn from report.json', async () => {
    const charts = await page.$$eval('canvas', (els: PageElement[]) =>
      els.map((el) => {
        const chart = (globalThis as unknown as ChartGlobal).Chart.getChart(el);
        const box = el.getBoundingClientRect();
        return { id: el.id, series: el.getAttribute('data-series')!, data: chart?.data.datasets.map((d) => d.data) ?? null, width: box.width, height: box.height };
      }),
    );
    assert.deepEqual(charts.map((c) => c.id).sort(), ['chart-categories', 'chart-evaluation', 'chart-funnel', 'chart-noise', 'chart-timings']);
    for (const c of charts) {
      assert.ok(c.data, `${c.id} has a Chart.js chart`);
      assert.ok(c.width > 100 && c.height > 100, `${c.id} is drawn ${c.width}×${c.height}`);
      const series = JSON.parse(c.series) as Path[][];
      assert.deepEqual(c.data, series.map((paths) => paths.map((p) => at(report, p))), c.id);
    }
    const funnel = charts.find((c) => c.id === 'chart-funnel')!;
    assert.deepEqual(funnel.data![0]!.slice(0, 3), [report.counts.rowsIn, report.counts.rejected, report.counts.kept]);
  });

  test('the funnel: shares of kept (none for rows in and rejected), a log axis, and the same rows in report.md', async () => {
    const c = report.counts;
    const share = (n: number) => `${((100 * n) / c.kept).toFixed(1)}%`;
    const expected: Array<[string, number, string]> = [
      ['rows in', c.rowsIn, ''],
      ['rejected', c.rejected, ''],
      ['kept', c.kept, '100.0%'],
      ['sampled', c.sampled, share(c.sampled)],
      ['unsampled', c.unsampled, share(c.unsampled)],
      ['wrong on unsampled', c.wrong, share(c.wrong)],
      ['uncovered', c.uncovered, share(c.uncovered)],
      ['difficult', c.difficult, share(c.difficult)],
      ['noisy', c.noisy, share(c.noisy)],
      ['judged mislabeled', c.verdicts.mislabeled, share(c.verdicts.mislabeled)],
      ['final', c.final, share(c.final)],
    ];
    const cells = await page.$$eval('#funnel-table tbody tr', (trs: PageElement[]) =>
      trs.map((tr) => (tr as unknown as { cells: PageElement[] }).cells).map((cs) => Array.from(cs, (td) => (td.textContent ?? '').trim())),
    );
    assert.deepEqual(cells, expected.map(([step, n, s]) => [step, String(n), s]));
    const scale = await page.$eval('#chart-funnel', (el: PageElement) => (globalThis as unknown as { Chart: { getChart(e: PageElement): { options: { scales: { x: { type: string } } } } } }).Chart.getChart(el).options.scales.x.type);
    assert.equal(scale, 'logarithmic');
    // Every step with rows has a visible bar, the smallest included (on a linear axis 1 row of 240 is a sliver).
    const bars = await page.$eval('#chart-funnel', (el: PageElement) =>
      (globalThis as unknown as { Chart: { getChart(e: PageElement): { getDatasetMeta(i: number): { data: Array<{ x: number; base: number }> } } } }).Chart.getChart(el)
        .getDatasetMeta(0)
        .data.map((b) => Math.abs(b.x - b.base)),
    );
    expected.forEach(([step, n], i) => assert.ok(n === 0 ? bars[i]! < 1 : bars[i]! >= 10, `${step} (${n} rows): bar ${bars[i]}px`));
    assert.ok(expected.some(([, n]) => n > 0 && n <= 0.01 * c.rowsIn), 'the run has a step of at most 1% of the rows');

    // report.md's funnel: the same steps and counts (its own names for two of them), with "judged mislabeled".
    const md = reportMd.split('## Funnel')[1]!.split('\n\n')[1]!.split('\n').slice(2);
    const mdNames: Record<string, string> = { 'wrong on unsampled': 'wrong predictions on unsampled', final: '**final**' };
    assert.deepEqual(
      md,
      expected.map(([step, n, s]) => (step === 'final' ? `| **final** | **${n}** | **${s}** |` : `| ${mdNames[step] ?? step} | ${n} | ${s === '' ? '' : `${s === '100.0%' ? '100%' : s} `}|`)),
    );
    const conflicts = reportMd.split(/^## Conflicting labels .*$/mu)[1]!.split('\n').filter(Boolean)[0]!;
    if (report.conflicts.length === 0) assert.equal(conflicts, 'None: no text carries two labels.');
    else assert.match(conflicts, /^- rows /u);
  });

  test('noisy-pair texts clip at whole lines; a pair with similarity 0 says its neighbour is no similar text', async () => {
    const boxes = await page.$$eval('#pairs-table .text', (els: PageElement[]) =>
      els.map((el) => {
        const e = el as unknown as { clientHeight: number; scrollHeight: number };
        return { client: e.clientHeight, scroll: e.scrollHeight, line: parseFloat((globalThis as unknown as { getComputedStyle(x: unknown): { lineHeight: string } }).getComputedStyle(el).lineHeight) };
      }),
    );
    const clipped = boxes.filter((b) => b.scroll > b.client);
    assert.ok(clipped.length > 0, 'some pair texts are long enough to clip');
    for (const b of clipped) assert.equal(b.client % b.line, 0, `a clipped cell ${b.client}px high shows whole ${b.line}px lines`);

    const sims = await page.$$eval('#pairs-table tbody tr', (trs: PageElement[]) => trs.map((tr) => ((tr as unknown as { cells: PageElement[] }).cells[1]!.textContent ?? '')));
    const pairs = report.noisyPairs as Array<{ similarity: number }>;
    assert.equal(sims.length, pairs.length);
    // The same report with one pair whose texts share nothing: that row, and the section's summary, say so.
    const zero = structuredClone(report);
    (zero.noisyPairs as Array<{ similarity: number }>)[1]!.similarity = 0;
    const other = await browser.newPage();
    await other.setContent(renderReportHtml(zero));
    const zeroSims = await other.$$eval('#pairs-table tbody tr', (trs: PageElement[]) => trs.map((tr) => ((tr as unknown as { cells: PageElement[] }).cells[1]!.textContent ?? '')));
    assert.deepEqual(zeroSims.map((t) => t.includes(NO_SHARED_FEATURE_NOTE)), zeroSims.map((_, i) => i === 1));
    assert.match(String(await other.textContent('#pairs-unrelated')), /^1 of them have similarity 0: the two texts share no feature/u);
    await other.close();
    sims.forEach((text, i) => assert.equal(text.includes(NO_SHARED_FEATURE_NOTE), pairs[i]!.similarity <= NO_SHARED_FEATURE_SIMILARITY, `pair ${i}: similarity ${pairs[i]!.similarity}, cell ${text}`));
  });

  test('the noisy pairs can be searched and filtered', async () => {
    const pairs = report.noisyPairs as Array<{ pass: number; x: { row: number; label: string; verdict: { verdict: string } | null }; neighbour: { row: number; label: string; verdict: { verdict: string } | null } }>;
    const visible = () => page.$$eval('#pairs-table tbody tr', (trs: PageElement[]) => trs.filter((tr) => !tr.hidden).length);
    const shownCount = async () => Number(await page.textContent('#pairs-shown'));
    assert.equal(await visible(), pairs.length);
    assert.ok(pairs.some((p) => p.pass === 2), 'the two-fold run has second-pass pairs');

    await page.selectOption('#pairs-verdict', 'mislabeled');
    const mislabeled = pairs.filter((p) => p.x.verdict?.verdict === 'mislabeled' || p.neighbour.verdict?.verdict === 'mislabeled').length;
    assert.equal(await visible(), mislabeled);
    assert.equal(await shownCount(), mislabeled);

    await page.selectOption('#pairs-verdict', '');
    await page.selectOption('#pairs-pass', '2');
    assert.equal(await visible(), pairs.filter((p) => p.pass === 2).length);
    await page.selectOption('#pairs-pass', '');

    const label = report.labels[2]!;
    await page.selectOption('#pairs-label', label);
    assert.equal(await visible(), pairs.filter((p) => p.x.label === label || p.neighbour.label === label).length);
    await page.selectOption('#pairs-label', '');

    const row = pairs[0]!.x.row;
    await page.fill('#pairs-search', `row ${row} ·`);
    assert.equal(await visible(), pairs.filter((p) => p.x.row === row || p.neighbour.row === row).length);
    await page.fill('#pairs-search', '');
    assert.equal(await shownCount(), pairs.length);
  });

  test('a full-page screenshot is saved as a test artifact', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, 'report-html.png');
    const png = await page.screenshot({ path, fullPage: true });
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.ok(png.length > 50_000, `screenshot is ${png.length} bytes`);
  });
});

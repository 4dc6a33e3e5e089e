// Renders report.html: one self-contained page (Chart.js inlined, nothing fetched at view time) with
// the run's funnel, categories per label, the trainer's confusion matrix, the noisy pairs with search
// and filters, timings and costs, and the evaluation once `dqe eval` has added one.
//
// Every number shown is tagged with the report.json path it comes from (`data-key`, a JSON array) and
// its exact value (`data-value`), and every chart names the paths of its data (`data-series`), so a
// test can check the page against report.json number by number.
import { NO_SHARED_FEATURE_NOTE, NO_SHARED_FEATURE_SIMILARITY } from './categorise.js';
import type { ConflictGroup } from './clean.js';
import type { NoisyPairLineSide, Report, ReportWithEvaluation } from './run-layout.js';

type Path = ReadonlyArray<string | number>;
type Format = 'int' | 'pct' | 'fixed1' | 'fixed2' | 'fixed3' | 'p' | 'usd';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(s: string): string {
  return s.replace(/[&<>"']/gu, (c) => ESCAPES[c]!);
}

/** Conflict groups as a list (the first 200): rows, labels and the start of the text; "None." when there are none. */
function conflictList(groups: readonly ConflictGroup[]): string {
  if (groups.length === 0) return '<p class="muted">None.</p>';
  return `<ul>${groups.slice(0, 200).map((g) => `<li>rows ${esc(g.rows.join(', '))} — ${Object.entries(g.labels).map(([l, n]) => `${esc(l)} ×${n}`).join(', ')}: “${esc(g.text.slice(0, 160))}”</li>`).join('')}</ul>`;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</gu, '\\u003c').replace(/\u2028/gu, '\\u2028').replace(/\u2029/gu, '\\u2029');
}

export function formatValue(value: number | null | undefined, format: Format): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  switch (format) {
    case 'int':
      return String(value);
    case 'pct':
      return `${(100 * value).toFixed(1)}%`;
    case 'fixed1':
      return value.toFixed(1);
    case 'fixed2':
      return value.toFixed(2);
    case 'fixed3':
      return value.toFixed(3);
    case 'p':
      return value !== 0 && value < 0.001 ? value.toExponential(2) : value.toFixed(3);
    case 'usd':
      return `$${value.toFixed(4)}`;
  }
}

/** A number tagged with its report.json path. */
function v(path: Path, value: number | null | undefined, format: Format = 'int'): string {
  return `<span class="v" data-key="${esc(JSON.stringify(path))}" data-value="${esc(JSON.stringify(value ?? null))}">${esc(formatValue(value, format))}</span>`;
}

function table(head: string[], rows: string[][], attrs = ''): string {
  return `<table${attrs}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

interface ChartSpec {
  id: string;
  type: 'bar';
  labels: string[];
  series: Array<{ name: string; paths: Path[]; color: string }>;
  horizontal?: boolean;
  stacked?: boolean;
  /** Axis maximum, e.g. 1 for fractions. */
  max?: number;
  /** A logarithmic value axis, so counts of 10 stay visible beside counts of 100,000. */
  log?: boolean;
}

function canvas(spec: ChartSpec, height: number): string {
  return `<div class="chart" style="height:${height}px"><canvas id="${spec.id}" data-series="${esc(JSON.stringify(spec.series.map((s) => s.paths)))}"></canvas></div>`;
}

function similarityCell(similarity: number): string {
  if (similarity > NO_SHARED_FEATURE_SIMILARITY) return similarity.toFixed(3);
  return `${similarity.toFixed(3)}<div class="reason">${NO_SHARED_FEATURE_NOTE}</div>`;
}

/** Noisy pairs rendered as table rows; more would make the page slow to open (all are in noisy-pairs.jsonl). */
const MAX_PAIR_ROWS = 5000;

const COLORS = { blue: '#3b6fb6', grey: '#9aa5b1', green: '#3f9e5a', orange: '#e08a2c', red: '#c8453b', purple: '#7b5ea7', teal: '#2a9d8f' };

function verdictCell(s: NoisyPairLineSide): string {
  if (!s.verdict) return '<span class="muted">–</span>';
  const suggestion = s.verdict.suggested ? ` → ${esc(s.verdict.suggested)}` : '';
  return `<span class="verdict ${esc(s.verdict.verdict)}">${esc(s.verdict.verdict)}${suggestion}</span><div class="reason">${esc(s.verdict.reason)}</div>`;
}

function sideCells(s: NoisyPairLineSide): string[] {
  return [`<div class="text">${esc(s.text)}</div><div class="muted">row ${s.row} · ${esc(s.split)}</div>`, esc(s.label), verdictCell(s)];
}

function pairsSection(r: ReportWithEvaluation): string {
  const pairs = r.noisyPairs;
  const passes = [...new Set(pairs.map((p) => p.pass ?? 1))].sort();
  const rows = pairs.slice(0, MAX_PAIR_ROWS).map((p) => {
    const verdicts = [p.x.verdict?.verdict, p.neighbour.verdict?.verdict].filter(Boolean).join(' ');
    return `<tr data-verdicts="${esc(verdicts)}" data-labels="${esc(`${p.x.label}\n${p.neighbour.label}`)}" data-pass="${p.pass ?? 1}"><td>${p.pass ?? 1}</td><td>${similarityCell(p.similarity)}</td>${[...sideCells(p.x), ...sideCells(p.neighbour)].map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  const unrelated = pairs.filter((p) => p.similarity <= NO_SHARED_FEATURE_SIMILARITY).length;
  const options = (values: string[]) => values.map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join('');
  return `
<section id="noisy-pairs">
  <h2>Noisy pairs</h2>
  <p>Each wrongly predicted row whose nearest neighbour carries another label, with the judge's verdict on each side.
  Showing <b id="pairs-shown">${rows.length}</b> of ${v(['counts', 'noisyPairs'], r.counts.noisyPairs)}${r.twoFold ? ` + ${v(['twoFold', 'noisyPairs'], r.twoFold.noisyPairs)} (second pass)` : ''} pairs.${
    unrelated > 0 ? ` <span id="pairs-unrelated">${unrelated} of them have similarity 0: the two texts share no feature, so their labels say nothing about each other; treat their verdicts with care.</span>` : ''
  }</p>
  <div class="filters">
    <input id="pairs-search" type="search" placeholder="search texts, labels, reasons" aria-label="search the noisy pairs">
    <select id="pairs-verdict" aria-label="verdict"><option value="">any verdict</option>${options(['mislabeled', 'label_ok', 'undecided'])}</select>
    <select id="pairs-label" aria-label="label"><option value="">any label</option>${options([...r.labels])}</select>
    ${passes.length > 1 ? `<select id="pairs-pass" aria-label="pass"><option value="">both passes</option>${options(passes.map(String))}</select>` : ''}
  </div>
  <table id="pairs-table" class="pairs"><thead><tr><th>pass</th><th>sim.</th><th>wrongly predicted row</th><th>label</th><th>verdict</th><th>nearest neighbour</th><th>label</th><th>verdict</th></tr></thead>
  <tbody>${rows.join('')}</tbody></table>
  ${pairs.length > rows.length ? `<p class="muted">The table holds the first ${rows.length} pairs; all ${pairs.length} are in noisy-pairs.jsonl and report.json.</p>` : ''}
</section>`;
}

function confusionTable(id: string, base: Path, c: Report['confusion']): string {
  const max = Math.max(1, ...c.matrix.flat());
  const head = ['true \\ predicted', ...c.columns.map(esc)];
  const rows = c.matrix.map((row, i) => [
    `<b>${esc(c.rows[i]!)}</b>`,
    ...row.map((n, j) => {
      const shade = n === 0 ? 0 : 0.12 + 0.7 * (n / max);
      const colour = i === j ? `rgba(63,158,90,${shade})` : `rgba(200,69,59,${shade})`;
      return `<span class="cm" style="background:${colour}">${v([...base, 'matrix', i, j], n)}</span>`;
    }),
  ]);
  return table(head, rows, ` id="${id}" class="confusion"`);
}

function evaluationSection(r: ReportWithEvaluation, charts: ChartSpec[]): string {
  const e = r.evaluation;
  if (!e) return '';
  const arms = ['full', 'dqe', 'random'] as const;
  const armName = { full: 'full cleaned data', dqe: 'DQE final set', random: 'random subset, same size' };
  const p = (...rest: Array<string | number>): Path => ['evaluation', ...rest];
  const armRows = arms.map((a) => {
    const m = e.arms[a];
    return [
      `<b>${armName[a]}</b>`,
      v(p('arms', a, 'rows'), m.rows),
      v(p('arms', a, 'dataFraction'), m.dataFraction, 'pct'),
      v(p('arms', a, 'trainSeconds'), m.trainSeconds, 'fixed2'),
      v(p('arms', a, 'metrics', 'accuracy'), m.metrics.accuracy, 'pct'),
      v(p('arms', a, 'metrics', 'macroF1'), m.metrics.macroF1, 'fixed3'),
      ...r.labels.map((l) => v(p('arms', a, 'metrics', 'perClass', l, 'f1'), m.metrics.perClass[l]?.f1, 'fixed3')),
    ];
  });
  charts.push({
    id: 'chart-evaluation',
    type: 'bar',
    labels: arms.map((a) => armName[a]),
    series: [
      { name: 'accuracy', paths: arms.map((a) => p('arms', a, 'metrics', 'accuracy')), color: COLORS.blue },
      { name: 'macro-F1', paths: arms.map((a) => p('arms', a, 'metrics', 'macroF1')), color: COLORS.orange },
    ],
    max: 1,
  });
  const comparisons = e.comparisons.map((c, i) => [
    `${armName[c.a]} vs ${armName[c.b]}`,
    v(p('comparisons', i, 'tTest', 'meanDiff'), c.tTest.meanDiff, 'fixed3'),
    v(p('comparisons', i, 'tTest', 't'), c.tTest.t, 'fixed2'),
    v(p('comparisons', i, 'tTest', 'pValue'), c.tTest.pValue, 'p'),
    `${v(p('comparisons', i, 'mcnemar', 'aOnly'), c.mcnemar.aOnly)} / ${v(p('comparisons', i, 'mcnemar', 'bOnly'), c.mcnemar.bOnly)}`,
    v(p('comparisons', i, 'mcnemar', 'pValue'), c.mcnemar.pValue, 'p'),
    v(p('comparisons', i, 'macroF1', 'diff'), c.macroF1.diff, 'fixed3'),
    v(p('comparisons', i, 'macroF1', 'pValue'), c.macroF1.pValue, 'p'),
  ]);
  let noise = '';
  if (e.noise) {
    const n = e.noise;
    const methods: Array<[string, string, Path]> = [
      ['dqe', `DQE${e.twoFold ? ' (two-fold)' : ''}: rows judged mislabeled`, p('noise', 'dqe')],
      ['dqeFlagged', 'DQE: every row of a noisy pair', p('noise', 'dqeFlagged')],
      ...(n.cleanlab ? [['cleanlab', `cleanlab ${esc(n.cleanlab.version)} find_label_issues`, p('noise', 'cleanlab')] as [string, string, Path]] : []),
    ];
    const scores = (k: string) => (n as unknown as Record<string, { detected: number; truePositives: number; precision: number; recall: number; f1: number }>)[k]!;
    charts.push({
      id: 'chart-noise',
      type: 'bar',
      labels: methods.map((m) => m[1]),
      series: (['precision', 'recall', 'f1'] as const).map((s, i) => ({ name: s, paths: methods.map((m) => [...m[2], s]), color: [COLORS.blue, COLORS.green, COLORS.orange][i]! })),
      max: 1,
    });
    noise = `
  <h3>Label-noise detection</h3>
  <p>${v(p('noise', 'flipped'), n.flipped)} training labels flipped at random (rate ${v(p('noise', 'rate'), n.rate, 'pct')});
  ${v(p('noise', 'flippedKept'), n.flippedKept)} of them survived cleaning and are the ground truth.</p>
  ${table(['method', 'detected', 'true positives', 'precision', 'recall', 'F1'], methods.map(([k, name, path]) => [name, v([...path, 'detected'], scores(k).detected), v([...path, 'truePositives'], scores(k).truePositives), v([...path, 'precision'], scores(k).precision, 'fixed3'), v([...path, 'recall'], scores(k).recall, 'fixed3'), v([...path, 'f1'], scores(k).f1, 'fixed3')]), ' id="noise-table"')}
  ${canvas(charts[charts.length - 1]!, 220)}
  <ul class="muted">${Object.entries(n.definitions).map(([k, d]) => `<li><b>${esc(k)}</b>: ${esc(d)}</li>`).join('')}</ul>`;
  }
  const evalChart = charts.find((c) => c.id === 'chart-evaluation')!;
  return `
<section id="evaluation">
  <h2>Evaluation</h2>
  <p>Trainer <code>${esc(e.trainer)}</code> trained on each set and scored on ${v(p('test', 'rows'), e.test.rows)} test rows
  (${e.test.source === 'holdout' ? `${v(p('test', 'fraction'), e.test.fraction, 'pct')} held out, seed ${esc(String(e.seed))}` : `from <code>${esc(e.test.path ?? '')}</code>`}).</p>
  ${table(['training set', 'rows', 'share of data', 'train s', 'accuracy', 'macro-F1', ...r.labels.map((l) => `F1 ${esc(l)}`)], armRows, ' id="evaluation-table"')}
  ${canvas(evalChart, 220)}
  <h3>Significance (paired on the same test rows)</h3>
  ${table(['comparison', 'mean diff.', 't', 't-test p', 'McNemar a-only / b-only', 'McNemar p', 'macro-F1 diff.', 'bootstrap p'], comparisons, ' id="comparisons-table"')}
  ${noise}
</section>`;
}

/** report.html for a report (with its evaluation when there is one). */
/** The page for report.json `r`, with `chartJs` (Chart.js's UMD bundle) inlined. Pure: the caller reads the bundle. */
export function renderReportPage(r: ReportWithEvaluation, chartJs: string): string {
  const c = r.counts;
  const charts: ChartSpec[] = [];
  const funnel: Array<[string, Path, string]> = [
    ['rows in', ['counts', 'rowsIn'], COLORS.grey],
    ['rejected', ['counts', 'rejected'], COLORS.red],
    ['kept', ['counts', 'kept'], COLORS.blue],
    ['sampled', ['counts', 'sampled'], COLORS.blue],
    ['unsampled', ['counts', 'unsampled'], COLORS.grey],
    ['wrong on unsampled', ['counts', 'wrong'], COLORS.orange],
    ['uncovered', ['counts', 'uncovered'], COLORS.teal],
    ['difficult', ['counts', 'difficult'], COLORS.purple],
    ['noisy', ['counts', 'noisy'], COLORS.red],
    ['judged mislabeled', ['counts', 'verdicts', 'mislabeled'], COLORS.red],
    // Only where the share cap left rows out (reports from before it have no such count).
    ...((c.excludedFromFinal.over_share ?? 0) > 0 ? [['over the share cap', ['counts', 'excludedFromFinal', 'over_share'], COLORS.grey] as [string, Path, string]] : []),
    ['final', ['counts', 'final'], COLORS.green],
  ];
  const get = (path: Path): number => path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], r) as number;
  charts.push({ id: 'chart-funnel', type: 'bar', labels: funnel.map((f) => f[0]), series: [{ name: 'rows', paths: funnel.map((f) => f[1]), color: COLORS.blue }], horizontal: true, log: true });
  // Rows in and rejected rows are not parts of the kept rows: no share of kept for them.
  const shareOfKept = (path: Path): string => (path[1] === 'rowsIn' || path[1] === 'rejected' ? '' : esc(formatValue(c.kept > 0 ? get(path) / c.kept : null, 'pct')));
  const categories = ['uncovered', 'difficult', 'noisy'] as const;
  const catColors = { uncovered: COLORS.teal, difficult: COLORS.purple, noisy: COLORS.red };
  charts.push({
    id: 'chart-categories',
    type: 'bar',
    labels: [...r.labels],
    series: categories.map((k) => ({ name: k, paths: r.labels.map((l) => ['perLabel', l, k]), color: catColors[k] })),
    horizontal: true,
    stacked: true,
  });
  const phases = Object.keys(r.timings.phases);
  const activitySeconds = r.timings.activitySeconds;
  charts.push({
    id: 'chart-timings',
    type: 'bar',
    labels: phases,
    series: [
      { name: 'workflow wall s', paths: phases.map((ph) => ['timings', 'phases', ph]), color: COLORS.blue },
      { name: 'in activity s', paths: phases.filter((ph) => activitySeconds[ph] !== undefined).length === phases.length ? phases.map((ph) => ['timings', 'activitySeconds', ph]) : [], color: COLORS.grey },
    ].filter((s) => s.paths.length > 0),
  });

  const evaluation = evaluationSection(r, charts);
  const usage = r.judge.usage as null | { requests: number; cachedPairs: number; promptTokens: number; completionTokens: number; costUsd: number };
  const usageRows = (u: typeof usage, base: Path) =>
    u ? table(['requests', 'cached pairs', 'prompt tokens', 'completion tokens', 'cost'], [[v([...base, 'requests'], u.requests), v([...base, 'cachedPairs'], u.cachedPairs), v([...base, 'promptTokens'], u.promptTokens), v([...base, 'completionTokens'], u.completionTokens), v([...base, 'costUsd'], u.costUsd, 'usd')]]) : '<p class="muted">No paid API calls (offline judge).</p>';
  const tf = r.twoFold;
  const twoFold = tf
    ? `
<section id="two-fold">
  <h2>Two-fold: second pass</h2>
  <p>A second model trained on the unsampled half predicted the sampled half: accuracy ${v(['twoFold', 'accuracyOnSampled'], tf.accuracyOnSampled, 'pct')},
  ${v(['twoFold', 'wrong'], tf.wrong)} wrong → ${v(['twoFold', 'uncovered'], tf.uncovered)} uncovered, ${v(['twoFold', 'difficult'], tf.difficult)} difficult,
  ${v(['twoFold', 'noisy'], tf.noisy)} noisy; verdicts: ${v(['twoFold', 'verdicts', 'mislabeled'], tf.verdicts.mislabeled)} mislabeled,
  ${v(['twoFold', 'verdicts', 'label_ok'], tf.verdicts.label_ok)} label_ok, ${v(['twoFold', 'verdicts', 'undecided'], tf.verdicts.undecided)} undecided.
  A row judged mislabeled by either pass leaves the final set.</p>
  <h3>Confusion matrix of the second model on the sampled half</h3>
  ${confusionTable('confusion-2', ['twoFold', 'confusion'], tf.confusion)}
</section>`
    : '';
  const chart = (id: string, h: number) => canvas(charts.find((x) => x.id === id)!, h);
  const finalShare = c.kept > 0 ? c.final / c.kept : null;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dqe report — ${esc(r.run.id)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; margin: 0; background: #f5f7fa; }
  main { max-width: 1200px; margin: 0 auto; padding: 24px; }
  section { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 8px; } h3 { font-size: 15px; margin: 16px 0 8px; }
  .muted { color: #7b8794; font-size: 12px; }
  .cards { display: flex; flex-wrap: wrap; gap: 12px; }
  .card { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 10px 16px; min-width: 130px; }
  .card .big { font-size: 22px; font-weight: 600; }
  table { border-collapse: collapse; margin: 8px 0; }
  th, td { border-bottom: 1px solid #e4e7eb; padding: 4px 10px; text-align: right; vertical-align: top; }
  th:first-child, td:first-child { text-align: left; }
  .pairs td, .pairs th { text-align: left; } .pairs .text { max-width: 330px; line-height: 1.5; max-height: 7.5em; overflow: auto; white-space: pre-wrap; word-break: break-word; font-size: 12px; }
  .reason { font-size: 11px; color: #52606d; max-width: 220px; }
  .verdict.mislabeled { color: #c8453b; font-weight: 600; } .verdict.label_ok { color: #3f9e5a; } .verdict.undecided { color: #b7791f; }
  .cm { display: inline-block; min-width: 48px; padding: 2px 6px; border-radius: 4px; }
  .chart { position: relative; width: 100%; margin: 8px 0; }
  .filters { display: flex; gap: 8px; margin: 8px 0; } .filters input { flex: 1; padding: 4px 8px; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; } @media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
  code { background: #f0f4f8; padding: 0 4px; border-radius: 3px; }
</style>
</head>
<body>
<main>
<header>
  <h1>dqe report — ${esc(r.run.id)}</h1>
  <div class="muted">dataset <code>${esc(r.run.dataset)}</code> (${esc(r.run.format)}, sha256 ${esc(r.run.datasetSha256.slice(0, 12))}…) · labels ${r.labels.map((l) => `<code>${esc(l)}</code>`).join(' ')} ·
  embedder <code>${esc(r.embedding.embedder)}</code> · trainer <code>${esc(r.trainer.name)}</code> · judge <code>${esc(r.judge.name)}</code> · ratio ${esc(String(r.run.config.ratio))} · seed ${esc(String(r.run.config.seed))}${r.twoFold ? ' · two-fold' : ''}</div>
</header>

<section id="summary" class="cards">
  <div class="card"><div class="muted">rows in</div><div class="big">${v(['counts', 'rowsIn'], c.rowsIn)}</div></div>
  <div class="card"><div class="muted">kept</div><div class="big">${v(['counts', 'kept'], c.kept)}</div></div>
  <div class="card"><div class="muted">final</div><div class="big">${v(['counts', 'final'], c.final)}</div><div class="muted">${esc(formatValue(finalShare, 'pct'))} of kept</div></div>
  <div class="card"><div class="muted">accuracy on unsampled</div><div class="big">${v(['trainer', 'accuracyOnUnsampled'], r.trainer.accuracyOnUnsampled, 'pct')}</div></div>
  <div class="card"><div class="muted">noisy pairs</div><div class="big">${v(['counts', 'noisyPairs'], c.noisyPairs)}</div></div>
  <div class="card"><div class="muted">judged mislabeled</div><div class="big">${v(['counts', 'verdicts', 'mislabeled'], c.verdicts.mislabeled)}</div></div>
</section>
${(r.warnings ?? []).length > 0 ? `<section id="warnings"><h2>Warnings</h2><ul>${(r.warnings ?? []).map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}

<section id="funnel">
  <h2>Funnel</h2>
  <div class="grid">
    <div>${chart('chart-funnel', 320)}<p class="muted">Logarithmic axis, so the small categories show; the table gives the counts.</p></div>
    <div>${table(['step', 'rows', 'share of kept'], funnel.map(([name, path]) => [name, v(path, get(path)), shareOfKept(path)]), ' id="funnel-table"')}</div>
  </div>
  <h3>Rejected rows by reason</h3>
  ${Object.keys(c.rejectedByReason).length === 0 ? '<p class="muted">None.</p>' : table(['reason', 'rows'], Object.entries(c.rejectedByReason).map(([k, n]) => [esc(k), v(['counts', 'rejectedByReason', k], n)]), ' id="rejects-table"')}
  <h3>Final set by source</h3>
  ${table(['source', 'rows'], Object.entries(c.finalBySource).map(([k, n]) => [esc(k), v(['counts', 'finalBySource', k], n)]), ' id="sources-table"')}
</section>

<section id="categories">
  <h2>Categories per label</h2>
  <div class="grid">
    <div>${chart('chart-categories', 60 + 40 * r.labels.length)}</div>
    <div>${table(['label', 'kept', 'uncovered', 'difficult', 'noisy', 'final'], r.labels.map((l) => [`<b>${esc(l)}</b>`, ...(['kept', 'uncovered', 'difficult', 'noisy', 'final'] as const).map((k) => v(['perLabel', l, k], r.perLabel[l]?.[k]))]), ' id="categories-table"')}</div>
  </div>
</section>

<section id="confusion">
  <h2>Trainer on the unsampled half</h2>
  <p>Trainer <code>${esc(r.trainer.name)}</code> trained on ${v(['counts', 'sampled'], c.sampled)} sampled rows, predicted ${v(['counts', 'predicted'], c.predicted)} unsampled rows:
  ${v(['counts', 'correct'], c.correct)} right, accuracy ${v(['trainer', 'accuracyOnUnsampled'], r.trainer.accuracyOnUnsampled, 'pct')};
  answers mapping to no label ${v(['trainer', 'instructionFollowingFailureRate'], r.trainer.instructionFollowingFailureRate, 'pct')}.</p>
  ${confusionTable('confusion-1', ['confusion'], r.confusion)}
</section>
${twoFold}
${evaluation}
${pairsSection(r)}

<section id="conflicts">
  <h2>Conflicting labels (${v(['conflicts', 'length'], r.conflicts.length)} groups)</h2>
  ${conflictList(r.conflicts)}
  <h3>Texts that differ only in case, with different labels (${v(['caseConflicts', 'length'], r.caseConflicts.length)} groups; kept)</h3>
  ${r.caseConflicts.length === 0 ? '' : '<p>Kept: they are different texts. An uncased embedder (the default <code>minilm</code>) sees one text with two labels.</p>'}
  ${conflictList(r.caseConflicts)}
</section>

<section id="timings">
  <h2>Timings and costs</h2>
  <div class="grid">
    <div>${chart('chart-timings', 60 + 24 * phases.length)}</div>
    <div>${table(['phase', 'workflow wall s', 'in activity s'], phases.map((ph) => [esc(ph), v(['timings', 'phases', ph], r.timings.phases[ph], 'fixed2'), activitySeconds[ph] === undefined ? '' : v(['timings', 'activitySeconds', ph], activitySeconds[ph], 'fixed2')]), ' id="timings-table"')}</div>
  </div>
  <h3>Judge <code>${esc(r.judge.name)}</code></h3>
  ${usageRows(usage, ['judge', 'usage'])}
  ${tf?.usage ? `<h3>Judge, second pass</h3>${usageRows(tf.usage as typeof usage, ['twoFold', 'usage'])}` : ''}
</section>
<p class="muted">Written by dqe. report.json holds every number on this page.</p>
</main>
<script type="application/json" id="report-data">${scriptJson({ ...r, noisyPairs: undefined, conflicts: undefined, caseConflicts: undefined })}</script>
<script type="application/json" id="chart-specs">${scriptJson(charts)}</script>
<script>${chartJs}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

/** The page's own script: draws the charts from report.json's values and runs the pair filters. */
const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  function at(path) { return path.reduce(function (o, k) { return o == null ? null : o[k]; }, report); }
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  specs.forEach(function (s) {
    var el = document.getElementById(s.id);
    if (!el) return;
    // A log axis starts below 1 row, so a count of 1 still gets a bar, and labels powers of ten only
    // (Chart.js's own ticks crowd and overlap).
    var valueAxis = s.log
      ? { type: 'logarithmic', min: 0.5, ticks: { autoSkip: false, maxRotation: 0, callback: function (v) { var l = Math.log10(v); return Math.abs(l - Math.round(l)) < 1e-9 ? Number(v).toLocaleString('en') : ''; } } }
      : { beginAtZero: true, stacked: !!s.stacked };
    if (s.max !== undefined) valueAxis.max = s.max;
    var scales = s.horizontal ? { x: valueAxis, y: { stacked: !!s.stacked } } : { y: valueAxis, x: { stacked: !!s.stacked } };
    new Chart(el, {
      type: s.type,
      data: {
        labels: s.labels,
        datasets: s.series.map(function (d) { return { label: d.name, data: d.paths.map(at), backgroundColor: d.color }; })
      },
      options: { indexAxis: s.horizontal ? 'y' : 'x', responsive: true, maintainAspectRatio: false, scales: scales,
        plugins: { legend: { display: s.series.length > 1 } } }
    });
  });

  var table = document.getElementById('pairs-table');
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var texts = rows.map(function (tr) { return tr.textContent.toLowerCase(); });
  var search = document.getElementById('pairs-search');
  var verdict = document.getElementById('pairs-verdict');
  var label = document.getElementById('pairs-label');
  var pass = document.getElementById('pairs-pass');
  var shown = document.getElementById('pairs-shown');
  function apply() {
    var q = search.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (tr, i) {
      var ok = (!q || texts[i].indexOf(q) >= 0)
        && (!verdict.value || tr.dataset.verdicts.split(' ').indexOf(verdict.value) >= 0)
        && (!label.value || tr.dataset.labels.split('\n').indexOf(label.value) >= 0)
        && (!pass || !pass.value || tr.dataset.pass === pass.value);
      tr.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = String(n);
  }
  [search, verdict, label, pass].forEach(function (el) { if (el) el.addEventListener('input', apply); });
})();
`;

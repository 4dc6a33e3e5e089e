// report.html: core/report-html.ts renders the page; this reads the Chart.js bundle it inlines.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderReportPage } from '../core/report-html.js';
import type { ReportWithEvaluation } from '../core/run-layout.js';

/** report.json as the page reads it (declared in core/run-layout.ts with the rest of the run directory). */
export type { ReportWithEvaluation };

const require = createRequire(import.meta.url);
let chartJs: string | undefined;

/** Chart.js's UMD bundle, read once from node_modules and inlined into every report. */
function chartJsBundle(): string {
  chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

/** report.html's text for report.json `r`: one self-contained page. */
export function renderReportHtml(r: ReportWithEvaluation): string {
  return renderReportPage(r, chartJsBundle());
}

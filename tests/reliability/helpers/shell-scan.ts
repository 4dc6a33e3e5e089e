// Finds shell strings in dqe's own sources: a child process must be started from a program and an
// argument array, never from one command line a shell parses (quoting bugs, injection).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface ShellFinding {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** Folders that are not dqe's sources: dependencies, virtual environments, outputs. */
const SKIP_DIRS = new Set(['node_modules', '.git', '.venv', 'runs', '.dqe', 'dist', 'data', 'tmp', '.artifacts']);

/** Functions that run a program: their command must come with an argument array. */
const RUNNERS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork', 'execa', 'execaSync', 'execaNode']);
/** Functions that always go through a shell or a command-line parser. */
const SHELL_FUNCTIONS: Record<string, readonly string[]> = {
  child_process: ['exec', 'execSync'],
  execa: ['execaCommand', 'execaCommandSync', '$'],
};

function moduleOf(specifier: string): string | undefined {
  const bare = specifier.replace(/^node:/u, '');
  return bare in SHELL_FUNCTIONS ? bare : undefined;
}

/** Findings in one TypeScript or JavaScript source text. */
export function scanScript(file: string, source: string): ShellFinding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, file.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const out: ShellFinding[] = [];
  const namespaces = new Map<string, string>();
  const add = (node: ts.Node, rule: string) =>
    out.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, rule, text: node.getText(sf).slice(0, 120) });
  const hasSpace = (n: ts.Node) => (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) && /\s/u.test(n.getText(sf).slice(1, -1));

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const mod = moduleOf(node.moduleSpecifier.text);
      const bindings = node.importClause?.namedBindings;
      if (mod && bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) if (SHELL_FUNCTIONS[mod]!.includes((el.propertyName ?? el.name).text)) add(el, `${mod}.${(el.propertyName ?? el.name).text} runs a shell command line`);
      }
      if (mod && bindings && ts.isNamespaceImport(bindings)) namespaces.set(bindings.name.text, mod);
      if (mod && node.importClause?.name) namespaces.set(node.importClause.name.text, mod);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const mod = namespaces.get(node.expression.text);
      if (mod && SHELL_FUNCTIONS[mod]!.includes(node.name.text)) add(node, `${mod}.${node.name.text} runs a shell command line`);
    }
    if (ts.isPropertyAssignment(node) && node.name.getText(sf) === 'shell' && node.initializer.kind !== ts.SyntaxKind.FalseKeyword) add(node, 'shell option other than false');
    if (ts.isShorthandPropertyAssignment(node) && node.name.text === 'shell') add(node, 'shell option other than false');
    if (ts.isTaggedTemplateExpression(node)) {
      const tag = node.tag.getText(sf);
      if (tag === '$' || RUNNERS.has(tag) || /^\$\(/u.test(tag)) add(node, 'template-string command');
    }
    if (ts.isCallExpression(node)) {
      const callee = ts.isIdentifier(node.expression) ? node.expression.text : ts.isPropertyAccessExpression(node.expression) ? node.expression.name.text : '';
      if (RUNNERS.has(callee)) {
        const [cmd, args] = node.arguments;
        if (cmd && hasSpace(cmd)) add(node, 'a command string with spaces (a command line, not a program)');
        if (args && (ts.isStringLiteral(args) || ts.isTemplateExpression(args) || ts.isNoSubstitutionTemplateLiteral(args))) add(node, 'arguments as one string, not an array');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Findings in one Python source text (helper scripts under tests/ and infra/). */
export function scanPython(file: string, source: string): ShellFinding[] {
  const rules: Array<[RegExp, string]> = [
    [/shell\s*=\s*True/u, 'subprocess with shell=True'],
    [/\bos\.(system|popen)\s*\(/u, 'os.system/os.popen run a shell command line'],
    [/\bsubprocess\.(getoutput|getstatusoutput)\s*\(/u, 'subprocess.getoutput runs a shell command line'],
  ];
  const out: ShellFinding[] = [];
  source.split('\n').forEach((text, i) => {
    for (const [re, rule] of rules) if (re.test(text)) out.push({ file, line: i + 1, rule, text: text.trim().slice(0, 120) });
  });
  return out;
}

/** Every .ts, .js, .mjs and .py file of the repository, outside dependencies and outputs. */
export function sourceFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return SKIP_DIRS.has(name) || name.startsWith('.venv') ? [] : sourceFiles(root, p);
    return /\.(ts|js|mjs|py)$/u.test(name) ? [relative(root, p)] : [];
  });
}

/** Scans the repository. */
export function scanRepository(root: string): { files: number; findings: ShellFinding[] } {
  const files = sourceFiles(root);
  const findings = files.flatMap((f) => {
    const text = readFileSync(join(root, f), 'utf8');
    return f.endsWith('.py') ? scanPython(f, text) : scanScript(f, text);
  });
  return { files: files.length, findings };
}

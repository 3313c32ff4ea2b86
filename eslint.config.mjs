// Lint rules that guard what tests cannot see quickly: promises nobody awaits,
// and workflow code reaching for I/O (Temporal replays workflow code, so it must
// be deterministic: no Node built-ins, no clients, no activity-side modules).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const WORKFLOW_MESSAGE =
  'Workflow code is replayed and must be deterministic: no Node built-ins or I/O here. Do the work in an activity (and import activity types with "import type").';

// Packages that do I/O or only make sense outside the workflow sandbox.
const IO_PACKAGES = [
  'pg',
  'ioredis',
  'grammy',
  'prisma',
  'pino',
  'pino-pretty',
  'zod',
  'tsx',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

/** Files that run inside the workflow sandbox: the workflows and the modules they import. */
export const WORKFLOW_FILES = ['workflows/**/*.ts', 'domain/downloads/definitions.ts', 'domain/downloads/errors.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'lib/generated/**', 'coverage/**', '.data/**', 'downloads/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // lint-probe.ts files never exist on disk: test/unit/lint-rules.test.ts lints them as text.
        projectService: { allowDefaultProject: ['*/lint-probe.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: WORKFLOW_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...IO_PACKAGES].map((name) => ({ name, message: WORKFLOW_MESSAGE })),
          patterns: [
            { group: ['node:*', '@prisma/*'], message: WORKFLOW_MESSAGE },
            // Project code: as values, only the other workflow-safe files (so the rule
            // holds for what they import too); anything else for its types only.
            {
              regex:
                '^(?!\\./(download|control|playlist|monitoring|common|definitions|errors)$|\\.\\./domain/downloads/(definitions|errors)$)\\.\\.?/',
              message: WORKFLOW_MESSAGE,
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { module: 'readonly', require: 'readonly', process: 'readonly', __dirname: 'readonly' } },
  },
);

// Lint: typescript-eslint's recommended rules, and the rule that keeps src/core pure (no editor,
// no file system, no processes, no network): core takes strings and plain objects and returns data.
import tseslint from 'typescript-eslint';

const impure = ['vscode', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process',
  'http', 'node:http', 'https', 'node:https', 'net', 'node:net', '@anthropic-ai/sdk'];

// What the production runtime (`prompt-ci/runtime`) may not reach: it runs inside other people's
// services, so its graph stays core, the control-plane drivers and @opentelemetry/api (STYLE.md).
const runtimeForbidden = ['vscode', 'child_process', 'node:child_process', 'web-tree-sitter', 'tree-sitter-python',
  'tree-sitter-typescript', 'tree-sitter-javascript'];
const runtimeRule = (extraPaths = [], extraPatterns = []) => ['error', {
  paths: [
    ...runtimeForbidden.map((name) => ({ name, message: 'The runtime never loads this (STYLE.md: its import graph stays small).' })),
    { name: '@anthropic-ai/sdk', allowTypeImports: true, message: 'The application passes its own client; the runtime only knows its type.' },
    ...extraPaths,
  ],
  patterns: [
    { group: ['**/cli/*', '**/vscode/*', '**/node/git', '**/node/treeSitter', '**/node/promptFiles', '**/node/baseline'], message: 'The runtime may not import the CLI, the editor, git or tree-sitter.' },
    ...extraPatterns,
  ],
}];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'examples/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      // zod's `z` export is a namespace object of all of zod, its 40-odd locales and JSON Schema
      // converters included: a bundle can drop what it doesn't use only from `import * as z`.
      'no-restricted-syntax': ['error', {
        selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z']",
        message: "Import zod as `import * as z from 'zod'`, so the bundles keep only the parts of zod they use.",
      }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: impure.map((name) => ({ name, message: 'src/core is pure: take what you need as a parameter (STYLE.md).' })),
        patterns: [{ group: ['**/node/*', '**/vscode/*', '**/cli/*'], message: 'src/core may not import the side-effect layers.' }],
      }],
    },
  },
  {
    files: ['src/webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'vscode', '**/node/*', '**/vscode/*'], message: 'The webview runs in a browser.' }] }],
    },
  },
  {
    files: ['src/runtime.ts', 'src/node/runtime/**/*.ts', 'src/node/controlPlane/**/*.ts'],
    rules: { 'no-restricted-imports': runtimeRule() },
  },
  {
    files: ['src/core/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': runtimeRule(
        impure.filter((name) => !runtimeForbidden.includes(name) && name !== '@anthropic-ai/sdk').map((name) => ({ name, message: 'src/core is pure: take what you need as a parameter (STYLE.md).' })),
        [{ group: ['**/node/*'], message: 'src/core may not import the side-effect layers.' }],
      ),
    },
  },
  { files: ['**/*.mjs', '**/*.cjs', 'scripts/**'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);

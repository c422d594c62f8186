// Lint: typescript-eslint's recommended rules, and the rule that keeps src/core pure (no editor,
// no file system, no processes, no network): core takes strings and plain objects and returns data.
import tseslint from 'typescript-eslint';

const impure = ['vscode', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process',
  'http', 'node:http', 'https', 'node:https', 'net', 'node:net', '@anthropic-ai/sdk'];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'examples/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'warn',
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
  { files: ['**/*.mjs', 'scripts/**'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);

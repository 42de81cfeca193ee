import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/tsup.config.ts', 'tsup.base.ts', '**/dist/**', '**/node_modules/**', 'packages/protocol/src/gen/**', 'protos/wrapper.js', 'bench/results/**', '.auralink/**', 'docs/api/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }]
    }
  },
  {
    // An empty catch is allowed where ignoring the error is the point (closing what is already closed).
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    rules: { 'no-empty': ['error', { allowEmptyCatch: true }] }
  },
  {
    // Library code logs through namespaced debug loggers, never the console.
    files: ['packages/*/src/**/*.ts', 'signalling/src/**/*.ts'],
    rules: { 'no-console': 'error' }
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node }
  }
)

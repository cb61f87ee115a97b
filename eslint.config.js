// Lint rules for snnlm: typescript-eslint's recommended type-aware set, plus the
// layering rule of the architecture (src/ never imports from the folders above it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const above = ['models', 'distill', 'eval', 'serve', 'vision', 'datasets'];
// The job layers above models/: they never import each other.
const jobs = ['distill', 'eval', 'serve', 'vision'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: above.map((d) => ({
            group: [`../**/${d}/*`, `../${d}/*`],
            message: `src/ must not import from ${d}/`,
          })),
        },
      ],
    },
  },
  {
    files: ['models/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [...jobs, 'datasets'].map((d) => ({
            group: [`../${d}/*`, `../../${d}/*`],
            message: `models/ imports only src/`,
          })),
        },
      ],
    },
  },
  // distill/, eval/, serve/ and vision/ never import each other; shared pieces move down.
  ...jobs.map((dir) => ({
    files: [`${dir}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: jobs
            .filter((d) => d !== dir)
            .map((d) => ({
              group: [`../${d}/*`, `../../${d}/*`],
              message: `${dir}/ must not import from ${d}/ (move shared pieces into src/)`,
            })),
        },
      ],
    },
  })),
  {
    files: ['bin/**/*.js', 'bench/**/*.ts', 'test/**/*.ts'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
);

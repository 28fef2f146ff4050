// @ts-check
import tseslint from 'typescript-eslint';

const apps = ['nova', 'control-plane', 'data-plane', 'router'];

/** Relative imports that would climb out of one app into another, or into a lib's internals. */
function boundaryRules(app) {
  const others = apps.filter((name) => name !== app);
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: [...others.map((name) => `**/${name}/src/**`), '**/libs/**'],
            message:
              'Import libs through their entry (#proto, #storage, #server, #runtimes); apps never import each other.',
          },
        ],
        // apps/nova is the combined bootstrap: it alone may import each plane's entry (its index.ts).
        paths:
          app === 'nova'
            ? []
            : ['#control-plane', '#data-plane', '#router'].map((name) => ({
                name,
                message: 'Apps never import each other; only apps/nova composes the planes.',
              })),
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'libs/proto/src/generated/**', '.nova/**', 'coverage/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test runs describe/it callbacks itself and reports their failures.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Nest modules are classes with decorators and no members.
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/apps/**'], message: 'Libs never import apps.' }],
          paths: ['#control-plane', '#data-plane', '#router'].map((name) => ({
            name,
            message: 'Libs never import apps.',
          })),
        },
      ],
    },
  },
  ...apps.map((app) => ({ files: [`apps/${app}/**/*.ts`], rules: boundaryRules(app) })),
  {
    // Errors are made in one errors file per feature (a code enum and a DomainError subclass), not inline.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['**/*.errors.ts', '**/*.spec.ts', 'libs/server/src/errors/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='DomainError']",
          message: "Throw the feature's own error from its *.errors.ts instead of a bare DomainError.",
        },
        {
          selector: "ClassDeclaration[superClass.name='DomainError']",
          message: "Declare a feature's error in its *.errors.ts with errorClassFor(kinds), beside its code enum.",
        },
      ],
    },
  },
  {
    files: ['eslint.config.js', 'scripts/**/*.mjs', 'apps/data-plane/src/runtimes/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);

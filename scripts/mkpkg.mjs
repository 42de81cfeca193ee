// one-off helper to write workspace package.json files (not part of the build)
import { writeFileSync } from 'node:fs'
const [dir, name, desc, deps, extra] = process.argv.slice(2)
const pkg = {
  name, version: '0.1.0', description: desc, license: 'Apache-2.0', type: 'module', sideEffects: false,
  engines: { node: '>=22' },
  exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
  types: './dist/index.d.ts',
  files: ['dist', 'src', 'README.md'],
  scripts: { build: 'tsup' },
  dependencies: JSON.parse(deps || '{}'),
  ...JSON.parse(extra || '{}')
}
writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n')

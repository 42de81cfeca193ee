// npm run bench: runs every benchmark in the test network namespace, one after another
// (`npm run bench -- call-setup` runs one). The browser ones need Debian's chromium.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { root } from './lib.mjs'

const only = process.argv.slice(2)
for (const name of ['connect', 'create', 'throughput', 'call-setup', 'browser-throughput', 'bundle-size', 'aic/enhance', 'mesh-scale']) {
  if (only.length > 0 && !only.includes(name)) continue
  console.log(`\n== bench/${name}`)
  execFileSync(join(root, 'scripts/netns.sh'), [process.execPath, join(root, `bench/${name}.mjs`)], { stdio: 'inherit' })
}

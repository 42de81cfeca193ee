import { defineConfig } from 'tsup'
import { packageConfig } from '../tsup.base.ts'

// split: the recording service (and werift with it) is a chunk of its own, loaded only with --recording
export default defineConfig({ ...packageConfig(['src/index.ts', 'src/cli.ts']), splitting: true })

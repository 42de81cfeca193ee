import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

export default defineConfig({ ...packageConfig(['src/cli.ts', 'src/chat.ts']), dts: false })

import type { Options } from 'tsup'

/** Shared tsup settings: ESM, .d.ts, one entry per file listed, Node 22 target. */
export function packageConfig (entry: string[] = ['src/index.ts']): Options {
  return {
    entry,
    format: ['esm'],
    // `@internal` members and declarations leave the published types
    dts: { compilerOptions: { stripInternal: true } },
    sourcemap: true,
    clean: true,
    target: 'node22',
    splitting: false,
    tsconfig: 'tsconfig.json'
  }
}

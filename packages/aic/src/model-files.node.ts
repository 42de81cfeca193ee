import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ModelLoadError, ModelNotFoundError } from './errors.js'
import { parseManifest } from './models.js'
import type { ModelEntry, ModelManifest } from './models.js'

/** The folder of shipped models: `models/` at the package root (beside `dist/` and `src/`). */
export const MODELS_DIR = fileURLToPath(new URL('../models/', import.meta.url))

async function readOrThrow (file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ModelNotFoundError(file, { cause: err })
    throw new ModelLoadError(file, (err as Error).message, { cause: err })
  }
}

/** Reads and checks models/manifest.json. */
export async function readManifest (dir: string = MODELS_DIR): Promise<ModelManifest> {
  const file = `${dir}manifest.json`
  const text = (await readOrThrow(file)).toString('utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ModelLoadError(file, `not JSON (${(err as Error).message})`, { cause: err })
  }
  return parseManifest(json, file)
}

/** A shipped model's bytes, after checking them against the manifest's size and SHA-256. */
export async function readShippedModel (entry: ModelEntry, dir: string = MODELS_DIR): Promise<{ bytes: Uint8Array, file: string }> {
  const file = `${dir}${entry.file}`
  const bytes = await readOrThrow(file)
  if (bytes.length !== entry.bytes) throw new ModelLoadError(file, `${bytes.length} bytes, the manifest says ${entry.bytes} (truncated or replaced)`)
  const sha = createHash('sha256').update(bytes).digest('hex')
  if (sha !== entry.sha256) throw new ModelLoadError(file, `SHA-256 ${sha} differs from the manifest's ${entry.sha256}`)
  return { bytes, file }
}

/** A model file the caller names (not one of ours: no manifest, no checksum). */
export async function readModelFile (file: string): Promise<{ bytes: Uint8Array, file: string }> {
  return { bytes: await readOrThrow(file), file }
}

import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { RELAY_NAME } from './constants.js'
import { DataDirError, DatastoreDamagedError } from './errors.js'

/*
 * The relay's LevelDB folder, opened with care (docs: relay-node/README.md, "Operations"):
 *
 * - Before opening, the folder is inspected. LevelDB's `createIfMissing` makes a new, empty
 *   database when `CURRENT` is missing and then deletes the old tables as obsolete: it is only
 *   used when the folder holds no LevelDB data at all. A folder with tables, logs or a MANIFEST
 *   but no `CURRENT`, or a table that does not end in LevelDB's table footer (truncated, or
 *   overwritten at its end), is damage: DatastoreDamagedError, and nothing is touched.
 * - Open errors are classified: the lock another process holds (DataDirError with the hint),
 *   LevelDB's "Corruption:" and damaged-file I/O errors (DatastoreDamagedError), other I/O
 *   (DataDirError with LevelDB's words).
 * - `repair: true` runs LevelDB's RepairDB (classic-level's `repair()`): it rebuilds the MANIFEST
 *   from the tables and logs it finds, rewrites each table from the entries it can still read,
 *   and moves what it cannot use to `<datastore>/lost/`. A table whose footer is gone cannot be
 *   read at all and is moved there whole.
 * - At run time, every read and write of the relay's datastore is watched: a LevelDB corruption
 *   or I/O error (garbage inside a table turns up only when a read reaches it) makes the relay
 *   "degraded" (`DatastoreHealth`), which /healthz and /metrics report.
 */

/** The last 8 bytes of every LevelDB table: kTableMagicNumber 0xdb4775248b80fb57, little-endian. */
const TABLE_MAGIC = Uint8Array.of(0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb)
/** A table's footer: two block handles, padding, the magic number. */
const TABLE_FOOTER_BYTES = 48
/** Where LevelDB's RepairDB moves the files it could not use. */
const LOST_DIR = 'lost'

/** What to do, in every damage message. */
export const DAMAGE_ADVICE = `restore the data dir from a backup, or run ${RELAY_NAME} --repair (LevelDB's repair keeps every entry it can still read; the relay key is not touched)`

/** The LevelDB files of a datastore folder, by kind. */
interface FolderFiles { current: boolean, tables: string[], logs: string[], manifests: string[] }

async function folderFiles (location: string): Promise<FolderFiles> {
  let names: string[]
  try {
    names = await readdir(location)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = []
    else throw new DataDirError(`cannot read the datastore ${location}: ${(err as Error).message}`, { cause: err })
  }
  return {
    current: names.includes('CURRENT'),
    tables: names.filter((n) => /^\d+\.(ldb|sst)$/.test(n)).sort(),
    logs: names.filter((n) => /^\d+\.log$/.test(n)).sort(),
    manifests: names.filter((n) => n.startsWith('MANIFEST-')).sort()
  }
}

const holdsData = (f: FolderFiles): boolean => f.tables.length + f.logs.length + f.manifests.length > 0

/** Tables that do not end in a LevelDB table footer, each with why. */
async function damagedTables (location: string, tables: string[]): Promise<string[]> {
  const bad: string[] = []
  for (const name of tables) {
    const file = join(location, name)
    const { size } = await stat(file)
    if (size < TABLE_FOOTER_BYTES) {
      bad.push(`table ${name} is truncated: ${size} bytes, shorter than a table footer`)
      continue
    }
    const fd = await open(file, 'r')
    try {
      const tail = new Uint8Array(TABLE_MAGIC.length)
      await fd.read(tail, 0, tail.length, size - tail.length)
      if (!tail.every((b, i) => b === TABLE_MAGIC[i])) bad.push(`table ${name} is truncated or overwritten: its ${size} bytes do not end in a LevelDB table footer`)
    } finally {
      await fd.close()
    }
  }
  return bad
}

/** LevelDB's own words in an error or its causes ("Corruption: bad block type"), else the message. */
export function levelWords (err: unknown): string {
  for (let e = err as { message?: string, cause?: unknown } | undefined; e != null; e = e.cause as typeof e) {
    const m = /(?:^|: )((?:Corruption|IO error|Invalid argument): .*)$/s.exec(String(e.message ?? ''))
    if (m?.[1] !== undefined) return m[1]
  }
  return (err as Error)?.message ?? String(err)
}

/**
 * Whether `err` is LevelDB reporting damage or a failing disk (corruption, I/O), as opposed to a
 * missing key, an abort or a caller's mistake: what turns a relay degraded.
 */
export function isDatastoreFault (err: unknown): boolean {
  for (let e = err as { code?: string, message?: string, cause?: unknown } | undefined; e != null; e = e.cause as typeof e) {
    if (e.code === 'LEVEL_CORRUPTION' || e.code === 'LEVEL_IO_ERROR') return true
    if (/(?:^|: )(?:Corruption|IO error): /.test(String(e.message ?? ''))) return true
  }
  return false
}

/** The DatastoreDamagedError for `location`: what is wrong, then what to do. */
export function damagedError (location: string, what: string, cause?: unknown): DatastoreDamagedError {
  return new DatastoreDamagedError(`the datastore ${location} is damaged: ${what}. Nothing was changed; ${DAMAGE_ADVICE}`, { cause })
}

/** Classifies an error of LevelDB's open: the lock, damage, or another I/O problem. */
function openError (location: string, err: unknown): Error {
  const words = levelWords(err)
  const code = ((err as { cause?: { code?: string } })?.cause?.code) ?? (err as { code?: string })?.code
  if (code === 'LEVEL_LOCKED' || /^IO error: lock /i.test(words)) {
    return new DataDirError(`cannot open the datastore ${location}: ${words} (is another auralink-relay using this data dir?)`, { cause: err })
  }
  if (code === 'LEVEL_CORRUPTION' || /^Corruption: /.test(words) ||
    /does not exist \(create_if_missing is false\)/.test(words) ||
    (/^IO error: .*(\.(ldb|sst|log)|MANIFEST-\d+|CURRENT)\b/.test(words) && /No such file|Invalid argument/.test(words))) {
    return damagedError(location, `LevelDB cannot open it: ${words}`, err)
  }
  return new DataDirError(`cannot open the datastore ${location}: ${words}`, { cause: err })
}

/** A datastore fault as the relay reports it. */
export interface DatastoreFault {
  /** LevelDB's words, e.g. "Corruption: bad block type". */
  words: string
  /** True for the fault that turned the relay degraded (the first). */
  first: boolean
}

/**
 * Whether the datastore has failed since the relay started: the first corruption or I/O fault
 * makes it degraded (for good: damage does not heal; restart with --repair or a restored dir).
 */
export class DatastoreHealth {
  #reason: string | undefined
  #faults = 0
  /** Hears each fault (the relay counts it and logs the first). */
  onFault?: (fault: DatastoreFault) => void

  /** Why it is degraded, with what to do; undefined while healthy. */
  get reason (): string | undefined { return this.#reason }
  get degraded (): boolean { return this.#reason !== undefined }
  /** Faults seen since start. */
  get faults (): number { return this.#faults }

  /** Records `err` if it is a datastore fault (isDatastoreFault) and says whether it was. */
  report (err: unknown): boolean {
    if (!isDatastoreFault(err)) return false
    this.#faults++
    const words = levelWords(err)
    const first = this.#reason === undefined
    if (first) this.#reason = `datastore error: ${words}; ${DAMAGE_ADVICE.replace('run ', 'stop the relay and run ')}`
    this.onFault?.({ words, first })
    return true
  }
}

/**
 * The relay's LevelDB datastore: opens with `createIfMissing` only when told (an empty folder),
 * classifies open errors, and reports every LevelDB fault of a read or write to `health`.
 */
export class RelayDatastore extends LevelDatastore {
  readonly location: string
  readonly health: DatastoreHealth
  readonly #createIfMissing: boolean

  constructor (location: string, health: DatastoreHealth, createIfMissing: boolean) {
    // the options go to the Level constructor too: its automatic open (abstract-level opens
    // on the next microtask unless open() is called first) must never create over old data
    super(location, { createIfMissing })
    this.location = location
    this.health = health
    this.#createIfMissing = createIfMissing
  }

  /** Opens LevelDB; rejects with DataDirError (lock, I/O) or DatastoreDamagedError. */
  override async open (): Promise<void> {
    try {
      await this.db.open({ createIfMissing: this.#createIfMissing, compression: false })
    } catch (err) {
      throw openError(this.location, err)
    }
  }

  async #watch<T> (op: Promise<T>): Promise<T> {
    try {
      return await op
    } catch (err) {
      this.health.report(err)
      throw err
    }
  }

  override async get (...args: Parameters<LevelDatastore['get']>): ReturnType<LevelDatastore['get']> { return this.#watch(super.get(...args)) }
  override async has (...args: Parameters<LevelDatastore['has']>): ReturnType<LevelDatastore['has']> { return this.#watch(super.has(...args)) }
  override async put (...args: Parameters<LevelDatastore['put']>): ReturnType<LevelDatastore['put']> { return this.#watch(super.put(...args)) }
  override async delete (...args: Parameters<LevelDatastore['delete']>): ReturnType<LevelDatastore['delete']> { return this.#watch(super.delete(...args)) }

  override batch (): ReturnType<LevelDatastore['batch']> {
    const batch = super.batch()
    return { ...batch, commit: async (options) => this.#watch(Promise.resolve(batch.commit(options))) }
  }

  override async * _query (opts: Parameters<LevelDatastore['_query']>[0]): ReturnType<LevelDatastore['_query']> {
    try {
      yield * super._query(opts)
    } catch (err) {
      this.health.report(err)
      throw err
    }
  }
}

/** What `--repair` did. */
export interface DatastoreRepair {
  /** Entries (of every kind: names, indexes, libp2p's peer store) readable after the repair. */
  entries: number
  /** Files LevelDB's repair moved to `<datastore>/lost/` (could not be used as they were). */
  lost: string[]
}

async function lostFiles (location: string): Promise<string[]> {
  try {
    return await readdir(join(location, LOST_DIR))
  } catch {
    return []
  }
}

/** Runs LevelDB's RepairDB on `location`, unless another process holds its lock. */
async function repairFolder (location: string): Promise<string[]> {
  // a probe open: LevelDB takes the lock before anything else, so a relay running on this
  // folder is found here and left alone (RepairDB itself does not take the lock)
  const probe = new LevelDatastore(location, { createIfMissing: false })
  try {
    await probe.db.open({ createIfMissing: false })
    await probe.db.close()
  } catch (err) {
    const classified = openError(location, err)
    if (!(classified instanceof DatastoreDamagedError)) throw classified
  }
  // the ClassicLevel class datastore-level uses: one copy of the LevelDB binding
  const Level = probe.db.constructor as unknown as { repair?: (location: string) => Promise<void> }
  if (typeof Level.repair !== 'function') throw new DataDirError(`cannot repair the datastore ${location}: this LevelDB binding has no repair; restore the data dir from a backup`)
  const before = new Set(await lostFiles(location))
  try {
    await Level.repair(location)
  } catch (err) {
    throw new DataDirError(`cannot repair the datastore ${location}: ${levelWords(err)}; restore the data dir from a backup`, { cause: err })
  }
  return (await lostFiles(location)).filter((f) => !before.has(f))
}

export interface OpenDatastoreOptions {
  /** Run LevelDB's repair before opening. @default false */
  repair?: boolean
  /** Hears the datastore's faults at run time. @default a new DatastoreHealth */
  health?: DatastoreHealth
}

/**
 * Opens the relay's datastore folder: inspected first (damage: DatastoreDamagedError, nothing
 * touched), `createIfMissing` only for an empty folder, open errors classified; with `repair`,
 * LevelDB's repair runs first and every entry is read once after it (`repair` in the result).
 */
export async function openRelayDatastore (location: string, options: OpenDatastoreOptions = {}): Promise<{ datastore: RelayDatastore, repair?: DatastoreRepair }> {
  const health = options.health ?? new DatastoreHealth()
  const files = await folderFiles(location)
  let lost: string[] | undefined
  if (options.repair === true) {
    lost = holdsData(files) ? await repairFolder(location) : []
  } else if (holdsData(files)) {
    if (!files.current) {
      const list = [...files.manifests, ...files.tables, ...files.logs]
      throw damagedError(location, `LevelDB's CURRENT file is missing but the folder holds its data (${list.slice(0, 6).join(', ')}${list.length > 6 ? ', ...' : ''}); opening it would start an empty datastore and delete those files`)
    }
    const bad = await damagedTables(location, files.tables)
    if (bad.length > 0) throw damagedError(location, bad.join('; '))
  }
  const datastore = new RelayDatastore(location, health, !holdsData(await folderFiles(location)))
  await datastore.open()
  if (lost === undefined) return { datastore }
  let entries = 0
  try {
    for await (const _ of datastore.db.keys()) entries++
  } catch (err) {
    await datastore.close().catch(() => {})
    throw damagedError(location, `still unreadable after LevelDB's repair: ${levelWords(err)}`, err)
  }
  return { datastore, repair: { entries, lost } }
}

/** The line `--repair` prints: how many names it kept, what it moved aside, that the key is untouched. */
export function describeRepair (location: string, repair: DatastoreRepair & { names: number }): string {
  const lost = repair.lost.length > 0 ? `; moved ${repair.lost.join(', ')} to ${join(location, LOST_DIR)}` : ''
  const none = repair.names === 0 ? ' (if this relay held names, stop it and restore the data dir from a backup instead)' : ''
  return `repaired the datastore ${location}: kept ${repair.names} names${none} (${repair.entries} entries)${lost}; the relay key was not touched`
}

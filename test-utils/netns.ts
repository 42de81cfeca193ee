import { execFile, spawn, spawnSync } from 'node:child_process'
import { readFile, readlink, writeFile } from 'node:fs/promises'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

// Child network namespaces for tests that need peers which cannot reach each other. Runs inside
// the namespace of scripts/netns.sh (the "test namespace"), which it changes: each child gets a
// veth pair to the test namespace, and IP forwarding stays off there, so a child reaches the test
// namespace's own addresses (relays, a TURN server) but no other child. Everything is gone when
// the test namespace goes (when vitest exits); `stop()` removes it earlier.

export interface ChildNetns {
  /** The child's address on its veth, e.g. 10.214.1.2. */
  readonly addr: string
  /** The test namespace's address on the child's subnet (its default route), e.g. 10.214.1.1. */
  readonly gateway: string
  /** The process holding the namespace (`unshare --net cat`, which ends when our end of its stdin closes). */
  readonly holder: ChildProcess
  /** Spawns `command` inside the child namespace (through nsenter). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess
  /** Ends the holder; the namespace and its veth pair go with the last process in it. */
  stop(): Promise<void>
}

/** The tools this needs, each with the Debian package that has it; throws naming the missing ones. */
export function requireTools (tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
  if (missing.length > 0) {
    throw new Error(`missing ${missing.map(([cmd, pkg]) => `${cmd} (Debian package ${pkg})`).join(', ')}: scripts/setup.sh installs them (scripts/test.sh's EXTRA_DEBIAN)`)
  }
}

/** Throws unless this process runs inside the namespace of scripts/netns.sh. */
export function requireTestNetns (): void {
  if (process.env.AURALINK_NETNS !== '1') {
    throw new Error('this test makes network namespaces and must run inside scripts/netns.sh (e.g. scripts/netns.sh npx vitest run <file>)')
  }
}

async function run (cmd: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve()
    })
  })
}

/**
 * Turns IP forwarding off in the test namespace (a new network namespace starts with it off;
 * this makes sure) and checks it: with it on, the children could reach each other through it.
 */
export async function forwardingOff (): Promise<void> {
  const path = '/proc/sys/net/ipv4/ip_forward'
  if ((await readFile(path, 'utf8')).trim() !== '0') await writeFile(path, '0')
  const now = (await readFile(path, 'utf8')).trim()
  if (now !== '0') throw new Error(`IP forwarding is ${now} in the test namespace and could not be turned off`)
}

/**
 * Makes child network namespace number `n` (1 to 254): a process `unshare --net cat` holds it
 * (reading a pipe from this process, so it ends with this process even when stop() is never
 * called); a veth pair `alc<n>` (test namespace, 10.214.<n>.1/24) / `alc<n>p` (child,
 * 10.214.<n>.2/24); in the child `lo` up and a default route to 10.214.<n>.1.
 */
export async function childNetns (n: number): Promise<ChildNetns> {
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new RangeError(`child namespace number must be 1 to 254, got ${n}`)
  const holder = spawn('unshare', ['--net', 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] })
  const exited = new Promise<void>((resolve) => holder.once('exit', () => { resolve() }))
  const pid = holder.pid
  if (pid === undefined) throw new Error('unshare --net did not start')
  const stop = async (): Promise<void> => {
    if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL')
    await exited
  }
  try {
    // unshare makes the namespace, then execs cat: wait (bounded) until the holder is in a new one
    const ours = await readlink('/proc/self/ns/net')
    for (let i = 0; ; i++) {
      const theirs = await readlink(`/proc/${pid}/ns/net`).catch(() => ours)
      if (theirs !== ours) break
      if (i >= 100) throw new Error(`unshare --net (pid ${pid}) made no network namespace within 5 s`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const outer = `alc${n}`
    const inner = `alc${n}p`
    const gateway = `10.214.${n}.1`
    const addr = `10.214.${n}.2`
    const inChild = (args: string[]): Promise<void> => run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args])
    await run('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', String(pid)])
    await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', outer])
    await run('ip', ['link', 'set', outer, 'up'])
    await inChild(['link', 'set', 'lo', 'up'])
    await inChild(['addr', 'add', `${addr}/24`, 'dev', inner])
    await inChild(['link', 'set', inner, 'up'])
    await inChild(['route', 'add', 'default', 'via', gateway, 'dev', inner])
    return {
      addr,
      gateway,
      holder,
      spawn: (command, args, options = {}) => spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', command, ...args], options),
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

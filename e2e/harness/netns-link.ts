// Breaking and mending the test namespace's own veth pair (scripts/netns.sh: al0 10.213.0.1/24,
// al1 10.213.0.2/24, a dead-end default route via al0), for tests of calls that survive a network
// drop. The tests run as root inside that namespace, so `ip` changes only the namespace's links;
// the relay and the pages' HTTP server listen on loopback, which stays up throughout.
import { execFile } from 'node:child_process'

/** The namespace's addresses as scripts/netns.sh sets them. */
export const NETNS_ADDRS = { al0: '10.213.0.1/24', al1: '10.213.0.2/24' } as const

async function run (cmd: 'ip' | 'tc', args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`))
      else resolve()
    })
  })
}

const ip = async (args: string[]): Promise<void> => { await run('ip', args) }
const tc = async (args: string[]): Promise<void> => { await run('tc', args) }

/** Throws unless this process runs in the namespace of scripts/netns.sh (where changing links is harmless). */
export function assertInTestNamespace (): void {
  if (process.env.AURALINK_NETNS !== '1') throw new Error('these tests change network links: run them through scripts/netns.sh')
}

/**
 * Breaks every path between the pages: `ip link set al0 down` and `ip link set al1 down`, and the
 * pair's addresses blackholed on `lo`. Both are needed: the pages share this namespace, so the
 * kernel delivers between 10.213.0.1 and .2 through its local routes over `lo`, links down or
 * not (it keeps local routes of addresses on a down link). The blackhole is an HTB class on `lo`
 * whose pfifo holds nothing (`limit 0`: every packet is dropped), fed by a u32 filter on the
 * pair's /24; the kernel here has no drop action, netem or prio (e2e/harness/shaped-link.ts).
 * Loopback's own traffic (the relay, the page server) goes on.
 */
export async function linkDown (): Promise<void> {
  assertInTestNamespace()
  await ip(['link', 'set', 'al0', 'down'])
  await ip(['link', 'set', 'al1', 'down'])
  await blackhole(true)
}

/** Mends what linkDown() broke: the blackhole lifted, both links up, the default route back (the kernel drops it with the link). */
export async function linkUp (): Promise<void> {
  assertInTestNamespace()
  await blackhole(false)
  await ip(['link', 'set', 'al0', 'up'])
  await ip(['link', 'set', 'al1', 'up'])
  await ip(['route', 'replace', 'default', 'via', '10.213.0.254', 'dev', 'al0'])
}

/**
 * Drops (true) or lets through again (false) every packet to the pair's addresses, links left as
 * they are: a path that goes silent with no interface noticing (as a NAT rebinding or a dead
 * middlebox does).
 */
export async function blackhole (on: boolean): Promise<void> {
  assertInTestNamespace()
  if (!on) {
    await tc(['qdisc', 'del', 'dev', 'lo', 'root']).catch(() => {})
    return
  }
  await tc(['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb'])
  await tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:66', 'htb', 'rate', '1gbit', 'quantum', '60000'])
  await tc(['qdisc', 'add', 'dev', 'lo', 'parent', '1:66', 'handle', '66:', 'pfifo', 'limit', '0'])
  await tc(['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.213.0.0/24', 'flowid', '1:66'])
}

/** Moves each end of the pair to a new address (10.213.0.<a> on al0, .<b> on al1): every host candidate the pages had is gone. */
export async function renumber (a: number, b: number): Promise<void> {
  assertInTestNamespace()
  for (const [dev, addr] of [['al0', `10.213.0.${a}/24`], ['al1', `10.213.0.${b}/24`]] as const) {
    await ip(['addr', 'flush', 'dev', dev])
    await ip(['addr', 'add', addr, 'dev', dev])
  }
  await ip(['route', 'replace', 'default', 'via', '10.213.0.254', 'dev', 'al0'])
}

/** Puts the pair back as scripts/netns.sh made it (no blackhole, links up, the first addresses, the default route). */
export async function restoreLinks (): Promise<void> {
  assertInTestNamespace()
  await blackhole(false)
  await ip(['link', 'set', 'al0', 'up'])
  await ip(['link', 'set', 'al1', 'up'])
  for (const [dev, addr] of Object.entries(NETNS_ADDRS)) {
    await ip(['addr', 'flush', 'dev', dev])
    await ip(['addr', 'add', addr, 'dev', dev])
  }
  await ip(['route', 'replace', 'default', 'via', '10.213.0.254', 'dev', 'al0'])
}

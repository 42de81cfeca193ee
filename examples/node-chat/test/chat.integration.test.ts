import { describe, expect, it } from 'vitest'
// @ts-expect-error -- a plain .mjs script shared with `npm run demo`, without type declarations
import { runChatDemo } from '../scripted-demo.mjs'

// The example end to end: a real relay-node process and two auralink-chat processes, in the
// test network namespace. @alice.aura calls @bob.aura, a line goes each way, both quit.
describe('examples/node-chat', () => {
  it('"/call @bob.aura" connects directly and carries chat lines both ways; both quit with exit 0', async () => {
    const lines: string[] = []
    const result = await (runChatDemo as (o: object) => Promise<{ path: string, exitCodes: number[] }>)({ log: (l: string) => lines.push(l) })
    expect(result.path).toBe('direct')
    expect(result.exitCodes).toEqual([0, 0])
    expect(lines).toContain('[@bob.aura] <@alice.aura> hello bob')
    expect(lines).toContain('[@alice.aura] <@bob.aura> hi alice, loud and clear')
  })
})

// zoneLabel caches a label per quarter hour: across a daylight-saving change it must still change at
// the instant the zone's offset does. Run in a zone that has one (Europe/Berlin), loaded afresh.
import { afterAll, describe, expect, it, vi } from 'vitest'

const savedTz = process.env.TZ
process.env.TZ = 'Europe/Berlin'
vi.resetModules()
const { zoneLabel, localTimeZone } = await import('../../../src/renderer/lib/format')
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ
  else process.env.TZ = savedTz
  vi.resetModules()
})

const reference = (at: number) =>
  new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'short' }).formatToParts(at).find((p) => p.type === 'timeZoneName')!.value

describe('zoneLabel', () => {
  it('changes at the instant the zone changes its offset, however the calls interleave', () => {
    expect(localTimeZone).toBe('Europe/Berlin')
    // 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST; 2026-10-25 01:00 UTC: back.
    for (const change of [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1)]) {
      const before = change - 1
      const after = change
      expect(reference(before)).not.toBe(reference(after))
      // Asked first just after, then just before, then after again: each its own.
      expect(zoneLabel(new Date(after))).toBe(reference(after))
      expect(zoneLabel(new Date(before))).toBe(reference(before))
      expect(zoneLabel(new Date(after + 14 * 60_000))).toBe(reference(after))
      expect(zoneLabel(new Date(before - 14 * 60_000))).toBe(reference(before))
    }
  })

  it('stays right past its bound, and names the local zone for a time it cannot read', () => {
    const start = Date.UTC(2026, 0, 1)
    for (let i = 0; i < 1000; i++) {
      const at = start + i * 7 * 60 * 60_000
      expect(zoneLabel(new Date(at))).toBe(reference(at))
    }
    expect(zoneLabel(new Date('not a time'))).toBe('Europe/Berlin')
  })
})

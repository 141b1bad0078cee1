import { describe, expect, it } from 'vitest'
import { formatTime } from '../../../src/renderer/lib/format'

describe('formatTime', () => {
  it('writes the local date and time to the second, the same for every instant of that second', () => {
    const base = Date.UTC(2026, 11, 6, 4, 5, 6)
    const expected = new Intl.DateTimeFormat('en-CA', {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false
    }).format(base).replace(',', '')
    expect(formatTime(new Date(base).toISOString())).toBe(expected)
    expect(formatTime(new Date(base + 999).toISOString())).toBe(expected)
    // Milliseconds before it are the second before (floor, also for times before 1970).
    expect(formatTime(new Date(base - 1).toISOString())).not.toBe(expected)
    expect(formatTime('1969-12-31T23:59:59.500Z')).toBe(formatTime('1969-12-31T23:59:59.000Z'))
    expect(formatTime('1969-12-31T23:59:59.500Z')).not.toBe(formatTime('1970-01-01T00:00:00.000Z'))
  })

  it('tells each second apart however the calls interleave', () => {
    const a = '2026-12-06T04:05:06.100Z'
    const b = '2026-12-06T04:05:07.100Z'
    const fa = formatTime(a)
    const fb = formatTime(b)
    expect(fa).not.toBe(fb)
    expect(formatTime(a)).toBe(fa)
    expect(formatTime(b)).toBe(fb)
  })

  it('writes a dash for no time or a time it cannot read', () => {
    expect(formatTime(null)).toBe('—')
    expect(formatTime('')).toBe('—')
    expect(formatTime('not a time')).toBe('—')
  })
})

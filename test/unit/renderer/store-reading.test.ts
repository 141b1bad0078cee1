import { describe, expect, it } from 'vitest'
import { readingWords } from '../../../src/renderer/lib/store-reading'

describe('how the store page says Vigil follows the writes', () => {
  it('names the mode in plain words, counts fallbacks and says why live copies are off', () => {
    expect(readingWords({ mode: 'live', fallbacks: 0, liveOff: null }).text).toBe('follows each write')
    expect(readingWords({ mode: 'copies', fallbacks: 1, liveOff: null }).text).toBe('reads copies · fell back to copies once')
    expect(readingWords({ mode: 'live', fallbacks: 3, liveOff: null }).text).toBe('follows each write · fell back to copies 3 times')
    const off = readingWords({ mode: 'copies', fallbacks: 3, liveOff: 'applying the agent\'s changes failed (disk full)' })
    expect(off.title).toContain('until Vigil restarts: applying the agent\'s changes failed (disk full).')
    expect(off.title).toContain('the numbers stay right')
    expect(readingWords({ mode: 'live', fallbacks: 0, liveOff: null }).title).not.toContain('fallback')
  })
})

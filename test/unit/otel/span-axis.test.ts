// The span waterfall's axis: its quarter ticks must read apart at every trace length.
import { describe, expect, it } from 'vitest'
import { spanAxisText } from '../../../src/shared/model/otel-spans'

const labels = (range: number) => [0, 0.25, 0.5, 0.75, 1].map((t) => spanAxisText(range * t, range))

describe('spanAxisText', () => {
  it('labels every quarter tick differently, from sub-millisecond traces to hours', () => {
    for (const range of [0.001, 0.004, 0.3, 1, 2.2, 3.03, 5, 9.99, 10, 37, 999, 1000, 4321, 59_000, 3_600_000]) {
      const l = labels(range)
      expect(new Set(l).size, `${range} ms: ${l.join(', ')}`).toBe(l.length)
    }
  })

  it('a 3 ms trace reads 0, 0.76, 1.5, 2.3 and 3.0 ms (not 2 ms twice)', () => {
    expect(labels(3.03)).toEqual(['0.00 ms', '0.76 ms', '1.5 ms', '2.3 ms', '3.0 ms'])
  })
})

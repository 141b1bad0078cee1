// Summary statistics for bench samples.

export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/** One JSON line per measurement: name, unit, median, p95, n (plus min/max for context). */
export function report(name, unit, samples, extra = {}) {
  const sorted = [...samples].sort((a, b) => a - b)
  const round = (v) => Math.round(v * 100) / 100
  const line = {
    name,
    unit,
    median: round(quantile(sorted, 0.5)),
    p95: round(quantile(sorted, 0.95)),
    n: sorted.length,
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
    ...extra
  }
  process.stdout.write(JSON.stringify(line) + '\n')
  return line
}

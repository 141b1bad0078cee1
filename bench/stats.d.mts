export function quantile(sorted: number[], q: number): number
export function report(
  name: string,
  unit: string,
  samples: number[],
  extra?: Record<string, unknown>
): { name: string; unit: string; median: number; p95: number; n: number; min: number; max: number }

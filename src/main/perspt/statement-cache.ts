// Prepared statements kept for the views' parameterised queries on the copy now open. DuckDB parses and
// plans a statement on the calling (main) thread: ~0.5 ms per view query on the 154 MB store, a
// quarter of a session's energy read; the same SQL with other parameters reuses its plan.
//
// Statements are kept per attached copy (its alias) and only used while that copy is the one views read:
// one prepared against another copy would read the wrong file. Any statement of another alias is
// destroyed at the first read after a switch. Bounded: at most `max` per copy, least recently used
// first out. A statement still running (an overlapping read of the same SQL) is not shared: that call
// prepares its own, as without the cache.
import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBResultReader, DuckDBType, DuckDBValue } from '@duckdb/node-api'

type Values = DuckDBValue[] | Record<string, DuckDBValue>

interface Kept {
  statement: DuckDBPreparedStatement
  busy: boolean
}

export interface StatementCacheStats {
  prepared: number
  reused: number
}

export class StatementCache {
  /** The connection views read through: the same connection, its parameterised runAndReadAll cached. */
  readonly connection: DuckDBConnection
  private alias: string | null = null
  private readonly kept = new Map<string, Kept>()
  private readonly counts: StatementCacheStats = { prepared: 0, reused: 0 }

  constructor(
    private readonly con: DuckDBConnection,
    private readonly max = 64
  ) {
    const run = (sql: string, values?: Values, types?: DuckDBType[] | Record<string, DuckDBType | undefined>) => this.runAndReadAll(sql, values, types)
    this.connection = new Proxy(con, {
      get(target, prop) {
        if (prop === 'runAndReadAll') return run
        const value: unknown = Reflect.get(target, prop, target)
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      }
    })
  }

  /** The copy views read now; statements of any other are destroyed. Null: keep none. */
  use(alias: string | null): void {
    if (alias === this.alias) return
    this.clear()
    this.alias = alias
  }

  /** The copy `alias` is being detached: its statements go now. */
  release(alias: string): void {
    if (alias === this.alias) this.use(null)
  }

  /** Destroys every kept statement (before the copy they were prepared on is detached). */
  clear(): void {
    for (const k of this.kept.values()) if (!k.busy) k.statement.destroySync()
    this.kept.clear()
  }

  stats(): StatementCacheStats {
    return { ...this.counts }
  }

  private async runAndReadAll(sql: string, values?: Values, types?: DuckDBType[] | Record<string, DuckDBType | undefined>): Promise<DuckDBResultReader> {
    const parameterised = values !== undefined && (Array.isArray(values) ? values.length > 0 : Object.keys(values).length > 0)
    if (!parameterised || types !== undefined || this.alias === null) return this.con.runAndReadAll(sql, values, types)
    const alias = this.alias
    let k = this.kept.get(sql)
    if (k?.busy) return this.con.runAndReadAll(sql, values)
    if (k) {
      // Most recently used last.
      this.kept.delete(sql)
      this.kept.set(sql, k)
      this.counts.reused++
    } else {
      const statement = await this.con.prepare(sql)
      if (this.alias !== alias) {
        // The copy changed while preparing: not to be kept.
        statement.destroySync()
        return this.con.runAndReadAll(sql, values)
      }
      k = { statement, busy: false }
      this.kept.set(sql, k)
      this.counts.prepared++
      this.evict()
    }
    k.busy = true
    try {
      k.statement.bind(values)
      return await k.statement.runAndReadAll()
    } finally {
      k.busy = false
      // Dropped (a copy switch or eviction) while it ran.
      if (this.kept.get(sql) !== k) k.statement.destroySync()
    }
  }

  private evict(): void {
    for (const [sql, k] of this.kept) {
      if (this.kept.size <= this.max) return
      this.kept.delete(sql)
      if (!k.busy) k.statement.destroySync()
    }
  }
}

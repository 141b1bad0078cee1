// One private read-write copy of a Perspt store, kept attached, that the agent WAL's new row changes are
// applied to (decoded by wal-rows.ts): a new version costs the decode and an append of the new rows
// (~10 ms for a second of a busy agent), not an ATTACH that replays the tail (~9 ms + ~27 ms per MiB,
// and folds every MiB) — issue 17's pace. The copy starts as a tail base (the agent's .db plus its WAL
// up to `offset`, checkpointed without vacuuming), so its row ids are the agent's: rows are appended in
// the agent's order, and deletes and updates address rows by the agent's row ids. Anything not decoded
// (a catalog change, a large append written as row groups, an unknown type) or not applied cleanly
// makes the caller drop the copy and go back to snapshots; a periodic full-copy comparison checks it.
import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DuckDBDateValue, DuckDBTimestampTZValue, DuckDBTimestampValue } from '@duckdb/node-api'
import type { DuckDBAppender, DuckDBConnection, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api'
import { decodeRowEntries } from './wal-rows'
import type { WalColumnType, WalRowOp, WalValue } from './wal-rows'
import type { TailPosition } from './snapshot'
import { fingerprintOf, tableChanges } from './wal-tail'
import type { TableChanges } from './wal-tail'


/**
 * The appender's and a prepared statement's method for a decoded value of DuckDB type `id` (their
 * names differ only by the prefix: appendInteger / bindInteger), and the value as that method takes it.
 */
function typed(id: number, v: Exclude<WalValue, null>): [string, DuckDBValue | Uint8Array] {
  switch (id) {
    case 10: return ['Boolean', v]
    case 11: return ['TinyInt', v]
    case 12: return ['SmallInt', v]
    case 13: return ['Integer', v]
    case 14: return ['BigInt', v]
    case 15: return ['Date', new DuckDBDateValue(v as number)]
    case 19: return ['Timestamp', new DuckDBTimestampValue(v as bigint)]
    case 22: return ['Float', v]
    case 23: return ['Double', v]
    case 25: return ['Varchar', v]
    case 26: return ['Blob', v]
    case 28: return ['UTinyInt', v]
    case 29: return ['USmallInt', v]
    case 30: return ['UInteger', v]
    case 31: return ['UBigInt', v]
    case 32: return ['TimestampTZ', new DuckDBTimestampTZValue(v as bigint)]
    case 50: return ['HugeInt', v]
    default: throw new Error(`no way to write a value of DuckDB type ${id}`)
  }
}

// The typed methods take different value types; `typed` picked the one that matches.
type Loose = (...args: unknown[]) => void

function appendValue(appender: DuckDBAppender, type: WalColumnType, v: WalValue): void {
  if (v === null) return appender.appendNull()
  const [method, value] = typed(type.id, v)
  ;(appender[`append${method}` as keyof DuckDBAppender] as Loose).call(appender, value)
}

function bindValue(statement: DuckDBPreparedStatement, index: number, type: WalColumnType, v: WalValue): void {
  if (v === null) return statement.bindNull(index)
  const [method, value] = typed(type.id, v)
  ;(statement[`bind${method}` as keyof DuckDBPreparedStatement] as Loose).call(statement, index, value)
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`

export class LiveCopy {
  /** The copy's WAL bytes applied since its last private checkpoint (see checkpointIfDue). */
  private pendingBytes = 0
  private readonly columns = new Map<string, string[]>()
  applied = 0

  private constructor(
    readonly alias: string,
    readonly dbPath: string,
    public position: TailPosition
  ) {}

  /**
   * Attaches `dbPath` (a private base nobody else opens) read-write as `alias`. The host must never vacuum
   * (max_vacuum_tasks 0: row ids stay the agent's) nor checkpoint on its own (see checkpointIfDue).
   */
  static async attach(con: DuckDBConnection, alias: string, dbPath: string, position: TailPosition): Promise<LiveCopy> {
    // Small row groups: a private checkpoint rewrites only the last one of each table (as tail bases do).
    await con.run(`ATTACH '${dbPath.replace(/'/g, "''")}' AS ${alias} (ROW_GROUP_SIZE 2048)`)
    return new LiveCopy(alias, dbPath, position)
  }

  /**
   * Applies the complete transactions in `bytes` (the agent WAL's bytes from `position.offset`), one
   * DuckDB transaction each; returns the tables they changed and how. Null when the bytes hold anything
   * not decoded here (nothing is applied then). Throws when DuckDB refuses a change: the transaction is
   * rolled back and the copy must be dropped (earlier transactions of `bytes` are already applied).
   */
  async apply(con: DuckDBConnection, bytes: Uint8Array, next: TailPosition): Promise<TableChanges | null> {
    const ops = decodeRowEntries(bytes)
    const changes = ops && tableChanges(bytes)
    if (!ops || !changes) return null
    let open = false
    try {
      for (const op of ops) {
        if (op.kind === 'sequence') continue // ids arrive as values; the copy never draws from a sequence
        if (!open) {
          await con.run('BEGIN TRANSACTION')
          open = true
        }
        if (op.kind === 'commit') {
          await con.run('COMMIT')
          open = false
          this.applied++
        } else {
          await this.applyOp(con, op)
        }
      }
    } catch (err) {
      if (open) await con.run('ROLLBACK').catch(() => undefined)
      throw err
    }
    // Bytes hold complete transactions only: a trailing op without its commit is not applied.
    if (open) await con.run('ROLLBACK')
    this.position = next
    this.pendingBytes += bytes.length
    return changes
  }

  private async applyOp(con: DuckDBConnection, op: Exclude<WalRowOp, { kind: 'sequence' | 'commit' }>): Promise<void> {
    const table = `${this.alias}.${ident(op.schema)}.${ident(op.name)}`
    if (op.kind === 'insert') {
      const appender = await con.createAppender(op.name, op.schema, this.alias)
      try {
        for (const row of op.rows) {
          for (let c = 0; c < row.length; c++) appendValue(appender, op.types[c]!, row[c]!)
          appender.endRow()
        }
        appender.flushSync()
      } finally {
        appender.closeSync()
      }
    } else if (op.kind === 'delete') {
      await con.run(`DELETE FROM ${table} WHERE rowid IN (${op.rowIds.join(',')})`)
    } else {
      const column = (await this.columnsOf(con, op.schema, op.name))[op.columnPath[0]!]
      if (column === undefined || op.columnPath.length > 2 || (op.columnPath.length === 2 && op.columnPath[1] !== 0)) {
        throw new Error(`an update of column path ${op.columnPath.join('.')} in ${op.table}`)
      }
      if (op.columnPath.length === 2) {
        // The validity of column i ([i, 0]): a NULL entry sets the value NULL; the values entry ([i], before
        // it) holds only rows given a value, and the rows listed valid here are among them.
        const nulls = op.rowIds.filter((_, i) => op.values[i] === null)
        if (nulls.length > 0) await con.run(`UPDATE ${table} SET ${ident(column)} = NULL WHERE rowid IN (${nulls.join(',')})`)
        return
      }
      const statement = await con.prepare(`UPDATE ${table} SET ${ident(column)} = $1 WHERE rowid = $2`)
      for (let i = 0; i < op.rowIds.length; i++) {
        bindValue(statement, 1, op.type, op.values[i]!)
        statement.bindBigInt(2, op.rowIds[i]!)
        await statement.run()
      }
    }
  }

  private async columnsOf(con: DuckDBConnection, schema: string, name: string): Promise<string[]> {
    const key = `${schema}.${name}`
    let names = this.columns.get(key)
    if (!names) {
      const reader = await con.runAndReadAll(
        `SELECT column_name FROM duckdb_columns() WHERE database_name = '${this.alias}' AND schema_name = $1 AND table_name = $2 ORDER BY column_index`,
        [schema, name]
      )
      names = reader.getRowObjectsJS().map((r) => String(r.column_name))
      this.columns.set(key, names)
    }
    return names
  }

  /**
   * Applied rows live in memory until the copy checkpoints; past `maxPendingBytes` of applied WAL it
   * does (no vacuum: row ids stay), which also removes the copy's own WAL. Returns true when it did.
   */
  async checkpointIfDue(con: DuckDBConnection, maxPendingBytes: number): Promise<boolean> {
    if (this.pendingBytes < maxPendingBytes) return false
    await con.run(`CHECKPOINT ${this.alias}`)
    this.pendingBytes = 0
    return true
  }

  /** fingerprint() of the copy as it is now (wal-tail.ts), for comparing with a full copy at `position`. */
  async fingerprint(con: DuckDBConnection): Promise<string> {
    await con.run(`USE ${this.alias}`)
    return fingerprintOf(con)
  }

  /** Detaches (the host does not checkpoint on shutdown) and deletes the copy's folder. */
  async drop(con: DuckDBConnection | null): Promise<void> {
    if (con) await con.run(`USE memory; DETACH DATABASE IF EXISTS ${this.alias}`).catch(() => undefined)
    await rm(dirname(this.dbPath), { recursive: true, force: true }).catch(() => undefined)
  }
}

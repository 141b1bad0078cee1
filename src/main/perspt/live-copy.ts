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

/** An UPDATE waiting in a batch: the new value of one column per row id (the last one written wins). */
interface PendingUpdate {
  table: string
  column: string
  type: WalColumnType
  values: Map<bigint, WalValue>
}

/**
 * One DuckDB transaction of applied changes: an appender per table it appends to, and UPDATEs collected
 * per column, only each row's last value written (a busy agent updates its session row at every commit).
 */
class Batch {
  private opened = false
  private readonly appenders = new Map<string, DuckDBAppender>()
  private readonly updates = new Map<string, PendingUpdate>()

  constructor(
    private readonly con: DuckDBConnection,
    private readonly alias: string,
    /** The copy's prepared UPDATEs by SQL, kept across batches (a prepare cost ~0.6 ms of every version). */
    private readonly prepared: Map<string, DuckDBPreparedStatement>
  ) {}

  async open(): Promise<DuckDBConnection> {
    if (!this.opened) {
      await this.con.run('BEGIN TRANSACTION')
      this.opened = true
    }
    return this.con
  }

  appendedTo(table: string): boolean {
    return this.appenders.has(table)
  }

  async append(op: Extract<WalRowOp, { kind: 'insert' }>): Promise<void> {
    await this.open()
    let appender = this.appenders.get(op.table)
    if (!appender) this.appenders.set(op.table, (appender = await this.con.createAppender(op.name, op.schema, this.alias)))
    for (const row of op.rows) {
      for (let c = 0; c < row.length; c++) appendValue(appender, op.types[c]!, row[c]!)
      appender.endRow()
    }
  }

  /**
   * `op` on column `column` of `table` (a qualified name). Its values entry ([i]) holds the rows given a
   * value; its validity entry ([i, 0], after it) sets NULL where its value is NULL and confirms the rest.
   */
  update(table: string, op: Extract<WalRowOp, { kind: 'update' }>, column: string): void {
    const key = `${table}.${ident(column)}`
    let pending = this.updates.get(key)
    if (!pending) this.updates.set(key, (pending = { table, column, type: op.type, values: new Map() }))
    const validity = op.columnPath.length === 2
    if (!validity) pending.type = op.type
    op.rowIds.forEach((id, i) => {
      if (!validity) pending.values.set(id, op.values[i]!)
      else if (op.values[i] === null) pending.values.set(id, null)
    })
  }

  async delete(table: string, op: Extract<WalRowOp, { kind: 'delete' }>): Promise<void> {
    await this.flushUpdates(table)
    await (await this.open()).run(`DELETE FROM ${table} WHERE rowid IN (${op.rowIds.join(',')})`)
  }

  /** Runs the collected UPDATEs (of `table`, or all): NULLs in one statement, values one prepared row at a time. */
  private async flushUpdates(table?: string): Promise<void> {
    for (const [key, pending] of this.updates) {
      if (table !== undefined && pending.table !== table) continue
      this.updates.delete(key)
      const con = await this.open()
      const set = `UPDATE ${pending.table} SET ${ident(pending.column)} =`
      const nulls = [...pending.values].filter(([, v]) => v === null).map(([id]) => id)
      if (nulls.length > 0) await con.run(`${set} NULL WHERE rowid IN (${nulls.join(',')})`)
      if (nulls.length === pending.values.size) continue
      const sql = `${set} $1 WHERE rowid = $2`
      let statement = this.prepared.get(sql)
      if (!statement) this.prepared.set(sql, (statement = await con.prepare(sql)))
      for (const [id, value] of pending.values) {
        if (value === null) continue
        bindValue(statement, 1, pending.type, value)
        statement.bindBigInt(2, id)
        await statement.run()
      }
    }
  }

  async commit(): Promise<void> {
    await this.flushUpdates()
    for (const appender of this.appenders.values()) {
      appender.flushSync()
      appender.closeSync()
    }
    this.appenders.clear()
    if (this.opened) await this.con.run('COMMIT')
    this.opened = false
  }

  async rollback(): Promise<void> {
    this.updates.clear()
    for (const appender of this.appenders.values()) {
      try {
        appender.closeSync()
      } catch {
        // Its rows go with the transaction.
      }
    }
    this.appenders.clear()
    if (this.opened) await this.con.run('ROLLBACK').catch(() => undefined)
    this.opened = false
  }
}

export class LiveCopy {
  /** The copy's WAL bytes applied since its last private checkpoint (see checkpointIfDue). */
  private pendingBytes = 0
  private readonly columns = new Map<string, string[]>()
  /** Prepared UPDATEs (a column of a table each: a few), destroyed with the copy. */
  private readonly prepared = new Map<string, DuckDBPreparedStatement>()

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
   * Applies the complete transactions in `bytes` (the agent WAL's bytes from `position.offset`) and
   * returns the tables they changed and how; null when the bytes hold anything not decoded here
   * (nothing is applied then). Reads run between applies, never during one, so the transactions go in
   * as few DuckDB transactions as row ids allow (a commit each cost ~20 ms of WAL write): rows appended
   * in an open transaction have transaction-local row ids, so an UPDATE or DELETE of a table this one
   * appended to commits first. Throws when DuckDB refuses a change: the copy must then be dropped.
   */
  async apply(con: DuckDBConnection, bytes: Uint8Array, next: TailPosition): Promise<TableChanges | null> {
    const ops = decodeRowEntries(bytes)
    const changes = ops && tableChanges(bytes)
    if (!ops || !changes) return null
    // Bytes hold complete transactions only: ops after the last commit are not applied.
    let end = ops.length
    while (end > 0 && ops[end - 1]!.kind !== 'commit') end--
    const batch = new Batch(con, this.alias, this.prepared)
    try {
      for (const op of ops.slice(0, end)) {
        // Ids arrive as values: the copy never draws from a sequence.
        if (op.kind === 'commit' || op.kind === 'sequence') continue
        if (op.kind === 'insert') await batch.append(op)
        else await this.change(batch, op)
      }
      await batch.commit()
    } catch (err) {
      await batch.rollback()
      throw err
    }
    this.position = next
    this.pendingBytes += bytes.length
    return changes
  }

  private async change(batch: Batch, op: Extract<WalRowOp, { kind: 'delete' | 'update' }>): Promise<void> {
    // Rows appended in the open transaction have transaction-local row ids: commit them first.
    if (batch.appendedTo(op.table)) await batch.commit()
    const table = `${this.alias}.${ident(op.schema)}.${ident(op.name)}`
    if (op.kind === 'delete') return batch.delete(table, op)
    const con = await batch.open()
    const column = (await this.columnsOf(con, op.schema, op.name))[op.columnPath[0]!]
    if (column === undefined || op.columnPath.length > 2 || (op.columnPath.length === 2 && op.columnPath[1] !== 0)) {
      throw new Error(`an update of column path ${op.columnPath.join('.')} in ${op.table}`)
    }
    batch.update(table, op, column)
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
    for (const statement of this.prepared.values()) statement.destroySync()
    this.prepared.clear()
    if (con) await con.run(`USE memory; DETACH DATABASE IF EXISTS ${this.alias}`).catch(() => undefined)
    await rm(dirname(this.dbPath), { recursive: true, force: true }).catch(() => undefined)
  }
}

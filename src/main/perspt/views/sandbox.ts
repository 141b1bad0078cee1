// Sandbox view of one session: provisional branches, their lineage, flushes and interface seals
// (spec §1.2, §3.6). Every table arrived in v0.5.5; older stores list them as missing.
import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api'
import type { SessionRow } from '../../../shared/model/perspt'
import type { SandboxBranch, SandboxView } from '../../../shared/model/perspt-views'
import type { PersptTable } from '../schema'
import type { SchemaProbe } from '../store-reader'
import { blobText, emptyTables, isoFromMs, text, toNumber } from '../store-reader'

type Row = Record<string, JS>

const SANDBOX_TABLES = ['provisional_branches', 'branch_lineage', 'branch_flushes', 'interface_seals'] as const

async function rows(con: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
  return (await con.runAndReadAll(sql, params)).getRowObjectsJS()
}

/** `column` when the table has it, else a NULL of that name: a store missing a column still reads. */
function col(probe: SchemaProbe, table: PersptTable, column: string, alias = column): string {
  return probe.columns.get(table)?.has(column) ? `${table}.${column} AS ${alias}` : `NULL AS ${alias}`
}

function ms(probe: SchemaProbe, table: PersptTable, column: string, alias: string): string {
  return probe.columns.get(table)?.has(column) ? `epoch_ms(TRY_CAST(${table}.${column} AS TIMESTAMP)) AS ${alias}` : `NULL AS ${alias}`
}

function order(probe: SchemaProbe, table: PersptTable): string {
  const c = probe.columns.get(table)
  const keys = [c?.has('created_at') ? `${table}.created_at` : null, c?.has('id') ? `${table}.id` : null].filter(Boolean)
  return keys.length > 0 ? `ORDER BY ${keys.join(', ')}` : ''
}

function usable(probe: SchemaProbe, table: PersptTable, ...columns: string[]): boolean {
  const c = probe.columns.get(table)
  return c !== undefined && columns.every((x) => c.has(x))
}

const str = (v: JS | undefined): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v))

/** A JSON array of ids from a TEXT column; '' or malformed text gives [] (Perspt's unwrap_or_default). */
export function sandboxIdList(value: JS | undefined): string[] {
  const s = text(value)
  if (s === null) return []
  try {
    const parsed: unknown = JSON.parse(s)
    if (!Array.isArray(parsed)) return []
    return parsed.filter((x) => x !== null && x !== undefined).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
  } catch {
    return []
  }
}

/** Where Perspt keeps a branch's sandbox: `<working_dir>/.perspt/sandboxes/<session>/<branch>/`. */
export function sandboxDirOf(workingDir: string, sessionId: string, branchId: string): string {
  const base = workingDir.replace(/[\\/]+$/, '')
  return `${base === '' ? '.' : base}/.perspt/sandboxes/${sessionId}/${branchId}/`
}

export async function readSandbox(con: DuckDBConnection, probe: SchemaProbe, session: SessionRow): Promise<SandboxView> {
  const sid = session.sessionId
  const missingTables = SANDBOX_TABLES.filter((t) => !probe.tables.has(t))
  const view: SandboxView = { branches: [], lineage: [], flushes: [], seals: [], missingTables }
  // An empty table (most sessions' lineage, flushes and seals) costs no query.
  const empty = await emptyTables(con)
  const readable = (table: PersptTable, ...columns: string[]) => usable(probe, table, ...columns) && !empty.has(table)

  const pb = 'provisional_branches' as const
  if (readable(pb, 'session_id', 'branch_id')) {
    const result = await rows(
      con,
      `SELECT ${col(probe, pb, 'branch_id')}, ${col(probe, pb, 'node_id')}, ${col(probe, pb, 'parent_node_id')},
         ${col(probe, pb, 'state')}, ${col(probe, pb, 'sandbox_dir')},
         ${ms(probe, pb, 'created_at', 'c_ms')}, ${ms(probe, pb, 'updated_at', 'u_ms')}
       FROM ${pb} WHERE session_id = $1 ${order(probe, pb)}`,
      [sid]
    )
    view.branches = result.map((r): SandboxBranch => {
      const branchId = str(r.branch_id)
      return {
        branchId,
        nodeId: str(r.node_id),
        parentNodeId: text(r.parent_node_id),
        // '' (or blank) is shown as "no state": it is not 'active' (the schema default only fills an omitted column).
        state: (text(r.state) ?? '').trim().toLowerCase(),
        // The column is always '' in practice; a real value (should Perspt ever write one) wins.
        sandboxDir: text(r.sandbox_dir) ?? sandboxDirOf(session.workingDir, sid, branchId),
        createdAt: isoFromMs(toNumber(r.c_ms)),
        updatedAt: isoFromMs(toNumber(r.u_ms))
      }
    })
  }

  // branch_lineage has no session_id: scope it through this session's branch ids.
  const bl = 'branch_lineage' as const
  if (readable(bl, 'child_branch_id') && readable(pb, 'session_id', 'branch_id')) {
    const result = await rows(
      con,
      `SELECT ${col(probe, bl, 'lineage_id')}, ${col(probe, bl, 'parent_branch_id')}, ${col(probe, bl, 'child_branch_id')},
         ${col(probe, bl, 'depends_on_seal')}, ${ms(probe, bl, 'created_at', 'c_ms')}
       FROM ${bl}
       WHERE ${bl}.child_branch_id IN (SELECT branch_id FROM ${pb} WHERE session_id = $1)
       ${order(probe, bl)}`,
      [sid]
    )
    view.lineage = result.map((r) => ({
      lineageId: str(r.lineage_id),
      // Perspt's naming bug: parent_branch_id holds the parent *node* id.
      parentNodeId: str(r.parent_branch_id),
      childBranchId: str(r.child_branch_id),
      dependsOnSeal: r.depends_on_seal === true,
      createdAt: isoFromMs(toNumber(r.c_ms))
    }))
  }

  const bf = 'branch_flushes' as const
  if (readable(bf, 'session_id')) {
    const result = await rows(
      con,
      `SELECT ${col(probe, bf, 'flush_id')}, ${col(probe, bf, 'parent_node_id')}, ${col(probe, bf, 'flushed_branch_ids')},
         ${col(probe, bf, 'requeue_node_ids')}, ${col(probe, bf, 'reason')}, ${ms(probe, bf, 'created_at', 'c_ms')}
       FROM ${bf} WHERE session_id = $1 ${order(probe, bf)}`,
      [sid]
    )
    view.flushes = result.map((r) => ({
      flushId: str(r.flush_id),
      parentNodeId: str(r.parent_node_id),
      flushedBranchIds: sandboxIdList(r.flushed_branch_ids),
      requeueNodeIds: sandboxIdList(r.requeue_node_ids),
      reason: str(r.reason),
      createdAt: isoFromMs(toNumber(r.c_ms))
    }))
  }

  const is = 'interface_seals' as const
  if (readable(is, 'session_id')) {
    const result = await rows(
      con,
      `SELECT ${col(probe, is, 'seal_id')}, ${col(probe, is, 'node_id')}, ${col(probe, is, 'sealed_path')},
         ${col(probe, is, 'artifact_kind')}, ${col(probe, is, 'seal_hash')}, ${col(probe, is, 'version')},
         ${ms(probe, is, 'created_at', 'c_ms')}
       FROM ${is} WHERE session_id = $1 ${order(probe, is)}`,
      [sid]
    )
    view.seals = result.map((r) => ({
      sealId: str(r.seal_id),
      nodeId: str(r.node_id),
      sealedPath: str(r.sealed_path),
      artifactKind: str(r.artifact_kind),
      sealHash: blobText(r.seal_hash),
      version: toNumber(r.version) ?? 1,
      createdAt: isoFromMs(toNumber(r.c_ms))
    }))
  }
  return view
}

// Sandbox view of one session: provisional branches, their lineage, flushes and interface seals
// (spec §1.2, §3.6). Every table arrived in v0.5.5; older stores list them as missing.
import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api'
import type { SessionRow } from '../../../shared/model/perspt'
import type { SandboxBranch, SandboxView } from '../../../shared/model/perspt-views'
import type { PersptTable } from '../schema'
import type { SchemaProbe } from '../store-reader'
import { blobText, isoFromMs, text, toNumber } from '../store-reader'

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

/** The part tag and the order keys (created_at, then id; NULL last) of one table's rows in the one query. */
function keyed(probe: SchemaProbe, table: PersptTable, tag: string): string {
  const c = probe.columns.get(table)
  const t = c?.has('created_at') ? `epoch_us(TRY_CAST(${table}.created_at AS TIMESTAMP))` : 'NULL::BIGINT'
  return `'${tag}' AS __p, ${t} AS __t, ${c?.has('id') ? `TRY_CAST(${table}.id AS BIGINT)` : 'NULL::BIGINT'} AS __id`
}

/** Oldest first by created_at then id, NULL last in both (DuckDB's default order). */
function byKeys(a: Row, b: Row): number {
  for (const k of ['__t', '__id']) {
    const x = toNumber(a[k])
    const y = toNumber(b[k])
    if (x === y) continue
    if (x === null) return 1
    if (y === null) return -1
    return x - y
  }
  return 0
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
  // The four tables in one round trip (UNION ALL BY NAME, a tag per table), each part then ordered here.
  const pb = 'provisional_branches' as const
  const bl = 'branch_lineage' as const
  const bf = 'branch_flushes' as const
  const is = 'interface_seals' as const
  const parts: string[] = []
  if (usable(probe, pb, 'session_id', 'branch_id')) {
    parts.push(`SELECT ${keyed(probe, pb, 'b')}, ${col(probe, pb, 'branch_id')}, ${col(probe, pb, 'node_id')}, ${col(probe, pb, 'parent_node_id')},
       ${col(probe, pb, 'state')}, ${col(probe, pb, 'sandbox_dir')},
       ${ms(probe, pb, 'created_at', 'c_ms')}, ${ms(probe, pb, 'updated_at', 'u_ms')}
     FROM ${pb} WHERE session_id = $1`)
  }
  // branch_lineage has no session_id: scope it through this session's branch ids.
  if (usable(probe, bl, 'child_branch_id') && usable(probe, pb, 'session_id', 'branch_id')) {
    parts.push(`SELECT ${keyed(probe, bl, 'l')}, ${col(probe, bl, 'lineage_id')}, ${col(probe, bl, 'parent_branch_id')}, ${col(probe, bl, 'child_branch_id')},
       ${col(probe, bl, 'depends_on_seal')}, ${ms(probe, bl, 'created_at', 'c_ms')}
     FROM ${bl}
     WHERE ${bl}.child_branch_id IN (SELECT branch_id FROM ${pb} WHERE session_id = $1)`)
  }
  if (usable(probe, bf, 'session_id')) {
    parts.push(`SELECT ${keyed(probe, bf, 'f')}, ${col(probe, bf, 'flush_id')}, ${col(probe, bf, 'parent_node_id')}, ${col(probe, bf, 'flushed_branch_ids')},
       ${col(probe, bf, 'requeue_node_ids')}, ${col(probe, bf, 'reason')}, ${ms(probe, bf, 'created_at', 'c_ms')}
     FROM ${bf} WHERE session_id = $1`)
  }
  if (usable(probe, is, 'session_id')) {
    parts.push(`SELECT ${keyed(probe, is, 's')}, ${col(probe, is, 'seal_id')}, ${col(probe, is, 'node_id')}, ${col(probe, is, 'sealed_path')},
       ${col(probe, is, 'artifact_kind')}, ${col(probe, is, 'seal_hash')}, ${col(probe, is, 'version')},
       ${ms(probe, is, 'created_at', 'c_ms')}
     FROM ${is} WHERE session_id = $1`)
  }
  const found = parts.length === 0 ? [] : await rows(con, parts.map((p) => `(${p})`).join(' UNION ALL BY NAME '), [sid])
  const part = (tag: string) => found.filter((r) => r.__p === tag).sort(byKeys)

  view.branches = part('b').map((r): SandboxBranch => {
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

  view.lineage = part('l').map((r) => ({
    lineageId: str(r.lineage_id),
    // Perspt's naming bug: parent_branch_id holds the parent *node* id.
    parentNodeId: str(r.parent_branch_id),
    childBranchId: str(r.child_branch_id),
    dependsOnSeal: r.depends_on_seal === true,
    createdAt: isoFromMs(toNumber(r.c_ms))
  }))

  view.flushes = part('f').map((r) => ({
    flushId: str(r.flush_id),
    parentNodeId: str(r.parent_node_id),
    flushedBranchIds: sandboxIdList(r.flushed_branch_ids),
    requeueNodeIds: sandboxIdList(r.requeue_node_ids),
    reason: str(r.reason),
    createdAt: isoFromMs(toNumber(r.c_ms))
  }))

  view.seals = part('s').map((r) => ({
    sealId: str(r.seal_id),
    nodeId: str(r.node_id),
    sealedPath: str(r.sealed_path),
    artifactKind: str(r.artifact_kind),
    sealHash: blobText(r.seal_hash),
    version: toNumber(r.version) ?? 1,
    createdAt: isoFromMs(toNumber(r.c_ms))
  }))
  return view
}

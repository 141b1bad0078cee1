// Decided review gates in Vigil's own DuckDB file (next to the recorded events), so the inbox's
// history and its audit trail survive restarts. One row per resolved gate (agents may reuse review ids
// across runs, so ids are not unique here: the newest row wins a lookup); the gate is stored as JSON
// next to the columns the history pages sort and count on. `secret_hash` is the SHA-256 (hex) of the
// secret the review API gave a gate's creator (never the secret): it may read that gate's outcome later.
// Gates decided in the same millisecond list newest-saved first (rowid: rows are never deleted here),
// as the in-memory log does; ordering by id put them in random order.
// `decidedBy` and `surface` in the JSON are the server's record of who decided and where (auth/caller.ts).
import type { DuckDBConnection } from '@duckdb/node-api'
import type { ReviewGate, ReviewHistoryPage } from '../../shared/model/reviews'
import type { ReviewLog } from '../reviews/review-log'
import type { Recorder } from './recorder'

const SCHEMA = `CREATE TABLE IF NOT EXISTS review_gates (
  id VARCHAR NOT NULL,
  decided_at VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  decision VARCHAR,
  surface VARCHAR,
  source_label VARCHAR NOT NULL,
  gate VARCHAR NOT NULL
)`
/**
 * By the instant decided, not its text: Vigil writes a whole second as "…:02Z", which as text sorts
 * after "…:02.999Z", and other clients may write offsets. Unreadable times last; then newest saved.
 */
const NEWEST_FIRST = 'try_cast(decided_at AS TIMESTAMPTZ) DESC NULLS LAST, rowid DESC'
/** Files from before creator secrets get the column (empty for their gates). */
const MIGRATE = 'ALTER TABLE review_gates ADD COLUMN IF NOT EXISTS secret_hash VARCHAR'

export class DuckReviewLog implements ReviewLog {
  readonly persisted = true
  private constructor(private readonly recorder: Recorder) {}

  static async open(recorder: Recorder): Promise<DuckReviewLog> {
    await recorder.withConnection(async (con) => {
      await con.run(SCHEMA)
      await con.run(MIGRATE)
    })
    return new DuckReviewLog(recorder)
  }

  save(gate: ReviewGate, secretHash?: string | null): Promise<void> {
    return this.recorder
      .withConnection((con) => insert(con, gate, secretHash ?? null))
      .catch((err: unknown) => console.error('vigil: could not store a review decision:', err instanceof Error ? err.message : err))
  }

  list(offset: number, limit: number): Promise<ReviewHistoryPage> {
    return this.recorder.withConnection(async (con) => {
      const rows = await con.runAndReadAll(
        `SELECT gate FROM review_gates ORDER BY ${NEWEST_FIRST} LIMIT ${Math.floor(limit)} OFFSET ${Math.floor(offset)}`
      )
      const total = await con.runAndReadAll('SELECT count(*)::INTEGER AS n FROM review_gates')
      return {
        rows: rows.getRowObjectsJS().map((r) => JSON.parse(String(r.gate)) as ReviewGate),
        total: Number(total.getRowObjectsJS()[0]?.n ?? 0)
      }
    })
  }

  get(id: string): Promise<ReviewGate | null> {
    return this.recorder.withConnection(async (con) => {
      const rows = await con.runAndReadAll(`SELECT gate FROM review_gates WHERE id = $1 ORDER BY ${NEWEST_FIRST} LIMIT 1`, [id])
      const row = rows.getRowObjectsJS()[0]
      return row ? (JSON.parse(String(row.gate)) as ReviewGate) : null
    })
  }

  secretHashOf(id: string): Promise<string | null> {
    return this.recorder.withConnection(async (con) => {
      const rows = await con.runAndReadAll(`SELECT secret_hash FROM review_gates WHERE id = $1 ORDER BY ${NEWEST_FIRST} LIMIT 1`, [id])
      const value = rows.getRowObjectsJS()[0]?.secret_hash
      return typeof value === 'string' ? value : null
    })
  }
}

async function insert(con: DuckDBConnection, gate: ReviewGate, secretHash: string | null): Promise<void> {
  await con.run('INSERT INTO review_gates (id, decided_at, status, decision, surface, source_label, gate, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
    gate.id,
    gate.outcome?.decidedAt ?? gate.createdAt,
    gate.status,
    gate.outcome?.decision ?? null,
    gate.outcome?.surface ?? null,
    gate.source.label,
    JSON.stringify(gate),
    secretHash
  ])
}

// Decided review gates in Vigil's own DuckDB file (next to the recorded events), so the inbox's
// history and its audit trail survive restarts. One row per resolved gate (agents may reuse review ids
// across runs, so ids are not unique here: the newest row wins a lookup); the gate is stored as JSON
// next to the columns the history pages sort and count on.
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

export class DuckReviewLog implements ReviewLog {
  readonly persisted = true
  private constructor(private readonly recorder: Recorder) {}

  static async open(recorder: Recorder): Promise<DuckReviewLog> {
    await recorder.withConnection((con) => con.run(SCHEMA))
    return new DuckReviewLog(recorder)
  }

  save(gate: ReviewGate): Promise<void> {
    return this.recorder
      .withConnection((con) => insert(con, gate))
      .catch((err: unknown) => console.error('vigil: could not store a review decision:', err instanceof Error ? err.message : err))
  }

  list(offset: number, limit: number): Promise<ReviewHistoryPage> {
    return this.recorder.withConnection(async (con) => {
      const rows = await con.runAndReadAll(
        `SELECT gate FROM review_gates ORDER BY decided_at DESC, id LIMIT ${Math.floor(limit)} OFFSET ${Math.floor(offset)}`
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
      const rows = await con.runAndReadAll('SELECT gate FROM review_gates WHERE id = $1 ORDER BY decided_at DESC LIMIT 1', [id])
      const row = rows.getRowObjectsJS()[0]
      return row ? (JSON.parse(String(row.gate)) as ReviewGate) : null
    })
  }
}

async function insert(con: DuckDBConnection, gate: ReviewGate): Promise<void> {
  await con.run('INSERT INTO review_gates VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    gate.id,
    gate.outcome?.decidedAt ?? gate.createdAt,
    gate.status,
    gate.outcome?.decision ?? null,
    gate.outcome?.surface ?? null,
    gate.source.label,
    JSON.stringify(gate)
  ])
}

// Independent truth for e2e assertions: one query on a Perspt store file, opened read-only and closed.
import { DuckDBInstance } from '@duckdb/node-api'

export async function queryStore(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' })
  const con = await instance.connect()
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS()
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

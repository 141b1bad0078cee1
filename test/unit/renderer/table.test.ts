import { describe, expect, it } from 'vitest'
import {
  ANY,
  cellText,
  choiceOptions,
  minTableWidth,
  minWidthOf,
  moveIndex,
  queryRows,
  scrollToShow,
  windowRange,
  type Column
} from '../../../src/renderer/lib/table'
import { nextSort } from '../../../src/renderer/lib/sort'

interface Row {
  id: string
  task: string
  status: string
  cost: number | null
}

const rows: Row[] = [
  { id: 'a', task: 'Write the parser', status: 'running', cost: 0.5 },
  { id: 'b', task: 'fix flaky test', status: 'failed', cost: null },
  { id: 'c', task: 'Add the CLI', status: 'completed', cost: 2 },
  { id: 'd', task: 'Parser docs', status: 'completed', cost: 0.25 }
]

const columns: Column<Row>[] = [
  { id: 'task', label: 'Task', value: (r) => r.task, sortValue: (r) => r.task.toLowerCase() },
  { id: 'status', label: 'Status', value: (r) => r.status, choices: (v) => v.toUpperCase() },
  { id: 'cost', label: 'Cost', value: (r) => r.cost, format: (r) => (r.cost === null ? '—' : `$${r.cost.toFixed(2)}`), numeric: true },
  { id: 'id', label: 'Id', value: (r) => r.id, searchable: false, sortable: false }
]

const ids = (list: Row[]) => list.map((r) => r.id)

describe('queryRows', () => {
  it('keeps the given order without a sort, and never changes its input', () => {
    const input = [...rows]
    expect(ids(queryRows(input, columns, {}))).toEqual(['a', 'b', 'c', 'd'])
    expect(ids(queryRows(input, columns, { sort: { key: 'cost', dir: 'desc' } }))).toEqual(['c', 'a', 'd', 'b'])
    expect(input).toEqual(rows)
  })

  it('sorts numbers numerically with nulls last in both directions, text by its sortValue', () => {
    expect(ids(queryRows(rows, columns, { sort: { key: 'cost', dir: 'asc' } }))).toEqual(['d', 'a', 'c', 'b'])
    expect(ids(queryRows(rows, columns, { sort: { key: 'cost', dir: 'desc' } }))).toEqual(['c', 'a', 'd', 'b'])
    // Lower-cased: "fix flaky test" sorts between "Add" and "Parser" (plain localeCompare would too, the key is what is compared).
    expect(ids(queryRows(rows, columns, { sort: { key: 'task', dir: 'asc' } }))).toEqual(['c', 'b', 'd', 'a'])
  })

  it('ignores a sort on an unsortable or unknown column', () => {
    expect(ids(queryRows(rows, columns, { sort: { key: 'id', dir: 'desc' } }))).toEqual(['a', 'b', 'c', 'd'])
    expect(ids(queryRows(rows, columns, { sort: { key: 'nope', dir: 'desc' } }))).toEqual(['a', 'b', 'c', 'd'])
  })

  it('text filter: every word must appear, case-insensitive, in the searchable columns (formatted text included)', () => {
    expect(ids(queryRows(rows, columns, { search: 'PARSER' }))).toEqual(['a', 'd'])
    expect(ids(queryRows(rows, columns, { search: 'parser completed' }))).toEqual(['d'])
    expect(ids(queryRows(rows, columns, { search: '$2.00' }))).toEqual(['c'])
    // The id column is not searchable.
    expect(ids(queryRows(rows, columns, { search: 'b' }))).toEqual([])
    expect(ids(queryRows(rows, columns, { search: '   ' }))).toEqual(['a', 'b', 'c', 'd'])
  })

  it('searchText replaces what the filter looks at', () => {
    expect(ids(queryRows(rows, columns, { search: 'b', searchText: (r) => r.id }))).toEqual(['b'])
  })

  it('combines the choice filters, the owner predicate, the text and the sort', () => {
    const q = { choices: { status: 'completed' }, search: 'the', sort: { key: 'task', dir: 'desc' as const } }
    expect(ids(queryRows(rows, columns, q))).toEqual(['c'])
    expect(ids(queryRows(rows, columns, { choices: { status: 'completed' }, sort: { key: 'cost', dir: 'asc' } }))).toEqual(['d', 'c'])
    expect(ids(queryRows(rows, columns, { choices: { status: ANY } }))).toHaveLength(4)
    expect(ids(queryRows(rows, columns, { where: (r) => r.cost !== null && r.cost < 1 }))).toEqual(['a', 'd'])
  })
})

describe('choiceOptions and cellText', () => {
  it('lists each distinct value once with its count, labelled and sorted by label', () => {
    expect(choiceOptions(rows, columns[1]!)).toEqual([
      { value: 'completed', label: 'COMPLETED', count: 2 },
      { value: 'failed', label: 'FAILED', count: 1 },
      { value: 'running', label: 'RUNNING', count: 1 }
    ])
  })

  it('shows null as a dash and uses format when given', () => {
    const plain: Column<Row> = { id: 'cost', label: 'Cost', value: (r) => r.cost }
    expect(cellText(plain, rows[1]!)).toBe('—')
    expect(cellText(plain, rows[0]!)).toBe('0.5')
    expect(cellText(columns[2]!, rows[0]!)).toBe('$0.50')
  })
})

describe('nextSort', () => {
  it('flips the same column and starts a new one at the given direction', () => {
    expect(nextSort({ key: 'a', dir: 'desc' }, 'a')).toEqual({ key: 'a', dir: 'asc' })
    expect(nextSort({ key: 'a', dir: 'asc' }, 'b')).toEqual({ key: 'b', dir: 'desc' })
    expect(nextSort({ key: 'a', dir: 'desc' }, 'b', 'asc')).toEqual({ key: 'b', dir: 'asc' })
  })
})

describe('virtual window', () => {
  it('renders the rows in view plus the overscan, clamped to the list', () => {
    expect(windowRange(1000, 0, 300, 30, 5)).toEqual({ start: 0, end: 20, offset: 0, total: 30000 })
    expect(windowRange(1000, 3000, 300, 30, 5)).toEqual({ start: 95, end: 115, offset: 2850, total: 30000 })
    expect(windowRange(1000, 29700, 300, 30, 5)).toEqual({ start: 985, end: 1000, offset: 29550, total: 30000 })
    expect(windowRange(0, 500, 300, 30, 5)).toEqual({ start: 0, end: 0, offset: 0, total: 0 })
  })

  it('a list that shrank under a deep scroll position still renders its last rows', () => {
    const r = windowRange(10, 9000, 300, 30, 5)
    expect(r.end).toBe(10)
    expect(r.start).toBeLessThan(10)
  })

  it('scrolls just enough to show a row below the sticky header', () => {
    // Rows 30 px, viewport 300 px with a 30 px header: rows 0..8 fully visible at scrollTop 0.
    expect(scrollToShow(5, 30, 0, 300, 30)).toBe(0)
    expect(scrollToShow(9, 30, 0, 300, 30)).toBe(30)
    expect(scrollToShow(2, 30, 600, 300, 30)).toBe(60)
  })

  it('moves by keys within the list', () => {
    expect(moveIndex('ArrowDown', -1, 5, 3)).toBe(0)
    expect(moveIndex('ArrowDown', 4, 5, 3)).toBe(4)
    expect(moveIndex('ArrowUp', 0, 5, 3)).toBe(0)
    expect(moveIndex('PageDown', 1, 5, 3)).toBe(4)
    expect(moveIndex('PageUp', 4, 5, 3)).toBe(1)
    expect(moveIndex('End', 0, 5, 3)).toBe(4)
    expect(moveIndex('Home', 3, 5, 3)).toBe(0)
    expect(moveIndex('a', 3, 5, 3)).toBeNull()
    expect(moveIndex('ArrowDown', -1, 0, 3)).toBeNull()
  })
})

describe('minTableWidth', () => {
  it('adds sized columns (never under their minimum) and gives each flexible column the largest flexible minimum', () => {
    const cols: Column<Row>[] = [
      { id: 'a', label: 'A', width: 100 },
      { id: 'b', label: 'B', width: 40, minWidth: 80 },
      { id: 'c', label: 'C', minWidth: 200 },
      { id: 'd', label: 'D' }
    ]
    expect(minTableWidth(cols, {})).toBe(100 + 80 + 2 * 200)
    // A resized flexible column becomes sized, still never under its minimum (140 for a column without width).
    expect(minTableWidth(cols, { a: 150, d: 90 })).toBe(150 + 80 + 200 + 140)
    expect(minTableWidth(cols, { d: 300 })).toBe(100 + 80 + 200 + 300)
  })

  it('never lets a header word break: a column is at least as wide as its longest label word (and the sort arrow)', () => {
    const narrow: Column<Row> = { id: 'x', label: 'Relative size', width: 40 }
    const sortable: Column<Row> = { ...narrow, value: (r) => r.cost }
    expect(minWidthOf(narrow)).toBeGreaterThanOrEqual(8 * 7)
    expect(minWidthOf(sortable)).toBeGreaterThan(minWidthOf(narrow))
    expect(minTableWidth([narrow], {})).toBe(minWidthOf(narrow))
  })
})

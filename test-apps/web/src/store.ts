import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** One painted colour, as stored. */
export interface ColourRow {
  id: number;
  /** `#rrggbb`. */
  colour: string;
  /** The runner that painted it. */
  runner: string;
  /** From click to result (ms), queue wait and boot included. */
  ms: number;
  /** ISO 8601, UTC. */
  createdAt: string;
}

/** What a finished task adds. */
export type NewColour = Pick<ColourRow, 'colour' | 'runner' | 'ms'>;

// The CHECK keeps anything but a plain hex colour out of the table, so the page can put a
// stored colour straight into a style.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS colours (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    colour     TEXT    NOT NULL
               CHECK (colour GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    runner     TEXT    NOT NULL,
    ms         INTEGER NOT NULL,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );
`;

const COLUMNS = 'id, colour, runner, ms, created_at AS createdAt';

/** The colours table in one SQLite file, created (with its directory) when missing. */
export class ColourStore {
  readonly file: string;
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string, number], ColourRow>;
  readonly #recent: Database.Statement<[number], ColourRow>;

  constructor(file: string) {
    this.file = path.resolve(file);
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.#db = new Database(this.file);
    // WAL lets a reader (a test, the sqlite3 shell) look while the app writes.
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare(
      `INSERT INTO colours (colour, runner, ms) VALUES (?, ?, ?) RETURNING ${COLUMNS}`,
    );
    this.#recent = this.#db.prepare(`SELECT ${COLUMNS} FROM colours ORDER BY id DESC LIMIT ?`);
  }

  /** Saves one colour and returns it as stored. */
  add(colour: NewColour): ColourRow {
    return this.#insert.get(colour.colour, colour.runner, Math.round(colour.ms))!;
  }

  /** The newest `limit` colours, newest first. */
  recent(limit: number): ColourRow[] {
    return this.#recent.all(limit);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

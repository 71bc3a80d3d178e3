// Shapes of what the minimal app's CLI prints, as the Docker tests read them.

/** What the app's tasks answer: which runner served the call. */
export interface Report {
  hostname: string;
  runnerId: string;
}

/** `pool.stats()` as printed by the app. */
export interface Stats {
  runners: number;
  booting: number;
  busy: number;
  queued: number;
}

/** Where the CLI writes: `process.stdout`/`process.stderr`, or a collector in tests. */
export interface Writable {
  write(chunk: string): unknown;
  /** A terminal: progress lines are drawn on it (never in a pipe or a file). */
  isTTY?: boolean;
}

/** What a command reads and writes, injected so the CLI runs in-process as well as from the binary. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  /**
   * Environment: `MLTRACE_DATABASE_URL`, `MLTRACE_HOME`, `MLTRACE_DEBUG`, and the commands' own
   * (`MLFLOW_TRACKING_URI`, `TEMPORAL_ADDRESS`, ...; see the README).
   */
  env: Record<string, string | undefined>;
  /** Directory relative paths (pointer URIs, import files, `.mltrace`) are resolved against. */
  cwd: string;
  /** What `import -` reads. */
  stdin?: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;
  /**
   * Stops the long-running commands (`serve`, `sync mlflow --watch`) cleanly when it aborts.
   * Without it, they stop on the process's SIGINT or SIGTERM (what the binary relies on).
   */
  signal?: AbortSignal;
}

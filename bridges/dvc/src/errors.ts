import { InvalidInputError } from '@mltrace/core';

/**
 * A DVC file (`.dvc`, `dvc.lock`, `dvc.yaml`, `.dvc/config`) could not be read at a commit:
 * malformed YAML, an unknown lock schema, a missing field. The message names the file and the
 * commit; {@link DvcFileError.file} and {@link DvcFileError.commit} carry them.
 */
export class DvcFileError extends InvalidInputError {
  /** Repo-relative path of the file. */
  readonly file: string;
  /** The commit the file was read at (full sha), or `workspace`. */
  readonly commit: string;

  constructor(
    file: string,
    commit: string,
    problem: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(`${file} at ${shortSha(commit)}: ${problem}`, options);
    this.file = file;
    this.commit = commit;
  }
}

/** The 12-character form of a commit sha used in messages. */
export function shortSha(sha: string): string {
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha.slice(0, 12) : sha;
}

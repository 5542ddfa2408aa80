/**
 * Experiment runs: a run recorded from an experiment (`dvc exp run`) carries
 * `metadata.experiment = { name, baseline, ref, commit, committedIn? }`. Readers (the CLI's trace,
 * `why`) mark such runs with {@link experimentLabel}.
 */

/** The experiment a run belongs to, as recorded in `metadata.experiment`. */
export interface RunExperiment {
  /** The experiment's name. */
  name: string;
  /** The commit it ran on (full sha). */
  baseline: string;
  /** Where the tool keeps it (`refs/exps/…/<name>` for DVC). */
  ref?: string;
  /** The experiment's own commit. */
  commit?: string;
  /** Branch commits that hold its result (applied and committed), when known. */
  committedIn?: string[];
}

/** The experiment of a run's metadata, or undefined (MLflow's `experiment` name string is not one). */
export function runExperiment(metadata: Record<string, unknown> | undefined): RunExperiment | undefined {
  const value = metadata?.experiment as Partial<RunExperiment> | null | undefined;
  if (!value || typeof value !== 'object') return undefined;
  if (typeof value.name !== 'string' || typeof value.baseline !== 'string') return undefined;
  return value as RunExperiment;
}

/**
 * `experiment lr05 on 1a2b3c4d` (never committed), or `experiment lr05 on 1a2b3c4d, committed
 * in 5e6f7a8b` (applied and committed on a branch).
 */
export function experimentLabel(experiment: RunExperiment): string {
  const short = (sha: string) => sha.slice(0, 8);
  const committed = experiment.committedIn?.length
    ? `, committed in ${experiment.committedIn.map(short).join(', ')}`
    : '';
  return `experiment ${experiment.name} on ${short(experiment.baseline)}${committed}`;
}

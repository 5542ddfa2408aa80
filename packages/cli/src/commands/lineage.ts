import { parsePointerSpec } from '@mltrace/core';
import { examples, type Register } from '../command.js';
import { nonNegativeInt } from '../options.js';
import { graphJson } from '../render/json.js';
import { affectedWorkflows, renderLineage, renderWorkflows } from '../render/lineage.js';

/** The Temporal Web UI that `impact` links workflows to. */
function temporalUiUrl(env: Record<string, string | undefined>): string {
  return env.MLTRACE_TEMPORAL_UI_URL?.trim() || 'http://localhost:8233';
}

interface LineageOptions {
  depth?: number;
  json?: boolean;
  version?: string;
}

/** The `--version` option of the commands that take a pointer: the content version, given apart. */
export const VERSION_OPTION_HELP =
  'the content version (a DVC md5, a pointer version): the pointer is then taken whole, `@` and all';

/** `mltrace trace` (upstream) and `mltrace impact` (downstream). */
export const registerLineage: Register = (program, wrap) => {
  const body = (direction: 'upstream' | 'downstream') =>
    wrap(async (ctx, spec: string, options: LineageOptions) => {
      const store = await ctx.store();
      const pointer = parsePointerSpec(
        spec,
        options.version === undefined ? {} : { version: options.version },
      );
      const graphOptions = options.depth === undefined ? {} : { maxDepth: options.depth };
      const graph =
        direction === 'upstream'
          ? await store.trace(pointer, graphOptions)
          : await store.impact(pointer, graphOptions);
      // Downstream, the Temporal workflows the pointer reached, with their pages in Temporal's UI.
      const workflows = direction === 'downstream' ? affectedWorkflows(graph, temporalUiUrl(ctx.io.env)) : [];
      if (options.json) {
        ctx.json(
          direction === 'downstream'
            ? { ...graphJson(graph, direction), workflows }
            : graphJson(graph, direction),
        );
      } else {
        ctx.out(
          ...renderLineage(graph, direction, { cwd: ctx.io.cwd, ...graphOptions }),
          ...renderWorkflows(workflows),
        );
      }
      return 0;
    });

  program
    .command('trace')
    .description('where did this come from? the run that produced a pointer, and everything upstream of it')
    .argument(
      '<pointer>',
      'a file path or URI (uri@version, gto:NAME@vX.Y.Z, gto:NAME#STAGE, models:/NAME@ALIAS, models:/NAME/3; see the README); without a version, its latest producer',
    )
    .option('--version <version>', VERSION_OPTION_HELP)
    .option('--depth <n>', 'follow at most N dependency edges (0: the run alone)', nonNegativeInt)
    .option('--json', 'print the lineage graph as JSON (see the README)')
    .addHelpText(
      'after',
      examples(
        'mltrace trace models/model.pkl',
        'mltrace trace s3://bucket/features.parquet@3f2a9c --depth 2',
        'mltrace trace models:/taxi@champion --json',
        'mltrace trace gto:fraud@v1.1.0',
        'mltrace trace data/prepared --version 0e04c3e5b51733a4e26c912bad6623d7.dir',
      ),
    )
    .action(body('upstream'));

  program
    .command('impact')
    .description('what was derived from this? every run that used a pointer, and everything downstream')
    .argument('<pointer>', 'a file path or URI, as for `trace`; without a version, every version')
    .option('--version <version>', VERSION_OPTION_HELP)
    .option('--depth <n>', 'follow at most N dependency edges (0: the run alone)', nonNegativeInt)
    .option('--json', 'print the lineage graph as JSON (see the README)')
    .addHelpText(
      'after',
      `${examples('mltrace impact data/raw.csv', 'mltrace impact data/raw.csv@a1b2c3 --json')}
Also lists the Temporal workflows the affected runs belong to, with their pages in the Temporal UI
(MLTRACE_TEMPORAL_UI_URL, default http://localhost:8233).
`,
    )
    .action(body('downstream'));
};

import { examples, type Register } from '../command.js';
import { mlflowClient, mlflowConfigured } from '../services.js';

/** `mltrace why models:/NAME@ALIAS`: why this model version is where it is. */
export const registerWhy: Register = (program, wrap) => {
  program
    .command('why')
    .description(
      'why is this model version in production? the version an alias holds, the promotion decision with its reasons, the evaluation, the training run and the data version with its git commit',
    )
    .argument('<models:/NAME@ALIAS>', 'a model alias, e.g. models:/taxi-tip@champion')
    .option('--json', 'print the explanation as JSON (see the README)')
    .addHelpText(
      'after',
      `${examples('mltrace why models:/taxi-tip@champion', 'mltrace why models:/taxi-tip@champion --json')}
With MLFLOW_TRACKING_URI set, the version the alias holds is read from MLflow (the source of
truth); otherwise from the latest promotion recorded in the lineage. "Missing:" lists the links
of the chain that were not found.
`,
    )
    .action(
      wrap(async (ctx, uri: string, options: { json?: boolean }) => {
        const { explainAlias, formatExplanation, parseAliasUri } = await import(
          '@mltrace/retraining/explain'
        );
        parseAliasUri(uri); // a malformed URI is refused before anything is opened
        const store = await ctx.store();
        const explanation = await explainAlias({
          store,
          uri,
          ...(mlflowConfigured(ctx) ? { mlflow: await mlflowClient(ctx) } : {}),
        });
        if (options.json) ctx.json(explanation);
        else ctx.io.stdout.write(formatExplanation(explanation));
        return 0;
      }),
    );
};

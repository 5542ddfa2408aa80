import { examples, type Register } from '../command.js';
import { renderTable } from '../render/table.js';

/** `components` and `tags`. */
export const registerComponents: Register = (program, wrap) => {
  program
    .command('components')
    .description('the components (pipeline steps), optionally those with a tag or an owner')
    .option('--tag <tag>', 'only components with this tag')
    .option('--owner <owner>', 'only components of this owner')
    .option('--json', 'print {"components": [{"name", "description", "owner", "tags"}]}')
    .addHelpText('after', examples('mltrace components', 'mltrace components --tag training --owner alice'))
    .action(
      wrap(async (ctx, options: { tag?: string; owner?: string; json?: boolean }) => {
        const store = await ctx.store();
        const filter = {
          ...(options.tag !== undefined ? { tag: options.tag } : {}),
          ...(options.owner !== undefined ? { owner: options.owner } : {}),
        };
        const components = await store.components(filter);
        if (options.json) {
          ctx.json({ components });
          return 0;
        }
        if (components.length === 0) {
          ctx.out(options.tag || options.owner ? 'no components match' : 'no components yet');
          return 0;
        }
        ctx.out(
          ...renderTable(
            ['NAME', 'OWNER', 'TAGS', 'DESCRIPTION'],
            components.map((c) => [c.name, c.owner || '-', c.tags.join(', ') || '-', c.description || '-']),
          ),
        );
        return 0;
      }),
    );

  program
    .command('tags')
    .description('every component tag in use')
    .option('--json', 'print {"tags": string[]}')
    .addHelpText('after', examples('mltrace tags'))
    .action(
      wrap(async (ctx, options: { json?: boolean }) => {
        const store = await ctx.store();
        const tags = await store.tags();
        if (options.json) ctx.json({ tags });
        else ctx.out(...(tags.length ? tags : ['no tags yet']));
        return 0;
      }),
    );
};

import { examples, type Register } from '../command.js';
import { collect } from '../options.js';
import { renderTable } from '../render/table.js';

/** `component` (create or describe one), `components` and `tags`. */
export const registerComponents: Register = (program, wrap) => {
  program
    .command('component')
    .description(
      "create a component, or set its description and owner and add tags (mltrace's create_component)",
    )
    .argument('<name>', 'the component name')
    .option('--description <text>', 'what it does')
    .option('--owner <owner>', 'who owns it')
    .option('--tag <tag>', 'a tag to add (repeatable)', collect, [])
    .option('--json', 'print the component as {"name", "description", "owner", "tags"}')
    .addHelpText(
      'after',
      examples('mltrace component train --owner alice --description "trains the tip model" --tag training'),
    )
    .action(
      wrap(
        async (
          ctx,
          name: string,
          options: { description?: string; owner?: string; tag: string[]; json?: boolean },
        ) => {
          const store = await ctx.store();
          const component = await store.createComponent({
            name,
            ...(options.description !== undefined ? { description: options.description } : {}),
            ...(options.owner !== undefined ? { owner: options.owner } : {}),
            tags: options.tag,
          });
          if (options.json) ctx.json(component);
          else
            ctx.out(
              `${component.name}: owner ${component.owner || '-'}, tags ${component.tags.join(', ') || '-'}` +
                (component.description ? `, ${component.description}` : ''),
            );
          return 0;
        },
      ),
    );

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

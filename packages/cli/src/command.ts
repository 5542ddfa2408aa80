import type { Command } from 'commander';
import type { CommandContext } from './context.js';

/** A command's body: gets the context and commander's arguments and options; returns an exit code. */
export type CommandBody<A extends unknown[]> = (
  ctx: CommandContext,
  ...args: A
) => Promise<number | undefined>;

/** Wraps a command body as a commander action (which receives the Command last). */
export type Wrap = <A extends unknown[]>(body: CommandBody<A>) => (...args: unknown[]) => Promise<void>;

/** Registers one command (or a few related ones) on the program. */
export type Register = (program: Command, wrap: Wrap) => void;

/** The `Examples:` block of a command's `--help`. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

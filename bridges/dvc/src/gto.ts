/**
 * GTO (the git tag ops model registry DVC uses): promotions are annotated git tags. The grammar
 * is GTO's own `tag_re` (gto/constants.py, GTO 1.10):
 * `name@vX.Y.Z` registers a version, `name@vX.Y.Z!` deregisters it, `name#stage` assigns a stage,
 * `name#stage!` unassigns it, `name@deprecated` deprecates the artifact (and `name@created`
 * creates it); any of them may end with `#N`, a counter. A nested artifact `dir/sub:name` is
 * written `dir/sub=name` in tags. Lightweight tags are ignored, as GTO ignores them.
 */
import { git } from './git.js';

/** What a GTO tag does. */
export type GtoAction = 'register' | 'deregister' | 'assign' | 'unassign' | 'deprecate' | 'create';

/** A parsed GTO tag name. */
export interface GtoTag {
  /** The tag name as in git. */
  tag: string;
  /** The artifact's full name (`model`, or `dir/sub:model` for a nested `dvc.yaml`). */
  artifact: string;
  /** The directory of the `dvc.yaml` declaring the artifact (`''` for the root). */
  dir: string;
  /** The name inside that `dvc.yaml`. */
  name: string;
  action: GtoAction;
  /** The semver with its `v`, for register/deregister. */
  version?: string;
  /** The stage, for assign/unassign. */
  stage?: string;
  /** The `#N` counter, when present. */
  counter?: number;
}

const NAME = '[a-zA-Z0-9](?:[a-zA-Z0-9\\-/_]*[a-zA-Z0-9])?';
const SEMVER =
  '(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-(?:(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+(?:[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?';
const TAG_RE = new RegExp(
  `^(?<artifact>(?:(?<dirname>[a-zA-Z0-9\\-_./]+)=)?(?<name>${NAME}))` +
    `(?:(?:#(?<stage>${NAME})|@(?<version>v${SEMVER}))(?<cancel>!?)|@(?:(?<deprecated>deprecated)|(?<created>created)))` +
    '(?:#(?<counter>[0-9]+))?$',
);

/** Parses a tag name with GTO's grammar; undefined when it is not a GTO tag. */
export function parseGtoTag(tag: string): GtoTag | undefined {
  const match = TAG_RE.exec(tag);
  const groups = match?.groups;
  if (!groups?.name) return undefined;
  const dir = groups.dirname ?? '';
  const parsed: GtoTag = {
    tag,
    artifact: dir ? `${dir}:${groups.name}` : groups.name,
    dir,
    name: groups.name,
    action: 'register',
  };
  const cancel = groups.cancel === '!';
  if (groups.stage) {
    parsed.action = cancel ? 'unassign' : 'assign';
    parsed.stage = groups.stage;
  } else if (groups.version) {
    parsed.action = cancel ? 'deregister' : 'register';
    parsed.version = groups.version;
  } else if (groups.deprecated) parsed.action = 'deprecate';
  else parsed.action = 'create';
  if (groups.counter !== undefined) parsed.counter = Number(groups.counter);
  return parsed;
}

/** An annotated GTO tag as read from git. */
export interface GtoTagRef extends GtoTag {
  /** The tag object's sha (changes when a tag is deleted and made again). */
  tagObject: string;
  /** The tagged commit. */
  commit: string;
  /** The tagger's time. */
  taggedAt: Date;
  tagger: string;
  /** The tag message's first line. */
  message: string;
}

/**
 * Reads every annotated GTO tag of a repository, oldest first (by tagger time, then counter, then
 * name). With `merged`, only the tags on commits reachable from one of those commits.
 */
export async function readGtoTags(root: string, options: { merged?: string[] } = {}): Promise<GtoTagRef[]> {
  if (options.merged?.length === 0) return [];
  const format = [
    '%(refname:strip=2)',
    '%(objecttype)',
    '%(objectname)',
    '%(*objecttype)',
    '%(*objectname)',
    '%(taggerdate:unix)',
    '%(taggername)',
    '%(contents:subject)',
  ].join('%00');
  const merged = (options.merged ?? []).map((sha) => `--merged=${sha}`);
  const out = await git(root, ['for-each-ref', ...merged, `--format=${format}%00%1e`, 'refs/tags']);
  const tags: GtoTagRef[] = [];
  for (const record of out.split('\x1e')) {
    const [name, type, object, targetType, target, time, tagger, subject] = record
      .replace(/^\n/, '')
      .split('\0');
    // GTO ignores lightweight tags; a tag of a tag is not a promotion either.
    if (!name || type !== 'tag' || targetType !== 'commit' || !object || !target) continue;
    const parsed = parseGtoTag(name);
    if (!parsed) continue;
    tags.push({
      ...parsed,
      tagObject: object,
      commit: target,
      taggedAt: new Date(Number(time) * 1000),
      tagger: tagger ?? '',
      message: subject ?? '',
    });
  }
  return tags.sort(
    (a, b) =>
      a.taggedAt.getTime() - b.taggedAt.getTime() ||
      (a.counter ?? -1) - (b.counter ?? -1) ||
      a.tag.localeCompare(b.tag),
  );
}

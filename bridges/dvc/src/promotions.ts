/**
 * GTO promotions as ComponentRuns: each annotated GTO tag becomes a run of component
 * `gto <artifact>` at the tagger's time, whose input is the artifact's path at the tagged commit
 * with its DVC hash, and whose output is a registry pointer (`gto:<artifact>@<version>`,
 * `gto:<artifact>#<stage>`).
 */
import { posix } from 'node:path';
import {
  type ComponentRunInput,
  dvcRunKey,
  POINTER_TYPES,
  type PointerInput,
  type PointerType,
} from '@mltrace/core';
import { remoteLocation } from './config.js';
import { DvcFileError, shortSha } from './errors.js';
import { parseArtifactsYaml, parseDvcYaml } from './formats.js';
import type { ObjectReader } from './git.js';
import { type GtoTagRef, readGtoTags } from './gto.js';
import type { DvcSyncIssue } from './history.js';
import { repoPathUri } from './pointers.js';
import { type CommitOutputs, findOutput, readCommitOutputs } from './resolve.js';

/** Options of {@link readGtoPromotions}. */
export interface ReadGtoPromotionsOptions {
  root: string;
  reader: ObjectReader;
  repoId: string;
  /** Tag objects already recorded: skipped. */
  seen?: ReadonlySet<string>;
  /** Only tags on commits reachable from these (the synced revisions); all tags when absent. */
  merged?: string[];
  localConfig?: boolean;
}

/** The promotion runs of a repository's GTO tags. */
export interface GtoPromotions {
  runs: ComponentRunInput[];
  errors: DvcSyncIssue[];
  /** Every GTO tag object read (recorded now or before). */
  tagObjects: string[];
}

/** The registry pointer URI of an artifact version or stage: `gto:model@v1.2.0`, `gto:model#prod`. */
export function gtoUri(artifact: string, slot: { version?: string; stage?: string }): string {
  if (slot.stage) return `gto:${artifact}#${slot.stage}`;
  if (slot.version) return `gto:${artifact}@${slot.version}`;
  return `gto:${artifact}`;
}

/** Reads GTO tags and turns the ones not yet `seen` into promotion runs. */
export async function readGtoPromotions(options: ReadGtoPromotionsOptions): Promise<GtoPromotions> {
  const { root, reader, repoId } = options;
  const tags = await readGtoTags(root, options.merged ? { merged: options.merged } : {});
  const fresh = tags.filter((t) => !options.seen?.has(t.tagObject));
  const result: GtoPromotions = { runs: [], errors: [], tagObjects: tags.map((t) => t.tagObject) };
  if (fresh.length === 0) return result;

  const outputsAt = new Map<string, Promise<CommitOutputs>>();
  const commitOutputs = (commit: string) => {
    let pending = outputsAt.get(commit);
    if (!pending) {
      pending = readCommitOutputs(root, reader, commit, { localConfig: options.localConfig ?? true });
      outputsAt.set(commit, pending);
    }
    return pending;
  };

  // Who holds each stage as the tags go, oldest first (over every tag, recorded before or not):
  // an assignment reads the previous holder, so a stage's lineage runs through its earlier holders.
  const holders = new Map<string, string>();
  const freshTags = new Set(fresh);
  for (const tag of tags) {
    const slot = tag.stage ? gtoUri(tag.artifact, { stage: tag.stage }) : undefined;
    const previous = slot ? holders.get(slot) : undefined;
    const stageVersion =
      tag.action === 'assign'
        ? (tag.version ??
          tags.find((t) => t.action === 'register' && t.artifact === tag.artifact && t.commit === tag.commit)
            ?.version ??
          tag.commit)
        : '';
    if (slot && tag.action === 'assign') holders.set(slot, stageVersion);
    else if (slot && tag.action === 'unassign') holders.delete(slot);
    if (freshTags.has(tag)) await promotion(tag, previous);
  }
  return result;

  async function promotion(tag: GtoTagRef, previousHolder: string | undefined) {
    const declared = await declaration(tag);
    const dvc: Record<string, unknown> = {};
    let input: PointerInput | undefined;
    let type: PointerType = 'model';
    if (declared) {
      if (declared.type && (POINTER_TYPES as readonly string[]).includes(declared.type)) {
        type = declared.type as PointerType;
      }
      const repoPath = posix.normalize(posix.join(tag.dir || '.', declared.path));
      const found = await commitOutputs(tag.commit);
      const match = findOutput(found.outputs, repoPath);
      const entry = match && !match.inside ? match.output.entry : undefined;
      input = { uri: repoPathUri(root, repoPath), version: entry?.hash ?? '' };
      Object.assign(dvc, { path: repoPath, declaredIn: match?.output.file });
      if (entry?.hash) {
        Object.assign(dvc, { hash: entry.hash, algorithm: entry.algorithm, size: entry.size });
        const remote = remoteLocation(entry, found.config, posix.join(root, '.dvc'));
        if (remote) dvc.remoteUrl = remote.url;
      } else {
        dvc.untracked = match?.inside
          ? `inside the tracked directory ${match.output.entry.repoPath}`
          : 'not tracked by DVC at this commit';
      }
    } else {
      result.errors.push({
        commit: tag.commit,
        file: tag.dir ? `${tag.dir}/dvc.yaml` : 'dvc.yaml',
        message: `GTO tag ${tag.tag} at ${shortSha(tag.commit)}: artifact ${tag.artifact} is declared neither in ${tag.dir ? `${tag.dir}/` : ''}dvc.yaml nor in artifacts.yaml, so its data version is unknown`,
        hint: 'declare it under `artifacts:` in dvc.yaml (`dvc stage`-style `path:`); the promotion is recorded without its input',
      });
    }
    const version =
      tag.version ??
      tags.find((t) => t.action === 'register' && t.artifact === tag.artifact && t.commit === tag.commit)
        ?.version;
    const hash = input?.version ?? '';
    const inputs: PointerInput[] = input ? [input] : [];
    const outputs: PointerInput[] = [];
    switch (tag.action) {
      case 'register':
        outputs.push({ uri: gtoUri(tag.artifact, { version: tag.version! }), version: hash, type });
        break;
      case 'deregister':
        inputs.push({ uri: gtoUri(tag.artifact, { version: tag.version! }), version: hash, type });
        break;
      case 'assign':
        if (version) inputs.push({ uri: gtoUri(tag.artifact, { version }), version: hash, type });
        if (previousHolder !== undefined && previousHolder !== (version ?? tag.commit)) {
          inputs.push({ uri: gtoUri(tag.artifact, { stage: tag.stage! }), version: previousHolder, type });
        }
        outputs.push({
          uri: gtoUri(tag.artifact, { stage: tag.stage! }),
          version: version ?? tag.commit,
          type,
        });
        break;
      case 'unassign':
        outputs.push({ uri: gtoUri(tag.artifact, { stage: tag.stage! }), version: '', type });
        break;
      default:
        break;
    }
    result.runs.push({
      component: `gto ${tag.artifact}`,
      runKey: dvcRunKey({ repo: repoId, commit: tag.commit, stage: `gto:${tag.tag}` }),
      source: 'dvc',
      status: 'succeeded',
      startedAt: tag.taggedAt,
      endedAt: tag.taggedAt,
      gitCommit: tag.commit,
      inputs,
      outputs,
      metadata: {
        gto: {
          repo: root,
          tag: tag.tag,
          action: tag.action,
          artifact: tag.artifact,
          ...(version ? { version } : {}),
          ...(tag.stage ? { stage: tag.stage } : {}),
          ...(tag.counter !== undefined ? { counter: tag.counter } : {}),
          tagger: tag.tagger,
          message: tag.message,
          commit: tag.commit,
          ...dvc,
        },
      },
    });
  }

  async function declaration(tag: GtoTagRef) {
    const yamlFile = tag.dir ? `${tag.dir}/dvc.yaml` : 'dvc.yaml';
    const [yamlObject, artifactsObject] = await reader.readMany([
      `${tag.commit}:${yamlFile}`,
      `${tag.commit}:artifacts.yaml`,
    ]);
    try {
      if (yamlObject) {
        const found = parseDvcYaml(yamlObject.content.toString('utf8'), {
          file: yamlFile,
          commit: tag.commit,
        }).artifacts.get(tag.name);
        if (found) return found;
      }
      if (artifactsObject) {
        return parseArtifactsYaml(artifactsObject.content.toString('utf8'), {
          file: 'artifacts.yaml',
          commit: tag.commit,
        }).get(tag.artifact);
      }
    } catch (error) {
      if (!(error instanceof DvcFileError)) throw error;
      result.errors.push({
        commit: tag.commit,
        file: error.file,
        message: `GTO tag ${tag.tag}: ${error.message}`,
      });
    }
    return undefined;
  }
}

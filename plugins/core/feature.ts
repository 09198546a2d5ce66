// What every feature module receives from the entry, and what it gives back.
import type { Hooks, PluginInput } from "@opencode-ai/plugin";
import type { ContinuumConfig, FeatureName } from "./config-schema.ts";
import type { PackPaths, ProjectPaths } from "./paths.ts";
import type { ProjectIdentity } from "./project-id.ts";
import type { Reporter } from "./report.ts";
import type { Database } from "./storage/database.ts";
import type { InternalTool } from "./internal-tools.ts";

export interface FeatureContext {
  host: PluginInput;
  config: ContinuumConfig;
  project: ProjectIdentity;
  paths: PackPaths;
  projectPaths: ProjectPaths;
  /** Undefined when the data dir is not writable; features that need it are then not started. */
  db: Database | undefined;
  reporter: Reporter;
  /** Shared per-process facts about sessions, so features agree on what is a main session. */
  sessions: SessionRegistry;
}

export interface FeatureAssets {
  agents?: string[];
  commands?: string[];
}

export interface FeatureModule {
  name: FeatureName;
  needsDatabase: boolean;
  assets?: FeatureAssets;
  /** Tools only one of the feature's hidden agents may call; denied to every other agent. */
  internalTools?: InternalTool[];
  create(context: FeatureContext): Promise<Hooks> | Hooks;
}

/** The agent and model of a session's latest user turn: a continuation the pack sends goes on with the same. */
export interface SessionTurn {
  agent?: string;
  model?: { providerID: string; modelID: string };
}

/** Body of a prompt the pack sends to continue a session, with the agent and model the user last used there. */
export function continuationBody(text: string, turn: SessionTurn = {}) {
  return { parts: [{ type: "text" as const, text }], ...(turn.agent ? { agent: turn.agent } : {}), ...(turn.model ? { model: turn.model } : {}) };
}

/** Which sessions are children or hidden helpers: they must not move meters or trigger loops. */
export interface SessionRegistry {
  /** Remembers the agent/model of a user turn (recorded once, by the entry, for every feature). */
  recordTurn(sessionId: string, turn: SessionTurn): void;
  lastTurn(sessionId: string): SessionTurn | undefined;
  /** True for a top-level user session; asks the host once for sessions not seen being created. */
  isMain(sessionId: string): Promise<boolean>;
  isChild(sessionId: string): boolean;
  markChild(sessionId: string, parentId: string): void;
  /** Sessions the pack itself created (writers, judges): never treated as user work. */
  markInternal(sessionId: string, purpose: string): void;
  internalPurpose(sessionId: string): string | undefined;
  parentOf(sessionId: string): string | undefined;
}

/** lookupParent asks the host for a session's parent id ("" for none); undefined when it cannot tell. */
export function createSessionRegistry(lookupParent: (id: string) => Promise<string | undefined> = async () => undefined): SessionRegistry {
  const parents = new Map<string, string>();
  const internal = new Map<string, string>();
  const known = new Set<string>();
  const turns = new Map<string, SessionTurn>();
  return {
    recordTurn(id, turn) {
      if (turn.agent !== undefined || turn.model !== undefined) turns.set(id, { agent: turn.agent, model: turn.model });
    },
    lastTurn: (id) => turns.get(id),
    async isMain(id) {
      if (internal.has(id) || parents.has(id)) return false;
      if (known.has(id)) return true;
      const parent = await lookupParent(id);
      if (parent) {
        parents.set(id, parent);
        return false;
      }
      if (parent === "") known.add(id);
      return true;
    },
    isChild: (id) => parents.has(id) || internal.has(id),
    markChild: (id, parent) => {
      if (parent) parents.set(id, parent);
      else known.add(id);
    },
    markInternal: (id, purpose) => void internal.set(id, purpose),
    internalPurpose: (id) => internal.get(id),
    parentOf: (id) => parents.get(id),
  };
}

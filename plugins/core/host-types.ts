// The host's data model as the pack reads it: a message is its info plus its parts. These are the shapes
// OpenCode 1.x stores and hands to the transform hooks; a second host adapter maps its own shapes onto them.

export interface HostPart {
  id?: string;
  type: string;
  text?: string;
  synthetic?: boolean;
  ignored?: boolean;
  tool?: string;
  callID?: string;
  state?: {
    status?: string;
    input?: Record<string, unknown>;
    output?: string;
    error?: string;
    title?: string;
    metadata?: Record<string, unknown>;
  };
  [key: string]: unknown;
}

export interface HostMessage {
  info: {
    id: string;
    sessionID: string;
    role: string;
    agent?: string;
    summary?: boolean;
    time?: { created?: number; completed?: number };
    /** An assistant call's tokens, parsed by the host adapter from the host's own shape (HostApi.messages). */
    callTokens?: CallTokens;
    [key: string]: unknown;
  };
  parts: HostPart[];
}

export interface ModelRef {
  providerID: string;
  modelID: string;
}

/** A "provider/model" setting as a ModelRef; undefined when it is not that shape (both parts non-empty). */
export function parseModelRef(value: string | undefined): ModelRef | undefined {
  const slash = value?.indexOf("/") ?? -1;
  if (!value || slash <= 0 || slash === value.length - 1) return undefined;
  return { providerID: value.slice(0, slash), modelID: value.slice(slash + 1) };
}

/** Token counts of one model call as the host reports them. */
export interface CallTokens {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
}

export const NO_TOKENS: CallTokens = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 };

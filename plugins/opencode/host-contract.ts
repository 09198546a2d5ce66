// Every OpenCode hook and bus event the pack relies on. test/unit/host-contract.test.ts checks that the pack's
// source uses nothing outside these lists and that each name exists in the pinned OpenCode (its plugin types
// and its binary), so an upstream rename fails loudly in CI instead of silently disabling a feature.

export const HOST_HOOKS = [
  "event",
  "config",
  "tool",
  "dispose",
  "chat.message",
  "chat.params",
  "chat.headers",
  "command.execute.before",
  "tool.execute.before",
  "tool.execute.after",
  "experimental.chat.system.transform",
  "experimental.chat.messages.transform",
  "experimental.session.compacting",
  "experimental.compaction.autocontinue",
] as const;

export const HOST_EVENTS = [
  "session.created",
  "session.updated",
  "session.deleted",
  "session.status",
  "session.idle",
  "session.compacted",
  "session.error",
  "session.diff",
  "message.updated",
  "message.removed",
  "message.part.updated",
  "message.part.removed",
  "command.executed",
  "todo.updated",
  "permission.asked",
] as const;

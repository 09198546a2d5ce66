// distill_asset: the only way the distill agent writes. Each asset is validated first (name, form, no shadowing of
// the pack's own names), never overwrites a file, and extends only what /distill itself created; a dry run only
// validates. What was written is kept on the run's state so the report can be checked against it.
import { z } from "zod";
import { packAssetNames } from "../core/assets.ts";
import { errorText } from "../core/report.ts";
import { defineTool, ToolInputError, type PackTool, type ToolCallContext } from "../core/tool.ts";
import { validateAsset, writeAsset, type PlannedAsset } from "./assets.ts";
import type { InventoryItem } from "./inventory.ts";
import { DISTILL_ASSET_TOOL } from "./names.ts";
import { addCreated, readCreated } from "./records.ts";

/** One /distill run as its tools see it. */
export interface DistillRunState {
  dryRun: boolean;
  /** `asked`: the name the agent gave (an extend of one of yours is written under another name, beside it). */
  written: { plan: PlannedAsset; backup?: string; asked: string }[];
  existing: InventoryItem[];
}

const assetArgs = {
  form: z.enum(["skill", "command", "agent"]),
  name: z.string().min(1).max(80).describe("lowercase words joined by hyphens; a skill's folder gets this name"),
  description: z.string().min(1).max(1024).describe("one sentence: when to use it"),
  body: z.string().min(1).max(20000).describe("the markdown instructions (no front matter)"),
  action: z
    .enum(["create", "extend"])
    .describe(
      "extend appends to an asset /distill created, after a backup; one that is not /distill's gets a new asset <name>-distilled beside it",
    ),
};

/** Names the pack's own agents and commands use: a distilled asset must not shadow them. */
const RESERVED = new Set([...packAssetNames(), "workflow", "continuum"]);

export interface AssetToolOptions {
  activeFor(ctx: ToolCallContext): DistillRunState | undefined;
  /** /distill's folder in the pack's data dir (the list of assets it created). */
  dir: string;
  projectDir: string;
  now: () => Date;
}

export function distillAssetTool({ activeFor, dir, projectDir, now }: AssetToolOptions): PackTool {
  return defineTool(DISTILL_ASSET_TOOL, {
    description:
      "Write one asset into the project's .opencode/: a skill (.opencode/skills/<name>/SKILL.md), a command (.opencode/commands/<name>.md) or a subagent (.opencode/agents/<name>.md). " +
      "Validated before writing; an existing file is never overwritten (extend appends after a backup, and only to an asset /distill created; for any other it creates <name>-distilled beside it). In a dry run it only validates.",
    args: assetArgs,
    execute(args, ctx) {
      const state = activeFor(ctx);
      if (!state)
        throw new ToolInputError(`${DISTILL_ASSET_TOOL} belongs to a running /distill; it does nothing here.`);
      const taken = [
        ...state.existing,
        ...state.written.map((w) => ({
          form: w.plan.form,
          name: w.plan.name,
          description: "",
          path: w.plan.path,
          scope: "project" as const,
        })),
      ];
      const created = readCreated(dir);
      const checked = validateAsset(args, projectDir, taken, RESERVED, (path) => created.has(path));
      if (!checked.plan) throw new ToolInputError(`Not written:\n- ${checked.problems.join("\n- ")}`);
      const beside = checked.plan.besides
        ? ` beside ${checked.plan.besides}, which /distill did not create and never changes`
        : "";
      if (state.dryRun) {
        state.written.push({ plan: checked.plan, asked: args.name });
        return `Valid. Dry run: would ${checked.plan.action} ${checked.plan.path}${beside} (nothing written).`;
      }
      try {
        const { backup } = writeAsset(checked.plan, now());
        if (checked.plan.action === "create") addCreated(dir, checked.plan.path);
        state.written.push({ plan: checked.plan, backup, asked: args.name });
        return `${checked.plan.action === "create" ? "Created" : "Extended"} ${checked.plan.path}${beside}${backup ? ` (backup: ${backup})` : ""}.`;
      } catch (error) {
        throw new ToolInputError(`Not written: ${errorText(error)}`);
      }
    },
  });
}

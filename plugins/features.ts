// Every feature module of the pack. Start-up order comes from what each declares it provides, needs and uses
// (core/feature-order.ts); this listing only settles ties, and is the order hooks see features in where free.
import type { FeatureModule } from "./core/feature.ts";
import agentsFeature from "./agents/index.ts";
import checkpointFeature from "./checkpoint/index.ts";
import composeFeature from "./compose/index.ts";
import distillFeature from "./distill/index.ts";
import dreamFeature from "./dream/index.ts";
import goalFeature from "./goal/index.ts";
import maxFeature from "./max/index.ts";
import memoryFeature from "./memory/index.ts";
import subagentsFeature from "./subagents/index.ts";
import tasksFeature from "./tasks/index.ts";
import workflowFeature from "./workflow/index.ts";

export const FEATURE_MODULES: FeatureModule[] = [
  memoryFeature,
  tasksFeature,
  subagentsFeature,
  checkpointFeature,
  goalFeature,
  agentsFeature,
  dreamFeature,
  distillFeature,
  workflowFeature,
  maxFeature,
  composeFeature,
];

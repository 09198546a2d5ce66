// The names Max Mode registers with the host: its agents and its result tools.
export const MAIN_AGENT = "max";
export const CANDIDATE_AGENT = "max-candidate";
export const BUILDER_AGENT = "max-builder";
export const JUDGE_AGENT = "max-judge";
export const PLAN_TOOL = "max_plan";
export const VERDICT_TOOL = "max_verdict";
export const PATCH_TOOL = "max_patch";

// Names shared by the goal feature's hooks, its judge round and the judge's agent definition.

export const VERDICT_TOOL = "goal_verdict";
export const JUDGE_AGENT = "goal-judge";

// The names /distill registers with OpenCode: its hidden agent and that agent's two tools.
export const DISTILL_AGENT = "distill";
export const DISTILL_ASSET_TOOL = "distill_asset";
export const DISTILL_REPORT_TOOL = "distill_report";

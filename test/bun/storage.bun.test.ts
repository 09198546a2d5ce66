// The shared storage contract on bun:sqlite, run inside OpenCode's own embedded Bun (BUN_BE_BUN=1 opencode test).
import { test } from "bun:test";
import { storageSuite } from "../storage-suite.ts";

storageSuite(test, "bun");

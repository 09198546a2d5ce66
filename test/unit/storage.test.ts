// The shared storage contract on Node's engine (better-sqlite3).
import { test } from "node:test";
import { storageSuite } from "../storage-suite.ts";

storageSuite(test, "node");

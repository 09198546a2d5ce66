// The pack's version, read once from package.json so the doctor and logs agree with the installed files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "./pack-root.ts";

export const PACK_VERSION: string = (
  JSON.parse(readFileSync(join(PACK_ROOT, "package.json"), "utf8")) as { version: string }
).version;

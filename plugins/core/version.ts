// The pack's version, read once from package.json so the doctor and logs agree with the installed files.
import { readFileSync } from "node:fs";

export const PACK_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

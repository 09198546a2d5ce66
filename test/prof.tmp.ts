import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../plugins/core/storage/database.ts";
import { packPaths } from "../plugins/core/paths.ts";
import { memoryLocations } from "../plugins/memory/locations.ts";
import { MemoryService } from "../plugins/memory/memory-service.ts";
import { searchEntries } from "../plugins/memory/index-store.ts";
function rng(seed: number) { return () => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed / 0x7fffffff; }; }
const random = rng(7);
const letters = "etaoinshrdlcumwfgypbvkjxqz";
const ws = new Set<string>(); while (ws.size < 20000) { const n = 3 + Math.floor(random() * 8); ws.add(Array.from({ length: n }, () => letters[Math.floor(letters.length * random() ** 1.5)]).join("")); }
const words = [...ws];
const pick = () => words[Math.floor(words.length * random() ** 2.2)]!;
const root = mkdtempSync(join(tmpdir(), "prof-"));
const paths = packPaths(root); const loc = memoryLocations(paths, "bench", root, "data");
const db = await openDatabase(join(root, "c.db"));
const service = new MemoryService({ db, locations: loc, projectId: "bench", sessionsDir: paths.project("bench").sessions, versionsKept: 5, sectionBudgetTokens: 2000, redact: (t) => t });
mkdirSync(loc.projectDir, { recursive: true });
for (let f = 0; f < 200; f++) { const lines = [`# T${f}`, "", "## Discovered durable knowledge", ""]; for (let i = 0; i < 500; i++) lines.push(`- ${Array.from({ length: 8 + Math.floor(random() * 10) }, pick).join(" ")} <!-- id:m-f${f}x${i.toString(36)} · 2026-11-01 · ses_bench -->`); writeFileSync(join(loc.projectDir, `memory-topic${f}.md`), lines.join("\n") + "\n"); }
service.reconcile();
const queries = Array.from({ length: 1000 }, () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => words[Math.floor(random() * words.length)]).join(" "));
await new Promise((r) => setTimeout(r, 2200));
const t = (label: string, fn: (q: string) => unknown) => { for (const q of queries.slice(0, 50)) fn(q); const s = performance.now(); for (const q of queries) fn(q); console.log(label, ((performance.now() - s) / queries.length).toFixed(3), "ms/query"); };
t("reconcile", () => service.reconcile());
t("searchEntries", (q) => searchEntries(db, { query: q, scope: "all", limit: 10, projectId: "bench" }));
t("service.search", (q) => service.search({ query: q, scope: "all", limit: 10, track: false }));
const bare = db.prepare("SELECT e.entry_id, snippet(memory_fts, 0, '[', ']', '…', 12) AS snippet FROM memory_fts JOIN memory_entries e ON e.rowid = memory_fts.rowid WHERE memory_fts MATCH ? ORDER BY bm25(memory_fts) LIMIT 10");
t("bare", (q) => bare.all(q.split(/\s+/).map((w) => `"${w}"*`).join(" OR ")));
const rank = db.prepare("SELECT rowid, bm25(memory_fts, 1.0, 0.3, 0.0) AS rank FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rank LIMIT ?");
t("rank50 colfilter", (q) => rank.all(`{body head} : (${q.split(/\s+/).map((w) => `"${w}"*`).join(" OR ")})`, 50));
t("rank10 colfilter", (q) => rank.all(`{body head} : (${q.split(/\s+/).map((w) => `"${w}"*`).join(" OR ")})`, 10));
t("rank10 nofilter", (q) => rank.all(`${q.split(/\s+/).map((w) => `"${w}"*`).join(" OR ")}`, 10));

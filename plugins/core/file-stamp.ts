// The time stamp the pack puts in the names of the copies it keeps (backups, versions, saved diffs): ISO time with
// ':' and '.' as '-', so names sort by time and are valid on every file system; read back by retention.
import { redact } from "./redaction.ts";

const STAMPED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z/;

export function fileStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[:.]/g, "-");
}

/** The time at the start of a name the pack stamped, or undefined for any other name. */
export function stampedAt(name: string): number | undefined {
  const m = STAMPED.exec(name);
  if (!m) return undefined;
  const at = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number(m[7]),
  );
  return Number.isFinite(at) ? at : undefined;
}

/** A label as part of a file name: redacted (a name is stored too), safe characters only, at most 60 of them. */
export function nameSafe(label: string): string {
  return redact(label)
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .slice(0, 60);
}

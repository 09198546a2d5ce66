// The answer of a merge of changes back into the user's working tree (compose's merge, offered to other features
// as FeatureServices.compose.mergeBack). Plain JSON, so a workflow script can be handed it as is.

export interface MergeConflict {
  /** The change the merge stopped at ("" when it stopped before any: no repository, no backup). */
  label: string;
  reason: string;
  files: string[];
  /** The change itself, saved as a patch. */
  savedTo?: string;
}

export interface MergeReport {
  /** Every change is now in the working tree. */
  ok: boolean;
  merged: { label: string; files: string[] }[];
  /** Changes that were empty (and their worktrees, if any, removed). */
  unchanged: string[];
  /** Why the merge stopped, when it did; nothing was applied then. */
  conflict?: MergeConflict;
  /** Worktrees left in place (the merge stopped): label and folder. */
  kept: { label: string; dir: string }[];
  /** Every change's diff, saved when the merge stopped (the merged-clean ones too). */
  saved?: { label: string; file: string }[];
  /** The backup of the user's index and tree taken before the apply (`continuum restore <backup>`). */
  backup?: string;
}

/**
 * One batch of the cleanup. Its rows are found by a plain SELECT, which locks nothing, and deleted by
 * primary key with the condition repeated, so that a row that changed in between is kept. The DELETE
 * names PRIMARY in the multi-table form (`DELETE t FROM table t FORCE INDEX (PRIMARY)`): a single-table
 * DELETE takes no index hint on MariaDB 10.11, and on a small table the optimizer picks the condition's
 * index instead, whose range scan locks live rows again.
 */
export interface CleanupBatch {
  /** Rows found; fewer than the batch size means none are left. */
  matched: number;
  removed: number;
}

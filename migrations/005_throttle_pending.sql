-- Attempts counted as in flight: their password or secret is being checked. A key allows at most its
-- threshold of failures and attempts in flight together, so a burst of parallel guesses cannot slip
-- past the count.

ALTER TABLE auth_throttle
  ADD COLUMN pending int unsigned NOT NULL DEFAULT 0 COMMENT 'attempts in flight (counted, not yet settled)' AFTER failures;

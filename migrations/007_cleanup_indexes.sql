-- The cleanup finds the rows it deletes with plain reads, which lock nothing, and deletes them by primary
-- key. "Both lifetimes of a token have passed" is two ranges of this index: tokens without a refresh token,
-- by their access expiry; the others, by their refresh expiry, their access expiry checked in the index.
-- Revoked grants (idx_revoked_at) and throttle counters (idx_window_started_at) have theirs already.
--
-- An index on existing columns is built online. A stored generated column holding the later of the two
-- expiries would rebuild the table (ALGORITHM=COPY on MariaDB 10.11), blocking token writes meanwhile.
-- idx_access_token_expires_at served only the old range DELETE; it stays while a host running that may
-- still be up, which without it would scan and lock the whole table.

ALTER TABLE oauth_tokens
  ADD KEY idx_expiry (refresh_token_expires_at, access_token_expires_at),
  ALGORITHM=INPLACE, LOCK=NONE;

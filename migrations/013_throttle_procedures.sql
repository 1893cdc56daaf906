-- The throttle's transactions in two round trips each, where they took up to seven: a login sent 16
-- statements, 14 of them the throttle's (SET TRANSACTION, START, SELECT … FOR UPDATE, a write per kind
-- of change, COMMIT, twice, and the known address read and written on its own), and each round trip
-- costs the worker and MySQL CPU on the cores argon2id needs (README, Performance). The decisions stay
-- in the app (core/throttle.ts, core/smsSendLimits.ts); only the statements moved:
-- - oauth_throttle_lock opens the transaction, READ COMMITTED (it locks the rows that exist and no
--   gaps), returns the counters of the keys (a JSON array, sorted by the app: the rows are locked in
--   its order, so that two transactions never wait for each other's), then the known address asked
--   for (none for NULL), and leaves the transaction open for the app's decision;
-- - oauth_throttle_write writes that decision (JSON arrays: keys to delete, rows to update, rows to
--   insert, each row [key, failures, pending, pending_since, window_started_at, blocked_until], times
--   'YYYY-MM-DD hh:mm:ss.fff' UTC), remembers the known address if one is given, and commits.
-- A refused attempt changes nothing: the app rolls back. New rows go in with a plain INSERT, so that a
-- key another transaction inserted first is a duplicate (1062) and the app runs the whole transaction
-- again. Any error rolls back and reaches the app as it was (1213 is retried there too). Every
-- statement goes from the JSON to the table by primary key (STRAIGHT_JOIN): a DELETE … WHERE key IN
-- (SELECT … FROM JSON_TABLE(…)) reads, and locks, the whole table instead.

DROP PROCEDURE IF EXISTS oauth_throttle_lock;
DROP PROCEDURE IF EXISTS oauth_throttle_write;

DELIMITER //
CREATE PROCEDURE oauth_throttle_lock(
  IN p_keys json,
  IN p_known_address_key char(64) CHARACTER SET ascii
)
MODIFIES SQL DATA
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SELECT t.throttle_key, t.failures, t.pending, t.pending_since, t.window_started_at, t.blocked_until
    FROM JSON_TABLE(p_keys, '$[*]' COLUMNS (k char(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$')) AS j
    STRAIGHT_JOIN auth_throttle t ON t.throttle_key = j.k
     FOR UPDATE;
  SELECT last_success_at FROM auth_known_addresses WHERE address_key = p_known_address_key;
END //

CREATE PROCEDURE oauth_throttle_write(
  IN p_deleted json,
  IN p_updated json,
  IN p_inserted json,
  IN p_known_address_key char(64) CHARACTER SET ascii,
  IN p_known_at datetime(3)
)
MODIFIES SQL DATA
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  DELETE t FROM JSON_TABLE(p_deleted, '$[*]' COLUMNS (k char(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$')) AS j
    STRAIGHT_JOIN auth_throttle t ON t.throttle_key = j.k;
  -- The rows that exist are locked by this transaction (oauth_throttle_lock): the upsert only updates them.
  INSERT INTO auth_throttle (throttle_key, failures, pending, pending_since, window_started_at, blocked_until)
    SELECT k, failures, pending, pending_since, window_started_at, blocked_until
      FROM JSON_TABLE(p_updated, '$[*]' COLUMNS (
             k char(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$[0]',
             failures int unsigned PATH '$[1]',
             pending int unsigned PATH '$[2]',
             pending_since datetime(3) PATH '$[3]',
             window_started_at datetime(3) PATH '$[4]',
             blocked_until datetime(3) PATH '$[5]')) AS j
    ON DUPLICATE KEY UPDATE failures = VALUES(failures), pending = VALUES(pending), pending_since = VALUES(pending_since),
      window_started_at = VALUES(window_started_at), blocked_until = VALUES(blocked_until);
  INSERT INTO auth_throttle (throttle_key, failures, pending, pending_since, window_started_at, blocked_until)
    SELECT k, failures, pending, pending_since, window_started_at, blocked_until
      FROM JSON_TABLE(p_inserted, '$[*]' COLUMNS (
             k char(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$[0]',
             failures int unsigned PATH '$[1]',
             pending int unsigned PATH '$[2]',
             pending_since datetime(3) PATH '$[3]',
             window_started_at datetime(3) PATH '$[4]',
             blocked_until datetime(3) PATH '$[5]')) AS j;
  IF p_known_address_key IS NOT NULL THEN
    INSERT INTO auth_known_addresses (address_key, last_success_at) VALUES (p_known_address_key, p_known_at)
      ON DUPLICATE KEY UPDATE last_success_at = VALUES(last_success_at);
  END IF;
  COMMIT;
END //
DELIMITER ;

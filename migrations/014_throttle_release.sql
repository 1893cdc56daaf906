-- A settle that fails nothing (a right password, a right client secret, an attempt abandoned on an
-- error) only gives each counter its attempt back, clears the user-and-address counter after a success
-- and remembers the address: changes that do not depend on the counters' values, so they need no read
-- and no lock held while the app decides. One round trip, where oauth_throttle_lock and
-- oauth_throttle_write take two and keep the rows locked in between (the rows every login from one
-- address or of one client share). A counter is not brought up to date here: whoever reads it next
-- does that, as every read does (core/throttle.ts, current).
-- Arguments: JSON arrays of keys, sorted by the app (the rows are locked in that order): the keys whose
-- pending attempt ends, the keys to delete; then the known address and when (none for NULL).
-- Only a success makes an address known, and a success is now always a release: the app passes no
-- known address to oauth_throttle_write any more. Its signature stays, so that hosts still running the
-- code before this migration keep working during a rolling upgrade.

DROP PROCEDURE IF EXISTS oauth_throttle_release;

DELIMITER //
CREATE PROCEDURE oauth_throttle_release(
  IN p_released json,
  IN p_deleted json,
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
  START TRANSACTION;
  DELETE t FROM JSON_TABLE(p_deleted, '$[*]' COLUMNS (k char(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$')) AS j
    STRAIGHT_JOIN auth_throttle t ON t.throttle_key = j.k;
  UPDATE JSON_TABLE(p_released, '$[*]' COLUMNS (k char(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$')) AS j
    STRAIGHT_JOIN auth_throttle t ON t.throttle_key = j.k
    SET t.pending = IF(t.pending > 0, t.pending - 1, 0);
  IF p_known_address_key IS NOT NULL THEN
    INSERT INTO auth_known_addresses (address_key, last_success_at) VALUES (p_known_address_key, p_known_at)
      ON DUPLICATE KEY UPDATE last_success_at = VALUES(last_success_at);
  END IF;
  COMMIT;
END //
DELIMITER ;

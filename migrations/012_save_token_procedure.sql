-- Storing a token in one round trip: every grant's token (a login, client_credentials, a code
-- exchange, a refresh) is one transaction of up to four statements, which the server used to send one
-- by one (BEGIN, INSERT grant, INSERT token, COMMIT: four round trips and four waits for a pooled
-- connection's answer). The procedure runs the same transaction inside MySQL; the app sends one CALL.
--
-- p_new_grant = 1 starts the grant (a login). p_spends_token_id spends that token's refresh token in the
-- same transaction (rotation): when another request spent it first, nothing is stored and the result
-- is saved = 0. Any error (a duplicate hash, a deadlock or, on Galera, a certification failure at
-- COMMIT: 1213) rolls the whole transaction back and reaches the caller as it was, to be retried there.
-- The app's database user needs EXECUTE on it (the migrating user needs CREATE ROUTINE).

DROP PROCEDURE IF EXISTS oauth_save_token;

DELIMITER //
CREATE PROCEDURE oauth_save_token(
  IN p_grant_id char(32) CHARACTER SET ascii,
  IN p_new_grant tinyint,
  IN p_grant_scope varchar(1000),
  IN p_grant_resource varchar(2000),
  IN p_grant_auth_time datetime(3),
  IN p_spends_token_id bigint unsigned,
  IN p_spent_at datetime(3),
  IN p_access_token_hash char(64) CHARACTER SET ascii,
  IN p_access_token_expires_at datetime(3),
  IN p_refresh_token_hash char(64) CHARACTER SET ascii,
  IN p_refresh_token_expires_at datetime(3),
  IN p_client_id bigint unsigned,
  IN p_user_id bigint unsigned,
  IN p_scope varchar(1000),
  IN p_audience varchar(2000)
)
MODIFIES SQL DATA
save_token: BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  START TRANSACTION;
  IF p_spends_token_id IS NOT NULL THEN
    UPDATE oauth_tokens SET revoked_at = p_spent_at, revoke_reason = 'rotated'
     WHERE id = p_spends_token_id AND revoked_at IS NULL;
    IF ROW_COUNT() <> 1 THEN
      ROLLBACK;
      SELECT 0 AS saved;
      LEAVE save_token;
    END IF;
  END IF;
  IF p_new_grant = 1 THEN
    INSERT INTO oauth_grants (id, client_id, user_id, scope, resource, auth_time)
      VALUES (p_grant_id, p_client_id, p_user_id, p_grant_scope, p_grant_resource, p_grant_auth_time);
  END IF;
  INSERT INTO oauth_tokens
    (grant_id, access_token_hash, access_token_expires_at, refresh_token_hash, refresh_token_expires_at,
     client_id, user_id, scope, audience)
    VALUES (p_grant_id, p_access_token_hash, p_access_token_expires_at, p_refresh_token_hash,
     p_refresh_token_expires_at, p_client_id, p_user_id, p_scope, p_audience);
  -- The access token the spent refresh token came with stops working in every worker (the revocation feed).
  IF p_spends_token_id IS NOT NULL THEN
    INSERT INTO oauth_revocations (kind, subject) VALUES ('token', p_spends_token_id);
  END IF;
  COMMIT;
  SELECT 1 AS saved;
END //
DELIMITER ;

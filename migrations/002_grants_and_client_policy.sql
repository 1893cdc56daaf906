-- A grant is one login (or one client_credentials issue): every token carries its grant, and revoking
-- the grant row ends all of them at once, including tokens a racing request is still writing.

CREATE TABLE oauth_grants (
  id char(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'random grant id (oauth_tokens.grant_id)',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'login time',
  client_id bigint unsigned NOT NULL COMMENT 'oauth_clients.id',
  user_id bigint unsigned DEFAULT NULL COMMENT 'users.id; NULL for client_credentials',
  revoked_at datetime(3) DEFAULT NULL COMMENT 'UTC; NULL = live',
  revoke_reason varchar(32) DEFAULT NULL COMMENT 'logout, reuse, password_change, user_disabled, client_disabled, admin',
  PRIMARY KEY (id),
  KEY idx_user_id (user_id),
  KEY idx_client_id (client_id),
  KEY idx_revoked_at (revoked_at),
  CONSTRAINT fk_grants_client FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE,
  CONSTRAINT fk_grants_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='logins; tokens are revoked per grant';

INSERT INTO oauth_grants (id, gmt_create, client_id, user_id)
  SELECT grant_id, MIN(gmt_create), MIN(client_id), MIN(user_id) FROM oauth_tokens GROUP BY grant_id;

ALTER TABLE oauth_tokens
  ADD COLUMN revoke_reason varchar(32) DEFAULT NULL COMMENT 'rotated (refresh used), or the grant''s reason' AFTER revoked_at,
  ADD KEY idx_access_token_expires_at (access_token_expires_at),
  ADD KEY idx_revoked_at (revoked_at),
  ADD CONSTRAINT fk_tokens_grant FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE;

ALTER TABLE oauth_clients
  ADD COLUMN default_scope varchar(1000) DEFAULT NULL COMMENT 'space-separated scope when a request names none; NULL = all of scopes' AFTER scopes,
  ADD COLUMN resource_server tinyint(1) NOT NULL DEFAULT 0 COMMENT '1 = may introspect tokens of every client' AFTER enabled;

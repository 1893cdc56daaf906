-- authorization_code with PKCE (RFC 6749 §4.1, RFC 7636): public clients (no secret:
-- token_endpoint_auth_method none), clients that skip the consent page, the resource indicators a
-- client may ask for (RFC 8707), codes (hashed, single use), and remembered consents.

ALTER TABLE oauth_clients
  MODIFY secret_hash varchar(255) DEFAULT NULL COMMENT 'argon2id PHC string of the client secret (or imported bcrypt); NULL for a public client',
  ADD COLUMN skip_consent tinyint(1) NOT NULL DEFAULT 0 COMMENT '1 = first-party: no consent page' AFTER resource_server,
  ADD COLUMN resources varchar(2000) NOT NULL DEFAULT '' COMMENT 'space-separated resource indicators (RFC 8707) the client may ask for' AFTER skip_consent;

CREATE TABLE oauth_authorization_codes (
  code_hash char(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'SHA-256 hex of the code',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'issued at',
  expires_at datetime(3) NOT NULL COMMENT 'UTC',
  consumed_at datetime(3) DEFAULT NULL COMMENT 'UTC; set once, by the one exchange that spends it',
  grant_id char(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'the grant its tokens belong to; revoked when the code is used twice',
  client_id bigint unsigned NOT NULL COMMENT 'oauth_clients.id',
  user_id bigint unsigned NOT NULL COMMENT 'users.id',
  redirect_uri varchar(2000) NOT NULL COMMENT 'the redirect URI of the authorization request',
  scope varchar(1000) NOT NULL DEFAULT '' COMMENT 'space-separated granted scope',
  resource varchar(2000) DEFAULT NULL COMMENT 'RFC 8707 resource indicator of the request',
  code_challenge varchar(128) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL COMMENT 'PKCE S256 challenge (RFC 7636)',
  auth_time datetime(3) NOT NULL COMMENT 'UTC; when the user logged in',
  PRIMARY KEY (code_hash),
  KEY idx_expires_at (expires_at),
  KEY idx_grant_id (grant_id),
  CONSTRAINT fk_codes_grant FOREIGN KEY (grant_id) REFERENCES oauth_grants (id) ON DELETE CASCADE,
  CONSTRAINT fk_codes_client FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE,
  CONSTRAINT fk_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='authorization codes, hashed, single use';

CREATE TABLE oauth_consents (
  user_id bigint unsigned NOT NULL COMMENT 'users.id',
  client_id bigint unsigned NOT NULL COMMENT 'oauth_clients.id',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'first approval',
  gmt_modified datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'last approval',
  scope varchar(1000) NOT NULL DEFAULT '' COMMENT 'space-separated scopes the user approved for the client',
  PRIMARY KEY (user_id, client_id),
  KEY idx_client_id (client_id),
  CONSTRAINT fk_consents_client FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE,
  CONSTRAINT fk_consents_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='consents remembered per user and client';

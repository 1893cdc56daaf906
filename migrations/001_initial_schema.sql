-- Users, OAuth clients and tokens. Secrets are stored only as slow hashes (argon2id, or imported
-- bcrypt), tokens only as SHA-256. A user holds any number of live tokens: one row per token.

CREATE TABLE users (
  id bigint unsigned NOT NULL AUTO_INCREMENT COMMENT 'internal id',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'row created',
  gmt_modified datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'row last changed',
  username varchar(100) NOT NULL COMMENT 'login name, unique (case-insensitive)',
  email varchar(254) DEFAULT NULL COMMENT 'optional, unique',
  phone varchar(32) DEFAULT NULL COMMENT 'optional, unique',
  password_hash varchar(255) NOT NULL COMMENT 'argon2id PHC string, or an imported bcrypt hash upgraded on next login',
  enabled tinyint(1) NOT NULL DEFAULT 1 COMMENT '0 = disabled: cannot log in, tokens stop working',
  roles varchar(255) NOT NULL DEFAULT '' COMMENT 'space-separated roles, e.g. admin',
  PRIMARY KEY (id),
  UNIQUE KEY uk_username (username),
  UNIQUE KEY uk_email (email),
  UNIQUE KEY uk_phone (phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='end users';

CREATE TABLE oauth_clients (
  id bigint unsigned NOT NULL AUTO_INCREMENT COMMENT 'internal id',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'row created',
  gmt_modified datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'row last changed',
  client_id varchar(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'public client identifier',
  secret_hash varchar(255) NOT NULL COMMENT 'argon2id PHC string of the client secret (or imported bcrypt)',
  grants varchar(255) NOT NULL COMMENT 'space-separated grant types the client may use',
  scopes varchar(1000) NOT NULL DEFAULT '' COMMENT 'space-separated scopes the client may request',
  redirect_uris text NOT NULL COMMENT 'space-separated redirect URIs (authorization_code)',
  access_token_lifetime int unsigned DEFAULT NULL COMMENT 'seconds; NULL = config default',
  refresh_token_lifetime int unsigned DEFAULT NULL COMMENT 'seconds; NULL = config default',
  enabled tinyint(1) NOT NULL DEFAULT 1 COMMENT '0 = disabled: no token is issued or accepted',
  PRIMARY KEY (id),
  UNIQUE KEY uk_client_id (client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='registered OAuth clients';

CREATE TABLE oauth_tokens (
  id bigint unsigned NOT NULL AUTO_INCREMENT COMMENT 'internal id',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'issued at',
  grant_id char(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'the login this token belongs to; revocation works per grant',
  access_token_hash char(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'SHA-256 hex of the access token',
  access_token_expires_at datetime(3) NOT NULL COMMENT 'UTC',
  refresh_token_hash char(64) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL COMMENT 'SHA-256 hex of the refresh token',
  refresh_token_expires_at datetime(3) DEFAULT NULL COMMENT 'UTC',
  client_id bigint unsigned NOT NULL COMMENT 'oauth_clients.id',
  user_id bigint unsigned DEFAULT NULL COMMENT 'users.id; NULL for client_credentials',
  scope varchar(1000) NOT NULL DEFAULT '' COMMENT 'space-separated granted scopes',
  revoked_at datetime(3) DEFAULT NULL COMMENT 'UTC; NULL = not revoked',
  PRIMARY KEY (id),
  UNIQUE KEY uk_access_token_hash (access_token_hash),
  UNIQUE KEY uk_refresh_token_hash (refresh_token_hash),
  KEY idx_grant_id (grant_id),
  KEY idx_user_id (user_id),
  KEY idx_client_id (client_id),
  CONSTRAINT fk_tokens_client FOREIGN KEY (client_id) REFERENCES oauth_clients (id) ON DELETE CASCADE,
  CONSTRAINT fk_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='issued tokens, hashed';

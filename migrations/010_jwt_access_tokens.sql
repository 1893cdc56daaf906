-- JWT access tokens (RFC 9068) per client, the audience of every token (RFC 8707), and the keys
-- they are signed with (private halves sealed with AES-256-GCM under JWT_KEKS).

ALTER TABLE oauth_clients
  ADD COLUMN access_token_format enum('opaque','jwt') NOT NULL DEFAULT 'opaque' COMMENT 'opaque: 256 random bits; jwt: an RFC 9068 JWT signed with the active key' AFTER resources,
  ADD COLUMN audience varchar(2000) DEFAULT NULL COMMENT 'aud of its tokens when the request names no resource (RFC 8707)' AFTER access_token_format;

ALTER TABLE oauth_grants
  ADD COLUMN resource varchar(2000) DEFAULT NULL COMMENT 'RFC 8707 resource named at the login; a refresh without one keeps it' AFTER scope,
  ADD COLUMN auth_time datetime(3) DEFAULT NULL COMMENT 'UTC; when the user authenticated (the auth_time claim); NULL for client_credentials' AFTER resource;

ALTER TABLE oauth_tokens
  ADD COLUMN audience varchar(2000) DEFAULT NULL COMMENT 'aud of the access token (RFC 8707 resource, else the client''s audience)' AFTER scope;

CREATE TABLE oauth_signing_keys (
  kid varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'RFC 7638 thumbprint of the public key; the JWT header''s kid',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC; when it was generated',
  alg varchar(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'ES256 or RS256',
  public_jwk text NOT NULL COMMENT 'the public half as a JWK (JSON), published at /.well-known/jwks.json',
  private_sealed text CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'the private JWK sealed with AES-256-GCM under a JWT_KEKS key (never plaintext)',
  state enum('next','active','retired') NOT NULL COMMENT 'next: published, not yet signing; active: signing; retired: published until its tokens expire',
  activates_at datetime(3) NOT NULL COMMENT 'UTC; when it starts signing (after the publish delay)',
  retired_at datetime(3) DEFAULT NULL COMMENT 'UTC; when a newer key took over',
  remove_after datetime(3) DEFAULT NULL COMMENT 'UTC; when the last token it signed has expired: deleted then',
  PRIMARY KEY (kid),
  KEY idx_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='JWT signing keys and their rotation';

-- The revocation feed: every revocation (a grant, every grant of a user or a client, a spent refresh
-- token's row) is written here in the transaction that makes it, and every worker of every host reads
-- the last seconds of it several times a second to drop what its token cache holds. Read by time, not
-- by id: on a Galera cluster, auto-increment ids are neither consecutive nor committed in order.

CREATE TABLE oauth_revocations (
  id bigint unsigned NOT NULL AUTO_INCREMENT COMMENT 'internal id',
  created_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC; when it was written (just before its commit)',
  kind varchar(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'grant, user, client or token',
  subject varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'oauth_grants.id, users.id, oauth_clients.id or oauth_tokens.id',
  PRIMARY KEY (id),
  KEY idx_created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='recent revocations, for the token caches of every worker';

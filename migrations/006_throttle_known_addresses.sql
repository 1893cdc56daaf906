-- Attempts in flight expire: a request that died (worker crash, database gone while settling) must
-- not hold its count forever. And addresses from which a username logged in lately are known: there,
-- failures from elsewhere cannot lock its owner out.

ALTER TABLE auth_throttle
  ADD COLUMN pending_since datetime(3) DEFAULT NULL COMMENT 'UTC; when the newest attempt in flight started' AFTER pending;

CREATE TABLE auth_known_addresses (
  address_key char(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'HMAC-SHA-256 hex of the folded username and the address (IPv4, or IPv6 /64)',
  last_success_at datetime(3) NOT NULL COMMENT 'UTC; the last successful login of the username from the address',
  PRIMARY KEY (address_key),
  KEY idx_last_success_at (last_success_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='addresses known per username: the throttle does not lock them out';

-- Failure counters of the token endpoint's brute-force throttling, shared by every worker and host.
-- Keys are SHA-256 of "policy:value" (a username, an IP, a client id), so no username or IP is stored.

CREATE TABLE auth_throttle (
  throttle_key char(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'SHA-256 hex of policy:value',
  failures int unsigned NOT NULL COMMENT 'failures in the current window',
  window_started_at datetime(3) NOT NULL COMMENT 'UTC; the count restarts once the window has passed',
  blocked_until datetime(3) DEFAULT NULL COMMENT 'UTC; requests for this key are refused until then',
  PRIMARY KEY (throttle_key),
  KEY idx_window_started_at (window_started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='brute-force throttling of the token endpoint';

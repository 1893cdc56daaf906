-- One-time login codes sent by SMS (issue 12). One live code per phone number: a new code replaces the
-- row, which voids the previous one. The code itself is never stored: code_mac is an HMAC-SHA-256 of
-- "phone:code" under the server's SMS_CODE_KEY, since a plain hash of six digits is reversed by trying
-- all million of them. Single use and the try limit are conditional UPDATEs on this row.
--
-- The send limits (per phone, per address, per day) are counters in auth_throttle, keyed by HMACs like
-- the login throttle's, and go with its cleanup.

CREATE TABLE sms_codes (
  phone varchar(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'E.164 number the code was sent to',
  gmt_create datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'when this code was issued',
  user_id bigint unsigned NOT NULL COMMENT 'users.id of the phone''s owner when the code was sent',
  code_mac char(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'HMAC-SHA-256 hex of phone:code under SMS_CODE_KEY',
  expires_at datetime(3) NOT NULL COMMENT 'UTC',
  attempts int unsigned NOT NULL DEFAULT 0 COMMENT 'login attempts made with this code, right or wrong',
  consumed_at datetime(3) DEFAULT NULL COMMENT 'UTC; set once, by the one login that spends it',
  PRIMARY KEY (phone),
  KEY idx_expires_at (expires_at),
  KEY idx_user_id (user_id),
  CONSTRAINT fk_sms_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='SMS login codes, as HMACs, single use';

-- The scope a grant was given at login. A refresh may narrow the scope of the access token it issues,
-- but the new refresh token keeps the grant's scope (RFC 6749 §6).

ALTER TABLE oauth_grants
  ADD COLUMN scope varchar(1000) NOT NULL DEFAULT '' COMMENT 'space-separated scope granted at login' AFTER user_id;

UPDATE oauth_grants g
  JOIN (SELECT grant_id, MIN(id) AS first_token FROM oauth_tokens GROUP BY grant_id) f ON f.grant_id = g.id
  JOIN oauth_tokens t ON t.id = f.first_token
   SET g.scope = t.scope;

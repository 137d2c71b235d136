-- The sharing extensions' trust policies (one per recipient project that set one) and history
-- (append-only, one row per change of a share; kept after the member and the image are gone, so
-- no foreign keys), and on a share the trust policy's mark and the expiry reminders sent.
-- Glance's charset and collation, as glint_member_ext.
ALTER TABLE `glint_member_ext` ADD COLUMN `policy` varchar(32) DEFAULT NULL,
  ADD COLUMN `reminded_secs` bigint DEFAULT NULL;

CREATE TABLE `glint_share_policy` (
  `project_id` varchar(255) NOT NULL,
  `domain_id` varchar(255) DEFAULT NULL,
  `owners` text NOT NULL,
  `domains` text NOT NULL,
  `same_domain` tinyint(1) NOT NULL DEFAULT 0,
  `untrusted` varchar(16) NOT NULL,
  `mode` varchar(16) NOT NULL,
  `updated_at` datetime NOT NULL,
  `updated_by` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`project_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

CREATE TABLE `glint_share_events` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `at` datetime NOT NULL,
  `action` varchar(32) NOT NULL,
  `via` varchar(32) NOT NULL,
  `image_id` varchar(36) NOT NULL,
  `owner` varchar(255) DEFAULT NULL,
  `member` varchar(255) NOT NULL,
  `actor_user` varchar(255) DEFAULT NULL,
  `actor_project` varchar(255) DEFAULT NULL,
  `request_id` varchar(64) DEFAULT NULL,
  `from_state` text DEFAULT NULL,
  `to_state` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_glint_share_events_owner` (`owner`, `id`),
  KEY `ix_glint_share_events_member` (`member`, `id`),
  KEY `ix_glint_share_events_image` (`image_id`, `id`),
  KEY `ix_glint_share_events_at` (`at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

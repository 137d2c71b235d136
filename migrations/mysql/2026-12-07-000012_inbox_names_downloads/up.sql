-- Names of projects glint has seen (from tokens it validated and from Keystone look-ups), so the
-- inbox can show whose offer it is without asking Keystone per item: one row per project, written
-- at most once per project per interval. And on a share, when its member last downloaded the
-- image (written at most once a minute per share).
-- Glance's charset and collation, as glint_member_ext.
CREATE TABLE `glint_project_names` (
  `project_id` varchar(255) NOT NULL,
  `name` varchar(255) NOT NULL,
  `domain_id` varchar(255) DEFAULT NULL,
  `seen_at` datetime NOT NULL,
  PRIMARY KEY (`project_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

ALTER TABLE `glint_member_ext` ADD COLUMN `last_download_at` datetime DEFAULT NULL;

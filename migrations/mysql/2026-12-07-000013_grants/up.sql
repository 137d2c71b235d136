-- Grants of the sharing extensions (POST /v2/glint/grants): an owner's images (by id, or by tag)
-- granted to a Keystone domain or a project subtree. A grant is materialised into ordinary member
-- rows (glint_member_ext.via = 'grant', grant_id), so every read path stays as it is; the tables
-- below say what each grant covers: which images and which recipient projects it has reached.
CREATE TABLE `glint_grants` (
  `id` varchar(36) NOT NULL,
  `owner` varchar(255) NOT NULL,
  `owner_domain_id` varchar(255) DEFAULT NULL,
  `target_kind` varchar(16) NOT NULL,
  `target_id` varchar(255) NOT NULL,
  `target_domain_id` varchar(255) NOT NULL,
  `tag` varchar(255) DEFAULT NULL,
  `decision` varchar(16) DEFAULT NULL,
  `decided_by` varchar(255) DEFAULT NULL,
  `decided_at` datetime DEFAULT NULL,
  `created_by` varchar(255) DEFAULT NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_glint_grants_owner` (`owner`),
  KEY `ix_glint_grants_target` (`target_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

CREATE TABLE `glint_grant_images` (
  `grant_id` varchar(36) NOT NULL,
  `image_id` varchar(36) NOT NULL,
  PRIMARY KEY (`grant_id`, `image_id`),
  KEY `ix_glint_grant_images_image` (`image_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

CREATE TABLE `glint_grant_projects` (
  `grant_id` varchar(36) NOT NULL,
  `project_id` varchar(255) NOT NULL,
  PRIMARY KEY (`grant_id`, `project_id`),
  KEY `ix_glint_grant_projects_project` (`project_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

-- The grant a member row was materialised from (with via = 'grant').
ALTER TABLE `glint_member_ext` ADD COLUMN `grant_id` varchar(36) DEFAULT NULL;
CREATE INDEX `ix_glint_member_ext_grant` ON `glint_member_ext` (`grant_id`);

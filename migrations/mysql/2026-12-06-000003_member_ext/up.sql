-- The sharing extensions' data on member rows (os_glint: expiry, note), in a table of glint's own so
-- Glance's tables keep Glance's columns (Glance ignores tables it does not know). One row per
-- (image, member) that has any; removed with the member row. Glance's charset and collation, so
-- joins with image_members compare member ids as Glance's columns do.
CREATE TABLE `glint_member_ext` (
  `image_id` varchar(36) NOT NULL,
  `member` varchar(255) NOT NULL,
  `expires_at` datetime DEFAULT NULL,
  `note` text DEFAULT NULL,
  `renewal_requested` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`image_id`, `member`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

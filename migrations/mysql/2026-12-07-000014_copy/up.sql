-- Copies of images in progress (`POST /v2/glint/images/{id}/copy`): one row per copy whose data
-- is still being written, removed in the transaction that activates the copy. A row whose
-- heartbeat (`updated_at`) stopped belongs to a dead process: the recovery sweep removes the
-- copy's data and image. No foreign keys: the sweep must see a row whatever became of the images.
CREATE TABLE `glint_image_copies` (
  `image_id` varchar(36) NOT NULL,
  `source_id` varchar(36) NOT NULL,
  `source_owner` varchar(255) DEFAULT NULL,
  `project_id` varchar(255) NOT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime NOT NULL,
  PRIMARY KEY (`image_id`),
  KEY `ix_glint_image_copies_updated` (`updated_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

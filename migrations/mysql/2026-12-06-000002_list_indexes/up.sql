-- glint's list indexes (src/db/list.rs) on top of Glance's schema: a page is a UNION ALL of
-- streams, each an equality on visibility (every image of one visibility) or on owner and
-- visibility (a project's own) walked in sort order and stopped after `limit` rows. One index per
-- sort key Glance allows (the key, then the tie-breakers created_at and id) for each of the two
-- prefixes. MySQL has no partial indexes: deleted rows are in them and skipped while walking.
-- Glance's own indexes are left as they are; these are additions Glance's migrations ignore.
CREATE INDEX `ix_images_list_vis_created` ON `images` (`visibility`, `created_at`, `id`);
CREATE INDEX `ix_images_list_vis_id` ON `images` (`visibility`, `id`);
CREATE INDEX `ix_images_list_vis_name` ON `images` (`visibility`, `name`, `created_at`, `id`);
CREATE INDEX `ix_images_list_vis_status` ON `images` (`visibility`, `status`, `created_at`, `id`);
CREATE INDEX `ix_images_list_vis_container_format` ON `images` (`visibility`, `container_format`, `created_at`, `id`);
CREATE INDEX `ix_images_list_vis_disk_format` ON `images` (`visibility`, `disk_format`, `created_at`, `id`);
CREATE INDEX `ix_images_list_vis_size` ON `images` (`visibility`, `size`, `created_at`, `id`);
CREATE INDEX `ix_images_list_vis_updated` ON `images` (`visibility`, `updated_at`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_created` ON `images` (`owner`, `visibility`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_id` ON `images` (`owner`, `visibility`, `id`);
CREATE INDEX `ix_images_list_own_name` ON `images` (`owner`, `visibility`, `name`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_status` ON `images` (`owner`, `visibility`, `status`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_container_format` ON `images` (`owner`, `visibility`, `container_format`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_disk_format` ON `images` (`owner`, `visibility`, `disk_format`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_size` ON `images` (`owner`, `visibility`, `size`, `created_at`, `id`);
CREATE INDEX `ix_images_list_own_updated` ON `images` (`owner`, `visibility`, `updated_at`, `created_at`, `id`);
-- The shared-with-me stream starts from the caller's member rows; Glance's MySQL schema has no
-- index that starts with the member (PostgreSQL's and SQLite's glint schemas have this one).
CREATE INDEX `ix_image_members_member` ON `image_members` (`member`);

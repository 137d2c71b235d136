-- The list's streams carry only the sort keys and the id (src/db/list.rs): with the columns every
-- stream tests (deleted, the killed status, os_hidden) after the keys, InnoDB answers a stream from
-- the list index alone (the primary key, id, is in every secondary index). Same names as before.
DROP INDEX `ix_images_list_vis_created` ON `images`;
CREATE INDEX `ix_images_list_vis_created` ON `images` (`visibility`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_id` ON `images`;
CREATE INDEX `ix_images_list_vis_id` ON `images` (`visibility`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_name` ON `images`;
CREATE INDEX `ix_images_list_vis_name` ON `images` (`visibility`, `name`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_status` ON `images`;
CREATE INDEX `ix_images_list_vis_status` ON `images` (`visibility`, `status`, `created_at`, `id`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_container_format` ON `images`;
CREATE INDEX `ix_images_list_vis_container_format` ON `images` (`visibility`, `container_format`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_disk_format` ON `images`;
CREATE INDEX `ix_images_list_vis_disk_format` ON `images` (`visibility`, `disk_format`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_size` ON `images`;
CREATE INDEX `ix_images_list_vis_size` ON `images` (`visibility`, `size`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_vis_updated` ON `images`;
CREATE INDEX `ix_images_list_vis_updated` ON `images` (`visibility`, `updated_at`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_created` ON `images`;
CREATE INDEX `ix_images_list_own_created` ON `images` (`owner`, `visibility`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_id` ON `images`;
CREATE INDEX `ix_images_list_own_id` ON `images` (`owner`, `visibility`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_name` ON `images`;
CREATE INDEX `ix_images_list_own_name` ON `images` (`owner`, `visibility`, `name`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_status` ON `images`;
CREATE INDEX `ix_images_list_own_status` ON `images` (`owner`, `visibility`, `status`, `created_at`, `id`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_container_format` ON `images`;
CREATE INDEX `ix_images_list_own_container_format` ON `images` (`owner`, `visibility`, `container_format`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_disk_format` ON `images`;
CREATE INDEX `ix_images_list_own_disk_format` ON `images` (`owner`, `visibility`, `disk_format`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_size` ON `images`;
CREATE INDEX `ix_images_list_own_size` ON `images` (`owner`, `visibility`, `size`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);
DROP INDEX `ix_images_list_own_updated` ON `images`;
CREATE INDEX `ix_images_list_own_updated` ON `images` (`owner`, `visibility`, `updated_at`, `created_at`, `id`, `status`, `os_hidden`, `deleted`);

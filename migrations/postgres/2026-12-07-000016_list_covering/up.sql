-- The list's streams carry only the sort keys and the id (src/db/list.rs): with the columns every
-- stream tests (the killed status, os_hidden; and deleted, which SQLite wants among the columns
-- even though the predicate implies it) after the keys, a stream is answered from its list index
-- alone, without a read of the image's row per entry. Same names and key order as before.
DROP INDEX ix_images_list_vis_created;
CREATE INDEX ix_images_list_vis_created ON images (visibility, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_id;
CREATE INDEX ix_images_list_vis_id ON images (visibility, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_name;
CREATE INDEX ix_images_list_vis_name ON images (visibility, name NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_status;
CREATE INDEX ix_images_list_vis_status ON images (visibility, status, created_at, id, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_container_format;
CREATE INDEX ix_images_list_vis_container_format ON images (visibility, container_format NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_disk_format;
CREATE INDEX ix_images_list_vis_disk_format ON images (visibility, disk_format NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_size;
CREATE INDEX ix_images_list_vis_size ON images (visibility, size NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_vis_updated;
CREATE INDEX ix_images_list_vis_updated ON images (visibility, updated_at NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_created;
CREATE INDEX ix_images_list_own_created ON images (owner, visibility, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_id;
CREATE INDEX ix_images_list_own_id ON images (owner, visibility, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_name;
CREATE INDEX ix_images_list_own_name ON images (owner, visibility, name NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_status;
CREATE INDEX ix_images_list_own_status ON images (owner, visibility, status, created_at, id, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_container_format;
CREATE INDEX ix_images_list_own_container_format ON images (owner, visibility, container_format NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_disk_format;
CREATE INDEX ix_images_list_own_disk_format ON images (owner, visibility, disk_format NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_size;
CREATE INDEX ix_images_list_own_size ON images (owner, visibility, size NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;
DROP INDEX ix_images_list_own_updated;
CREATE INDEX ix_images_list_own_updated ON images (owner, visibility, updated_at NULLS FIRST, created_at, id, status, os_hidden, deleted) WHERE NOT deleted;

-- Copies of images in progress (`POST /v2/glint/images/{id}/copy`): one row per copy whose data
-- is still being written, removed in the transaction that activates the copy. A row whose
-- heartbeat (`updated_at`) stopped belongs to a dead process: the recovery sweep removes the
-- copy's data and image. No foreign keys: the sweep must see a row whatever became of the images.
CREATE TABLE glint_image_copies (
    image_id VARCHAR(36) NOT NULL PRIMARY KEY,
    source_id VARCHAR(36) NOT NULL,
    source_owner VARCHAR(255),
    project_id VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL
);
CREATE INDEX ix_glint_image_copies_updated ON glint_image_copies (updated_at);

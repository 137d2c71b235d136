-- The sharing extensions' data on member rows (os_glint: expiry, note), in a table of glint's own so
-- Glance's tables keep Glance's columns (Glance ignores tables it does not know). One row per
-- (image, member) that has any; removed with the member row.
CREATE TABLE glint_member_ext (
    image_id VARCHAR(36) NOT NULL,
    member VARCHAR(255) NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE,
    note TEXT,
    renewal_requested BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (image_id, member)
);

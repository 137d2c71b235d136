-- Glance's own tables and column names, so an existing Glance database could be served.
CREATE TABLE images (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(255),
    size BIGINT,
    status VARCHAR(30) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    disk_format VARCHAR(20),
    container_format VARCHAR(20),
    checksum VARCHAR(32),
    owner VARCHAR(255),
    min_disk INTEGER NOT NULL DEFAULT 0,
    min_ram INTEGER NOT NULL DEFAULT 0,
    protected BOOLEAN NOT NULL DEFAULT 0,
    virtual_size BIGINT,
    visibility VARCHAR(9) NOT NULL DEFAULT 'shared'
        CHECK (visibility IN ('private', 'public', 'shared', 'community')),
    os_hidden BOOLEAN NOT NULL DEFAULT 0,
    os_hash_algo VARCHAR(64),
    os_hash_value VARCHAR(128)
);
CREATE INDEX ix_images_deleted ON images (deleted);
CREATE INDEX ix_images_owner ON images (owner);
CREATE INDEX ix_images_visibility ON images (visibility);
CREATE INDEX ix_images_created_at_id ON images (created_at, id);
CREATE INDEX created_at_image_idx ON images (created_at);
CREATE INDEX updated_at_image_idx ON images (updated_at);
CREATE INDEX checksum_image_idx ON images (checksum);
CREATE INDEX os_hash_value_image_idx ON images (os_hash_value);
CREATE INDEX os_hidden_image_idx ON images (os_hidden);

CREATE TABLE image_properties (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    image_id VARCHAR(36) NOT NULL REFERENCES images (id),
    name VARCHAR(255) NOT NULL,
    value TEXT,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    CONSTRAINT ix_image_properties_image_id_name UNIQUE (image_id, name)
);
CREATE INDEX ix_image_properties_name ON image_properties (name);

CREATE TABLE image_tags (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    image_id VARCHAR(36) NOT NULL REFERENCES images (id),
    value VARCHAR(255) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX ix_image_tags_image_id ON image_tags (image_id);
CREATE INDEX ix_image_tags_image_id_tag_value ON image_tags (image_id, value);
-- Glance allows duplicates here; glint keeps one live row per (image, tag).
CREATE UNIQUE INDEX ux_image_tags_live ON image_tags (image_id, value) WHERE deleted = 0;

CREATE TABLE image_locations (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    image_id VARCHAR(36) NOT NULL REFERENCES images (id),
    value TEXT NOT NULL,
    meta_data TEXT,
    status VARCHAR(30) NOT NULL DEFAULT 'active',
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX ix_image_locations_image_id ON image_locations (image_id);

CREATE TABLE image_members (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    image_id VARCHAR(36) NOT NULL REFERENCES images (id),
    member VARCHAR(255) NOT NULL,
    can_share BOOLEAN NOT NULL DEFAULT 0,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX ix_image_members_member ON image_members (member);
CREATE INDEX ix_image_members_image_id_member ON image_members (image_id, member);
-- The database, not only the application, guarantees one live row per (image, member).
CREATE UNIQUE INDEX ux_image_members_live ON image_members (image_id, member) WHERE deleted = 0;

-- Timestamps as Glance keeps them on SQLite: text with exactly six fraction digits
-- (`2026-12-06 05:00:00.000000`). glint wrote diesel's form, without a zero fraction; SQLite
-- compares timestamps as text, and a shorter text sorts before a longer one with the same
-- instant, so Glance's list markers misplaced glint's rows (src/db/timestamp.rs). Rewrites
-- every timestamp that is not in that form; text already in it is left as it is.
UPDATE images SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END,
    deleted_at = CASE WHEN length(deleted_at) = 19 THEN deleted_at || '.000000' WHEN length(deleted_at) BETWEEN 21 AND 25 AND substr(deleted_at, 20, 1) = '.' THEN deleted_at || substr('000000', 1, 26 - length(deleted_at)) ELSE deleted_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26 OR length(deleted_at) < 26;
UPDATE image_properties SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END,
    deleted_at = CASE WHEN length(deleted_at) = 19 THEN deleted_at || '.000000' WHEN length(deleted_at) BETWEEN 21 AND 25 AND substr(deleted_at, 20, 1) = '.' THEN deleted_at || substr('000000', 1, 26 - length(deleted_at)) ELSE deleted_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26 OR length(deleted_at) < 26;
UPDATE image_tags SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END,
    deleted_at = CASE WHEN length(deleted_at) = 19 THEN deleted_at || '.000000' WHEN length(deleted_at) BETWEEN 21 AND 25 AND substr(deleted_at, 20, 1) = '.' THEN deleted_at || substr('000000', 1, 26 - length(deleted_at)) ELSE deleted_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26 OR length(deleted_at) < 26;
UPDATE image_members SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END,
    deleted_at = CASE WHEN length(deleted_at) = 19 THEN deleted_at || '.000000' WHEN length(deleted_at) BETWEEN 21 AND 25 AND substr(deleted_at, 20, 1) = '.' THEN deleted_at || substr('000000', 1, 26 - length(deleted_at)) ELSE deleted_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26 OR length(deleted_at) < 26;
UPDATE image_locations SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END,
    deleted_at = CASE WHEN length(deleted_at) = 19 THEN deleted_at || '.000000' WHEN length(deleted_at) BETWEEN 21 AND 25 AND substr(deleted_at, 20, 1) = '.' THEN deleted_at || substr('000000', 1, 26 - length(deleted_at)) ELSE deleted_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26 OR length(deleted_at) < 26;
UPDATE tasks SET
    expires_at = CASE WHEN length(expires_at) = 19 THEN expires_at || '.000000' WHEN length(expires_at) BETWEEN 21 AND 25 AND substr(expires_at, 20, 1) = '.' THEN expires_at || substr('000000', 1, 26 - length(expires_at)) ELSE expires_at END,
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END,
    deleted_at = CASE WHEN length(deleted_at) = 19 THEN deleted_at || '.000000' WHEN length(deleted_at) BETWEEN 21 AND 25 AND substr(deleted_at, 20, 1) = '.' THEN deleted_at || substr('000000', 1, 26 - length(deleted_at)) ELSE deleted_at END
WHERE length(expires_at) < 26 OR length(created_at) < 26 OR length(updated_at) < 26 OR length(deleted_at) < 26;
UPDATE metadef_namespaces SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26;
UPDATE metadef_objects SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26;
UPDATE metadef_properties SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26;
UPDATE metadef_tags SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26;
UPDATE metadef_resource_types SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26;
UPDATE metadef_namespace_resource_types SET
    created_at = CASE WHEN length(created_at) = 19 THEN created_at || '.000000' WHEN length(created_at) BETWEEN 21 AND 25 AND substr(created_at, 20, 1) = '.' THEN created_at || substr('000000', 1, 26 - length(created_at)) ELSE created_at END,
    updated_at = CASE WHEN length(updated_at) = 19 THEN updated_at || '.000000' WHEN length(updated_at) BETWEEN 21 AND 25 AND substr(updated_at, 20, 1) = '.' THEN updated_at || substr('000000', 1, 26 - length(updated_at)) ELSE updated_at END
WHERE length(created_at) < 26 OR length(updated_at) < 26;

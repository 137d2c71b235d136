-- SQLite only (its timestamps are text; see migrations/sqlite/…_timestamp_text). PostgreSQL keeps
-- timestamps as timestamps; this keeps both backends at one schema version.
SELECT 1;

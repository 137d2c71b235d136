ALTER TABLE glint_member_ext DROP COLUMN via;

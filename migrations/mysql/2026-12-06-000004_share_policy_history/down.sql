DROP TABLE `glint_share_events`;
DROP TABLE `glint_share_policy`;
ALTER TABLE `glint_member_ext` DROP COLUMN `reminded_secs`, DROP COLUMN `policy`;

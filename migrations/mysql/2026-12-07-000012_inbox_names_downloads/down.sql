ALTER TABLE `glint_member_ext` DROP COLUMN `last_download_at`;
DROP TABLE `glint_project_names`;

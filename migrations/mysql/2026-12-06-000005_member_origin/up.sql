-- How a share was made, on its extension row: NULL is an ordinary member create; 'batch' is
-- POST /v2/glint/shares (shown as os_glint.via).
ALTER TABLE `glint_member_ext` ADD COLUMN `via` varchar(16) DEFAULT NULL;

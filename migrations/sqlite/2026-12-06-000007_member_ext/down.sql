DROP TABLE glint_member_ext;

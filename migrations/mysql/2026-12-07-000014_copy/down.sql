DROP TABLE glint_image_copies;

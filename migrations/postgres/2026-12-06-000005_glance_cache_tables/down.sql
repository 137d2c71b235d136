DROP TABLE cached_images;
DROP TABLE node_reference;

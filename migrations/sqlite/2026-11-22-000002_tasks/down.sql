DROP TABLE task_info; DROP TABLE tasks;
